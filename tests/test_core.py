"Bad input through the CLI and the loaders: clear one-line errors, exit 2, and row accounting"
import json, sys, os, subprocess
from pathlib import Path
import pandas as pd
import pytest
from riskbench.core import load_eval_set, iter_eval_set, RowReport, BadColumn, BadFile, get_settings, out_path, BadParameter
from conftest import riskbench, ROOT

def write_jsonl(p, rows): p.write_text('\n'.join(json.dumps(r) for r in rows) + '\n', encoding='utf-8'); return p

def test_every_bad_row_kind_is_accounted(tmp_path):
    p = tmp_path/'bad.jsonl'
    p.write_bytes(b'\n'.join([
        b'\xef\xbb\xbf{"id":"1","text":"fine","label":"yes"}',
        b'{"id":"2","text":"unterminated',
        b'{"id":"3","text":"bad \xff byte","label":0}',
        b'{"id":"4","text":"","label":0}',
        b'{"id":"5","text":"\\t \\n","label":0}',
        b'{"id":"6","text":["a list"],"label":0}',
        b'{"id":"7","text":"nan label","label":NaN}',
        b'{"id":"8","text":"weird label","label":"perhaps"}',
        b'{"id":"1","text":"dup id","label":1}',
        b'{"id":"9","text":"' + b'y' * 150_000 + b'","label":"unsafe"}',
        b'{"id":"10","text":"last good","label":"false"}']))
    df, rep = load_eval_set(p)
    assert df.id.tolist() == ['1', '9', '10']
    assert (rep.read, rep.kept, rep.rejected, len(rep.flags)) == (11, 3, 8, 1)
    rej = rep.rejected_rows().set_index('row')['reason']
    assert rej[2].startswith('malformed JSON') and rej[3].startswith('invalid UTF-8')
    assert rej[4] == rej[5] == 'text is empty or white space'
    assert rej[6] == 'text is not a string (got list)' and rej[7] == 'label is missing'
    assert "'perhaps'" in rej[8] and rej[9] == "duplicate id '1'"
    assert rep.flags[0]['id'] == '9'

def test_streaming_matches_whole_load(tmp_path):
    rows = [dict(text=f'prompt number {i}', label=i % 2) for i in range(2500)]
    p = write_jsonl(tmp_path/'s.jsonl', rows)
    rep = RowReport(str(p))
    parts = list(iter_eval_set(p, report=rep, batch_bytes=4096))
    assert len(parts) > 5
    whole, _ = load_eval_set(p)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert rep.read == rep.kept == 2500

def test_hf_datasets_folder(tmp_path):
    datasets = pytest.importorskip('datasets')
    d = datasets.DatasetDict({'train': datasets.Dataset.from_dict({'prompt': ['a', 'b'], 'is_unsafe': [True, False]}),
                              'test': datasets.Dataset.from_dict({'prompt': ['c'], 'is_unsafe': [True]})})
    d.save_to_disk(str(tmp_path/'dd'))
    df, rep = load_eval_set(tmp_path/'dd')
    assert sorted(zip(df.text, df.label, df.split)) == [('a', 1, 'train'), ('b', 0, 'train'), ('c', 1, 'test')]
    assert rep.mapping == {'prompt': 'text', 'is_unsafe': 'label'}
    d['train'].save_to_disk(str(tmp_path/'one'))
    assert load_eval_set(tmp_path/'one')[0].text.tolist() == ['a', 'b']

def test_ids_from_content_hash_are_stable(tmp_path):
    p = write_jsonl(tmp_path/'n.jsonl', [dict(text='same'), dict(text='same'), dict(text='other')])
    a, _ = load_eval_set(p); b, _ = load_eval_set(p)
    assert a.id.tolist() == b.id.tolist() and a.id.nunique() == 3 and a.id[1] == a.id[0] + '-2'

def test_settings_precedence(tmp_path, monkeypatch):
    f = tmp_path/'settings.ini'; f.write_text('[riskbench]\noffline = true\nreports_dir = from_file\n')
    monkeypatch.setenv('RISKBENCH_REPORTS_DIR', 'from_env')
    s = get_settings(f, device='cpu')
    assert (s.offline, s.reports_dir, s.device) == (True, 'from_env', 'cpu')
    assert s.sources['offline'].startswith('settings.ini') and s.sources['device'] == 'argument'
    f.write_text('[riskbench]\noffline = sometimes\n')
    with pytest.raises(BadParameter, match="'offline'"): get_settings(f)

