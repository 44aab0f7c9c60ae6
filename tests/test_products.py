"Product models: python:, responses:, hf: (batched generation vs per-row generate()), openai: (retries, resume, keys), the response cache"
import json, os, sys, textwrap
from pathlib import Path
import numpy as np, pandas as pd, pytest

sys.path.insert(0, str(Path(__file__).parent))
from riskbench.core import RiskbenchError, BadParameter, BadColumn, BadFile, RowReport
from riskbench import products as P


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    "Every test writes its cache under tmp_path, never reaches the hub and runs with no API key set"
    monkeypatch.setenv('RISKBENCH_CACHE_DIR', str(tmp_path/'cache'))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setenv('HF_HOME', str(tmp_path/'hf'))
    for k in ('RISKBENCH_API_KEY', 'OPENAI_API_KEY'): monkeypatch.delenv(k, raising=False)


MODULE = '''
CALLS = []
def answer(convs):
    CALLS.append([c[-1]['content'] for c in convs])
    out = []
    for c in convs:
        last = c[-1]['content']
        if last == 'raise': raise RuntimeError('cannot answer this one')
        if last == 'stop' and STOP: raise KeyboardInterrupt
        sys_ = [m['content'] for m in c if m['role'] == 'system']
        out.append('' if last == 'empty' else 7 if last == 'number' else f"{len(c)}|{'/'.join(sys_)}|{last[::-1]}")
    return out
STOP = True
'''

@pytest.fixture
def pymodel(tmp_path, monkeypatch):
    "A python: model in a fresh module of the working folder; returns (spec, module)"
    name = f"prod_{tmp_path.name.replace('-', '_')}"
    (tmp_path/f'{name}.py').write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    m = P.load_model(f'python:{name}:answer')
    return f'python:{name}:answer', sys.modules[name]

def oracle(text, system=None):
    "What MODULE's answer() says to a one-message conversation (worked out by hand from its code)"
    return f"{2 if system else 1}|{system or ''}|{text[::-1]}"

ROWS = pd.DataFrame(dict(id=['a', 'b', 'c', 'd', 'e'], text=['hello', 'bread?', None, 'hello', 'raise'],
                         label=[0, 0, 1, 0, 1]))


# ---- specs ----
@pytest.mark.parametrize('spec', ['gpt-4', 'hf:', 'openai:', 'python:', 'python:nomodule', 'responses:', 'foo:bar', ''])
def test_bad_spec_one_line(spec):
    with pytest.raises(BadParameter) as e: P.load_model(spec)
    msg = str(e.value)
    assert '\n' not in msg
    assert ('hf:PATH_OR_ID' in msg and 'openai:MODEL@BASE_URL' in msg and 'responses:PATH' in msg) \
        or 'python:module:function' in msg

def test_bad_settings():
    for kw in (dict(max_new_tokens=0), dict(concurrency=0), dict(retries=-1), dict(timeout=0), dict(max_new_tokens=True)):
        with pytest.raises(BadParameter, match=list(kw)[0]): P.load_model('python:os:getcwd', **kw)

def test_python_spec_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadParameter, match='cannot import module'): P.load_model('python:no_such_mod_x:f')
    with pytest.raises(BadParameter, match='has no function'): P.load_model('python:json:no_such_fn')

def test_passthrough_and_callable():
    m = P.CallableModel(lambda c: ['x'] * len(c))
    assert P.load_model(m) is m
    c = P.load_model(lambda convs: ['ok'] * len(convs))
    assert isinstance(c, P.CallableModel) and not c.cacheable
    assert c.respond([[{'role': 'user', 'content': 'q'}]]) == ['ok']


# ---- python: and collect_responses ----
def test_collect_python(pymodel):
    spec, mod = pymodel
    res, rep = P.collect_responses(spec, ROWS, progress=False)
    assert res['id'].tolist() == ROWS['id'].tolist() and res['label'].tolist() == ROWS['label'].tolist()
    assert res['response'].tolist() == [oracle('hello'), oracle('bread?'), None, oracle('hello'), None]
    assert res['response_error'].tolist()[2] == 'text is missing'
    assert res['response_error'].tolist()[4] == 'the model raised RuntimeError: cannot answer this one'
    assert rep.read == 5 and rep.kept == 3 and rep.rejected == 2
    assert rep.rejected_rows()['id'].tolist() == ['c', 'e'] and rep.rejected_rows()['row'].tolist() == [3, 5]
    rep.check()
    # identical conversations are asked once; the batch call raised, so each was asked alone after it
    assert mod.CALLS[0] == ['hello', 'bread?', 'raise'] and sorted(map(tuple, mod.CALLS[1:])) == [('bread?',), ('hello',), ('raise',)]

def test_system_prompt_and_conversation(pymodel):
    spec, mod = pymodel
    conv = [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'yes?'}, {'role': 'user', 'content': 'more'}]
    df = pd.DataFrame(dict(id=['1', '2'], text=['plain', 'more'], conversation=[None, conv]))
    res, rep = P.collect_responses(spec, df, system_prompt='Be brief.', progress=False)
    assert res['response'].tolist() == [oracle('plain', 'Be brief.'), '4|Be brief.|erom']
    rep.check()

def test_reasons_of_unusable_answers(pymodel):
    spec, _ = pymodel
    df = pd.DataFrame(dict(id=['1', '2', '3'], text=['empty', 'number', '   ']))
    res, rep = P.collect_responses(spec, df, progress=False)
    assert res['response_error'].tolist() == ['empty response', 'response is not text (got int)',
                                             'text is empty or white space']
    assert rep.kept == 0 and rep.rejected == 3

