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