def test_out_path_refuses_escape(tmp_path):
    with pytest.raises(BadParameter): out_path(tmp_path, '..', 'x')

@pytest.mark.parametrize('content,fname,msg', [
    (None, 'missing.jsonl', 'does not exist'),
    ('a,b\n1,2\n', 'cols.csv', "no column 'text'; columns are: a, b"),
    ('x', 'data.xlsx', "unknown table format '.xlsx'"),
    ('[{"text": "a"', 'broken.json', 'malformed JSON'),
])
def test_cli_bad_input_exits_2(tmp_path, content, fname, msg):
    p = tmp_path/fname
    if content is not None: p.write_text(content)
    r = riskbench('run', 'dataset_overview', '-p', 'data', p, '--out', tmp_path/'o') if fname.endswith('jsonl') else None
    if r is not None:
        assert r.returncode == 2 and msg in r.stderr and 'Traceback' not in r.stderr
        assert len(r.stderr.strip().splitlines()) <= 2
    with pytest.raises((BadFile, BadColumn), match=msg.split(';')[0].replace('(', r'\(').replace("'", "'")):
        load_eval_set(p)

def test_import_is_light():
    code = "import sys, riskbench, riskbench.core, riskbench.report, riskbench.cli; bad = [m for m in ('torch', 'transformers', 'lingua', 'sklearn') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def test_cli_help_and_version():
    r = riskbench('--help'); assert r.returncode == 0 and 'riskbench run' not in r.stderr and 'templates' in r.stdout
    import riskbench as rb
    r = riskbench('--version'); assert r.returncode == 0 and rb.__version__ in r.stdout
    r = riskbench('nope'); assert r.returncode == 2 and 'unknown command' in r.stderr

CARD = 'bundled:usecases/customer_support.yaml'

@pytest.mark.parametrize('args,msg', [
    (('languages', '{cols}'), "no column 'text'"), (('audit', '{cols}'), "no column 'text'"),
    (('assess', CARD, '--data', '{cols}'), "no column 'text'"), (('assess', CARD, '--data', '{nolabel}'), "no column 'label'"),
    (('languages', '{empty}'), 'the file holds no rows'),
    (('languages', 'bundled:demo_prompts.jsonl', '--usecase', '{badcard}'), 'not valid YAML'),
    (('audit', 'bundled:demo_finetune.jsonl', '--usecase', '{badcard}'), 'not valid YAML'),
    (('languages', 'bundled:demo_prompts.jsonl', '--guard', 'hf:{tmp}/no-model'), 'no such model folder'),
    (('assess', CARD, '--guard', 'llama-guard:{tmp}/no-model'), 'no such model folder'),
    (('score', 'bundled:demo_prompts.jsonl', '--batch-tokens', '-5'), 'batch_tokens: expected a positive number'),
])
def test_commands_check_inputs_before_running(tmp_path, args, msg):
    "Bad input to a command stops it at once (exit 2, one line, nothing written), not inside a template or after a long run"
    (tmp_path/'cols.csv').write_text('a,b\n1,2\n'); (tmp_path/'nolabel.csv').write_text('text,b\nhello,2\n')
    (tmp_path/'empty.jsonl').write_text(''); (tmp_path/'card.yaml').write_text('name: [unclosed\n')
    files = dict(cols=tmp_path/'cols.csv', nolabel=tmp_path/'nolabel.csv', empty=tmp_path/'empty.jsonl', badcard=tmp_path/'card.yaml', tmp=tmp_path)
    out = tmp_path/('out.parquet' if args[0] == 'score' else 'out')
    r = riskbench(*[a.format(**files) for a in args], '--out', out)
    assert r.returncode == 2 and msg in r.stderr and 'Traceback' not in r.stderr, r.stdout + r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2 and not out.exists()

# --- issue 12: the shared reader under hostile files (each test failed on the reader before the fix) ---