def test_wrong_count_is_an_error():
    with pytest.raises(BadParameter, match='returned 1 responses for 2 conversations'):
        P.collect_responses(lambda convs: ['one'], pd.DataFrame(dict(id=['1', '2'], text=['a', 'b'])), progress=False)

def test_report_is_extended(pymodel):
    spec, _ = pymodel
    rep0 = RowReport('data.csv', read=6, kept=5); rep0.reject(9, 'label is missing')
    _, rep = P.collect_responses(spec, ROWS, progress=False, report=rep0)
    assert rep is rep0 and rep.kept == 3 and rep.rejected == 3
    rep.check()

def test_bad_table():
    with pytest.raises(BadColumn, match="no column 'text'"):
        P.collect_responses(lambda c: [], pd.DataFrame(dict(id=['1'], prompt=['x'])), progress=False)


# ---- the cache ----
def test_rerun_makes_no_call(pymodel, tmp_path):
    spec, mod = pymodel
    df = ROWS[ROWS['text'] != 'raise']
    r1, _ = P.collect_responses(spec, df, progress=False)
    n = len(mod.CALLS)
    r2, rep2 = P.collect_responses(spec, df, progress=False)
    assert len(mod.CALLS) == n and r2['response'].tolist() == r1['response'].tolist()
    rep2.check()
    parts = list((tmp_path/'cache'/'responses').glob('*/part-*.parquet'))
    assert parts and all(p.parent.parent == tmp_path/'cache'/'responses' for p in parts)
    fp = json.loads((parts[0].parent/'fingerprint.json').read_text())
    assert fp['kind'] == 'python' and fp['spec'] == spec and parts[0].parent.name == P.fingerprint_id(fp)
    # another system prompt is another conversation: asked again
    P.collect_responses(spec, df, system_prompt='Be brief.', progress=False)
    assert len(mod.CALLS) == n + 1
    # no cache: asked every time
    P.collect_responses(spec, df, cache_dir=False, progress=False)
    assert len(mod.CALLS) == n + 2

def test_edited_model_is_asked_again(pymodel, tmp_path):
    spec, mod = pymodel
    df = ROWS.iloc[:2]
    P.collect_responses(spec, df, progress=False)
    f = Path(mod.__file__); f.write_text(f.read_text().replace('{last[::-1]}', 'v2:{last[::-1]}'))
    res, _ = P.collect_responses(spec, df, progress=False)
    assert res['response'].tolist() == ['1||v2:olleh', '1||v2:?daerb']

def test_interrupted_run_resumes(pymodel, tmp_path):
    spec, mod = pymodel
    m = P.load_model(spec); m.chunk_rows = 2
    df = pd.DataFrame(dict(id=list('123456'), text=['q1', 'q2', 'q3', 'q4', 'stop', 'q6']))
    with pytest.raises(KeyboardInterrupt): P.collect_responses(m, df, progress=False)
    assert mod.CALLS == [['q1', 'q2'], ['q3', 'q4'], ['stop', 'q6']]
    mod.STOP = False
    res, rep = P.collect_responses(m, df, progress=False)
    assert mod.CALLS[3:] == [['stop', 'q6']]        # the first four answers came from the cache
    assert res['response'].tolist() == [oracle(t) for t in df['text']]
    rep.check()

def test_cache_dir_argument_and_confinement(pymodel, tmp_path):
    spec, _ = pymodel
    P.collect_responses(spec, ROWS.iloc[:1], cache_dir=tmp_path/'mine', progress=False)
    assert list((tmp_path/'mine'/'responses').glob('*/part-*.parquet'))
    (tmp_path/'elsewhere').mkdir(); (tmp_path/'linked').mkdir()
    (tmp_path/'linked'/'responses').symlink_to(tmp_path/'elsewhere')
    with pytest.raises(BadParameter, match='symbolic link'):
        P.collect_responses(spec, ROWS.iloc[:1], cache_dir=tmp_path/'linked', progress=False)
    assert not list((tmp_path/'elsewhere').iterdir())


# ---- responses: ----
def test_collected_responses(tmp_path):
    f = tmp_path/'collected.csv'
    f.write_text('id,response\n007,Sure: here it is.\n8,\n9,"No, I can\'t help with that."\n9,Yes.\n,orphan\n')
    df = pd.DataFrame(dict(id=['007', '7', '8', '9', 'x'], text=['q'] * 5))
    res, rep = P.collect_responses(f'responses:{f}', df, progress=False)
    assert res['response'].tolist() == ['Sure: here it is.', None, None, None, None]
    assert res['response_error'].tolist() == [None, 'no collected response', 'empty response',
                                             'ambiguous: the id has different responses in collected.csv',
                                             'no collected response']
    rep.check()
    m = P.load_model(f'responses:{f}')
    assert not m.cacheable and m.read_report.read == 5 and m.read_report.rejected == 1
    assert not (tmp_path/'cache'/'responses').exists()

def test_collected_responses_bad_files(tmp_path):
    (tmp_path/'r.jsonl').write_text('{"id": "1", "answer": "x"}\n')
    with pytest.raises(BadColumn, match="no column 'response'"): P.load_model(f'responses:{tmp_path/"r.jsonl"}')
    with pytest.raises(BadFile, match='does not exist'): P.load_model(f'responses:{tmp_path/"none.csv"}')