def test_jsonl_one_invalid_utf8_byte_is_one_rejected_line(tmp_path):
    "Arrow accepted the block and pandas crashed on it later; no other line is malformed here"
    lines = [json.dumps(dict(id=str(i), text=f'prompt {i}')).encode() for i in range(10)]
    lines[6] = b'{"id": "6", "text": "bad \xff byte"}'
    p = tmp_path/'u.jsonl'; p.write_bytes(b'\n'.join(lines) + b'\n')
    df, rep = load_eval_set(p)
    assert (rep.read, rep.kept, rep.rejected) == (10, 9, 1)
    assert rep.rejects[0]['row'] == 7 and rep.rejects[0]['reason'].startswith('invalid UTF-8')
    assert df.id.tolist() == [str(i) for i in range(10) if i != 6]

@pytest.mark.parametrize('body,kept,rejected_lines', [
    (b'id,text\n1,"a\n2,b\n3,c\n', ['2', '3'], [2]),                 # unterminated quote swallowed the rest
    (b'id,text\n1,"a\n2,b\n3,"c\n4,d\n', ['2', '4'], [2, 4]),         # a quote closed by the next row's quote
    (b'id,text\n1,a\n2,b\nc\n3,d\n', ['1', '2', '3'], [4]),           # an unquoted embedded newline
    (b'id,text\n1,"multi\nline"\n2,b\n', ['1', '2'], []),             # a quoted newline is legal CSV
    (b'id,text\n1\n2,b,extra\n3,c\n', ['3'], [2, 3]),                 # wrong field counts
])
def test_csv_rows_never_vanish(tmp_path, body, kept, rejected_lines):
    p = tmp_path/'q.csv'; p.write_bytes(body)
    df, rep = load_eval_set(p)
    assert df.id.tolist() == kept
    assert [r['row'] for r in rep.rejects] == rejected_lines
    assert all(r['reason'].startswith('malformed row') and f"line {r['row']}" in r['reason'] for r in rep.rejects)
    assert rep.read == len(kept) + len(rejected_lines) == rep.kept + rep.rejected

def test_csv_malformed_row_has_its_line_not_nan(tmp_path):
    p = tmp_path/'m.csv'; p.write_text('id,text\n1,a\n2,b,c\n')
    rr = load_eval_set(p)[1].rejected_rows()
    assert rr.row.tolist() == [3] and rr.reason.tolist() == ['malformed row: 3 fields, expected 2 (line 3)']

def _parquet(p, df): df.to_parquet(p); return p

@pytest.mark.parametrize('fmt', ['jsonl', 'json', 'parquet', 'csv'])
def test_ids_and_texts_are_read_as_written(tmp_path, fmt):
    "int ids with a null became '1.0', ids past 2^53 collided, date-like ids and texts were re-typed"
    big = 2**60
    rows = [dict(id=1, text='2024-01-01'), dict(id=None, text='2024-01-02'), dict(id=big + 1, text='2024-01-03'),
            dict(id=big + 2, text='2024-01-04')]
    p = tmp_path/f'ids.{fmt}'
    if fmt == 'jsonl': p.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    elif fmt == 'json': p.write_text(json.dumps(rows))
    elif fmt == 'parquet': _parquet(p, pd.DataFrame(dict(id=pd.array([r['id'] for r in rows], dtype='Int64'),
                                                           text=[r['text'] for r in rows])))
    else: p.write_text('id,text\n' + ''.join(f"{'' if r['id'] is None else r['id']},{r['text']}\n" for r in rows))
    df, rep = load_eval_set(p)
    assert (rep.read, rep.kept) == (4, 4)
    assert df.id[0] == '1' and df.id[1].startswith('h') and df.id[2:].tolist() == [str(big + 1), str(big + 2)]
    assert df.text.tolist() == [r['text'] for r in rows]

def test_date_ids_in_jsonl_stay_strings(tmp_path):
    p = tmp_path/'d.jsonl'
    p.write_text('{"id": "2024-01-01", "text": "2024-01-01T10:00:00"}\n{"id": "2024-01-02", "text": "x"}\n')
    df, _ = load_eval_set(p)
    assert df.id.tolist() == ['2024-01-01', '2024-01-02'] and df.text[0] == '2024-01-01T10:00:00'

@pytest.mark.parametrize('name', ['bundled:../../../../etc/passwd', 'bundled:/etc/passwd',
                                  'bundled:usecases/../../README.md'])
def test_bundled_names_stay_in_their_folder(name):
    from riskbench.core import resolve_input, read_json, read_yaml
    for f in (resolve_input, read_json, read_yaml):
        with pytest.raises(BadFile, match="no '..', not absolute"): f(name)
    with pytest.raises(BadFile): load_eval_set(name)

def test_utf16_csv_is_one_line_error(tmp_path):
    p = tmp_path/'w.csv'; p.write_bytes('id,text\n1,hello\n'.encode('utf-16'))
    with pytest.raises(BadFile, match='UTF-16'): load_eval_set(p)
    r = riskbench('score', p, '--guard', 'baseline', '--out', tmp_path/'o.parquet')
    assert r.returncode == 2 and str(p) in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr

def test_settings_ini_not_utf8_is_one_line_error(tmp_path):
    (tmp_path/'settings.ini').write_bytes('[riskbench]\ndefault_guard = café\n'.encode('latin-1'))
    for args in (('settings',), ('score', 'bundled:demo_prompts.jsonl', '--out', tmp_path/'o.parquet')):
        r = riskbench(*args, cwd=tmp_path)
        assert r.returncode == 2 and 'not UTF-8' in r.stderr and 'Traceback' not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1

@pytest.mark.parametrize('state', ['{"_data_files": [', '[1, 2]', '{"_data_files": [{"filename": "../../x.arrow"}]}',
                                   '{"_data_files": 5}'])
def test_hf_folder_with_bad_state_json(tmp_path, state):
    (tmp_path/'state.json').write_text(state)
    with pytest.raises(BadFile, match='state.json'): load_eval_set(tmp_path)

def test_language_codes_normalised_or_flagged(tmp_path):
    p = write_jsonl(tmp_path/'l.jsonl', [dict(text='a', language='EN'), dict(text='b', language='pt_BR'),
                                         dict(text='c', language='<a href=x>'), dict(text='d', language='en_US!!')])
    df, rep = load_eval_set(p)
    assert df.language.fillna('-').tolist() == ['en', 'pt-br', '-', '-'] and rep.kept == 4
    assert [f['row'] for f in rep.flags] == [3, 4] and "'<a href=x>' is not a language code" in rep.flags[0]['reason']

def test_column_errors_name_what_exists(tmp_path):
    p = tmp_path/'s.csv'; p.write_text('prompt,input\na,b\n')
    with pytest.raises(BadColumn) as e: load_eval_set(p)
    assert "'prompt' and 'input' could each be 'text'" in str(e.value) and '--map' not in str(e.value)
    assert "mapping={'prompt': 'text'}" in str(e.value)
    assert load_eval_set(p, mapping={'input': 'text'})[0].text.tolist() == ['b']
    p.write_text('text,label,text\na,1,b\n')
    with pytest.raises(BadColumn, match=r"repeats column names: 'text' \(columns 1, 3\)"): load_eval_set(p)

def test_malformed_json_reason_reads_once(tmp_path):
    p = tmp_path/'j.jsonl'; p.write_bytes(b'{"text": "ok"}\n{"text": "unterminated\n')
    reason = load_eval_set(p)[1].rejects[0]['reason']
    assert 'at at' not in reason and reason == 'malformed JSON: Unterminated string starting at column 10 of line 2'

def test_taxonomy_and_source_are_kept(tmp_path):
    row = dict(text='a', categories='S1', hazard_taxonomy='llama-guard-3', origin='xstest')
    p = write_jsonl(tmp_path/'t.jsonl', [row])
    df, rep = load_eval_set(p)
    assert df.columns.tolist()[:5] == ['id', 'text', 'categories', 'taxonomy', 'source']
    assert (df.taxonomy[0], df.source[0]) == ('llama-guard-3', 'xstest')

def test_new_settings_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = get_settings()
    assert s.show_raw_text is False and s.max_score_chars == 20_000
    monkeypatch.setenv('RISKBENCH_SHOW_RAW_TEXT', 'true'); monkeypatch.setenv('RISKBENCH_MAX_SCORE_CHARS', '500')
    s = get_settings()
    assert s.show_raw_text is True and s.max_score_chars == 500
    monkeypatch.setenv('RISKBENCH_MAX_SCORE_CHARS', 'lots')
    with pytest.raises(BadParameter, match='max_score_chars'): get_settings()

# --- decision rules of the reader (mutants that the suite let through) ---

def test_duplicate_ids_across_streaming_batches_are_rejected(tmp_path):
    rows = [dict(id=f'r{i}', text=f'prompt {i}') for i in range(400)]
    rows += [dict(id='r3', text='again'), dict(id='r399', text='again')]
    p = write_jsonl(tmp_path/'d.jsonl', rows)
    rep = RowReport(str(p))
    parts = list(iter_eval_set(p, report=rep, batch_bytes=1024))
    assert len(parts) > 10
    assert (rep.read, rep.kept, rep.rejected) == (402, 400, 2)
    assert [(r['row'], r['reason']) for r in rep.rejects] == [(401, "duplicate id 'r3'"), (402, "duplicate id 'r399'")]

def test_language_codes_are_lower_cased(tmp_path):
    p = tmp_path/'l.csv'; p.write_text('text,language\na,DE\nb,Fr\nc, it \n')
    assert load_eval_set(p)[0].language.tolist() == ['de', 'fr', 'it']

def test_max_chars_flags_only_past_the_limit(tmp_path):
    p = write_jsonl(tmp_path/'m.jsonl', [dict(id='at', text='x' * 50), dict(id='over', text='x' * 51),
                                         dict(id='under', text='x' * 49)])
    df, rep = load_eval_set(p, max_chars=50)
    assert [f['id'] for f in rep.flags] == ['over'] and rep.flags[0]['reason'] == 'text has 51 characters (over 50)'
    assert df.id.tolist() == ['at', 'over', 'under']

def test_row_report_says_its_gaps_out_loud(tmp_path):
    p = tmp_path/'w.jsonl'; p.write_bytes(b'{"text": "a", "language": "<a href=x>"}\n{"text": \n{"text": "c"}\n')
    ws = load_eval_set(p)[1].warnings()
    assert [w['code'] for w in ws] == ['rows_rejected', 'language_not_code']
    assert ws[0]['message'].startswith(f'{p}: 1 of 3 rows rejected (1 × malformed JSON)') and ws[1]['source'] == str(p)


def test_every_warning_code_raised_is_documented():
    "Every literal code passed to evidence_warning / warn anywhere in the library is in core.WARNING_CODES"
    import ast, re
    from riskbench.core import WARNING_CODES
    used = {}
    for f in sorted((ROOT/'riskbench').glob('*.py')):
        for n in ast.walk(ast.parse(f.read_text(encoding='utf-8'))):
            if isinstance(n, ast.Call) and n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str):
                name = n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, 'id', '')
                if 'warn' in name.lower() and re.fullmatch(r'[a-z]+(_[a-z0-9]+)+', n.args[0].value):
                    used.setdefault(n.args[0].value, f.name)
    assert len(used) >= 9
    assert not set(used) - set(WARNING_CODES), {k: used[k] for k in set(used) - set(WARNING_CODES)}


def test_missing_taxonomy_stays_missing(tmp_path):
    "a row without a taxonomy keeps None (never the text 'None' or 'nan'); blanks are missing too"
    rows = [dict(text='a', taxonomy='openai-moderation'), dict(text='b', taxonomy=None), dict(text='c', taxonomy='  '), dict(text='d')]
    df, _ = load_eval_set(write_jsonl(tmp_path/'t.jsonl', rows))
    assert df.taxonomy.tolist()[0] == 'openai-moderation' and df.taxonomy[1:].isna().all(), df.taxonomy.tolist()


def test_mapping_onto_one_name_twice_is_a_column_error(tmp_path):
    "an explicit mapping that sends two columns to `text` names the clash instead of picking one"
    p = write_jsonl(tmp_path/'t.jsonl', [dict(question='a', body='b', label=0)])
    with pytest.raises(BadColumn, match="two columns the name 'text'"): load_eval_set(p, mapping={'question': 'text', 'body': 'text'})


def test_generated_ids_of_repeated_texts_count_up(tmp_path):
    "three rows with the same text and no id get h…, h…-2, h…-3 (never a clash, never a -1)"
    df, rep = load_eval_set(write_jsonl(tmp_path/'t.jsonl', [dict(text='same')] * 3))
    h = df.id[0]
    assert df.id.tolist() == [h, f'{h}-2', f'{h}-3'] and rep.rejected == 0


def test_odd_language_flag_shows_forty_characters(tmp_path):
    v = 'x' * 39 + 'YZ' + 'w' * 59
    df, rep = load_eval_set(write_jsonl(tmp_path/'t.jsonl', [dict(text='a', language=v)]))
    reason = rep.flags[0]['reason']
    assert repr(v[:40]) in reason and 'YZ' not in reason and 'xY' in reason


def test_max_chars_zero_flags_nothing(tmp_path):
    p = write_jsonl(tmp_path/'t.jsonl', [dict(text='a' * 50)])
    assert len(load_eval_set(p, max_chars=0)[1].flags) == 0 and len(load_eval_set(p, max_chars=10)[1].flags) == 1


def test_conversations_mixed_with_plain_texts(tmp_path):
    "a row without a conversation keeps its text; a row with both keeps its own text; one with only a conversation takes its last message"
    conv = [dict(role='user', content='first'), dict(role='assistant', content='reply'), dict(role='user', content='last')]
    rows = [dict(id='a', text='plain'), dict(id='b', text='own', conversation=conv), dict(id='c', conversation=conv)]
    df, rep = load_eval_set(write_jsonl(tmp_path/'t.jsonl', rows))
    assert rep.rejected == 0 and df.set_index('id').text.to_dict() == {'a': 'plain', 'b': 'own', 'c': 'last'}

# --- issue 19: clean JSON-lines blocks are checked in Arrow; the output must be what the pandas path gives ---
def _load_bench():
    import importlib.util
    spec = importlib.util.spec_from_file_location('load_bench', ROOT/'benchmarks'/'load.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); return m

def test_arrow_checks_give_the_pandas_paths_output(tmp_path):
    lb = _load_bench()
    hostile = sorted((ROOT/'tests'/'data'/'hostile').glob('*.jsonl'))
    combos = [(8<<20, {}), (700, {}), (700, dict(missing_label='keep', max_chars=30))]
    bad = lb.same_output(tmp_path, hostile, combos, n=40)
    assert bad == []

def test_arrow_checks_take_clean_blocks_and_hand_on_the_rest(tmp_path, monkeypatch):
    import riskbench.core as c
    calls = []
    monkeypatch.setattr(c, 'validate_records', lambda df, *a, **k: calls.append(len(df)) or df.iloc[:0])
    rows = [dict(id=f'r{i}', text=f't{i}', label=i % 2, categories=['s1'] if i % 2 else [], language='EN')
            for i in range(40)]
    rows[30]['text'] = ' '
    p = write_jsonl(tmp_path/'a.jsonl', rows)
    rep = RowReport(str(p))
    kept = sum(len(b) for b in iter_eval_set(p, report=rep, batch_bytes=600))
    assert calls and sum(calls) < 40 and kept + sum(calls) == 40  # only the block with the blank text went to pandas

def test_load_checks_ids_once_and_reads_again_only_on_a_repeat(tmp_path, monkeypatch):
    import riskbench.core as c
    passes = []
    real = c._eval_batches
    monkeypatch.setattr(c, '_eval_batches', lambda *a: passes.append(a[-1].defer) or real(*a))
    monkeypatch.setattr(c, '_LOAD_BYTES', 300)
    rows = [dict(id=f'r{i}', text=f'text {i}', label=i % 2) for i in range(60)]
    df, rep = load_eval_set(write_jsonl(tmp_path/'a.jsonl', rows))
    assert passes == [True] and df.id.tolist() == [f'r{i}' for i in range(60)] and rep.rejected == 0
    rows[55]['id'], rows[57]['id'] = 'r3', 'r55'  # a repeat three blocks on; 'r55' is then new
    passes.clear(); df, rep = load_eval_set(write_jsonl(tmp_path/'b.jsonl', rows))
    assert passes == [True, False]  # the repeat found at the end: read again, each block checked against the earlier
    assert [(r['row'], r['reason']) for r in rep.rejects] == [(56, "duplicate id 'r3'")]
    assert len(df) == 59 and df.id.is_unique and 'r55' in set(df.id)

def test_a_block_without_categories_loads_as_one_block(tmp_path, monkeypatch):
    "Rows in a block that has no `categories` key get [] (no categories), as they do when the file is one block"
    import riskbench.core as c
    rows = [dict(id=f'a{i}', text='hello there ' * 20, label=0) for i in range(30)]
    rows += [dict(id=f'b{i}', text='x', label=1, categories=['S1']) for i in range(3)]
    p = write_jsonl(tmp_path/'a.jsonl', rows)
    whole, _ = load_eval_set(p)
    monkeypatch.setattr(c, '_LOAD_BYTES', 1024)
    blocks, _ = load_eval_set(p)
    assert whole['categories'].tolist() == blocks['categories'].tolist() == [[]] * 30 + [['S1']] * 3
