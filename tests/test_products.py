"""Product models: python:, responses:, hf: (batched generation vs per-row generate()), openai: (retries, resume,
keys), the response cache"""
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
    for kw in (dict(max_new_tokens=0), dict(concurrency=0), dict(retries=-1), dict(timeout=0),
               dict(max_new_tokens=True)):
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
    assert mod.CALLS[0] == ['hello', 'bread?', 'raise']
    assert sorted(map(tuple, mod.CALLS[1:])) == [('bread?',), ('hello',), ('raise',)]

def test_system_prompt_and_conversation(pymodel):
    spec, mod = pymodel
    conv = [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'yes?'},
            {'role': 'user', 'content': 'more'}]
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


# ---- hf: batched generation ----
from tiny_lm import tiny_chat_lm

@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    "Tiny models run faster on one thread (and far faster on a loaded machine, where OpenMP threads spin)"
    import torch
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.fixture(scope='module')
def lm_dir(tmp_path_factory): return tiny_chat_lm(tmp_path_factory.mktemp('lm'), seed=3)

@pytest.fixture(scope='module')
def lm(lm_dir, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:   # the weights' hash memo goes to a temporary cache, not the user's
        mp.setenv('RISKBENCH_CACHE_DIR', str(tmp_path_factory.mktemp('lm_cache')))
        yield P.HFModel.load(str(lm_dir), device='cpu', max_new_tokens=10)

CONVS = [[{'role': 'user', 'content': t}] for t in
         ('hi', 'How do I bake bread at home, step by step?', 'word ' * 40, 'Écris un poème sur la mer.', '?',
          'a b ' * 9)] \
    + [[{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Explain tides.'}]]

def alone(m, conv):
    "Tokens of model.generate() for one conversation by itself (no padding), cut at the first EOS"
    import torch
    ids = m.tok.apply_chat_template(conv, add_generation_prompt=True, tokenize=True)
    ids = list(ids['input_ids'] if hasattr(ids, 'keys') else ids)
    x = torch.tensor([ids])
    y = m.model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=m.max_new_tokens, do_sample=False,
                         eos_token_id=m.eos, pad_token_id=m.pad_id)[0, len(ids):].tolist()
    return y[:next((j for j, t in enumerate(y) if t in m.eos), len(y))]

def test_batched_equals_generate(lm):
    lm.batch_tokens = 160   # several batches of rows of different lengths
    items, bad = lm.encode(CONVS)
    assert not bad and len({it.n for it in items}) >= 5
    batches = P.make_batches(items, lm.batch_tokens, lm.max_batch_rows)
    assert len(batches) >= 2 and max(len(b) for b in batches) >= 2
    got = {it.row: toks for b in batches for it, toks in zip(b, lm.generate_batch(b))}
    for i, c in enumerate(CONVS): assert got[i] == alone(lm, c), f"row {i}"
    assert lm.respond(CONVS) == [lm.tok.decode(alone(lm, c), skip_special_tokens=True) for c in CONVS]

def test_stops_on_eos(lm):
    "With a token the model produces early made an EOS, rows stop at different lengths, as generate() alone does"
    first = [alone(lm, c) for c in CONVS]
    stop = first[0][2]
    saved = lm.eos
    try:
        lm.eos = [stop, *saved]
        ref = [alone(lm, c) for c in CONVS]
        assert len({len(r) for r in ref}) >= 2 and min(map(len, ref)) < lm.max_new_tokens
        items, _ = lm.encode(CONVS)
        b = sorted(items, key=lambda it: -it.n)
        assert dict(zip([it.row for it in b], lm.generate_batch(b))) == dict(enumerate(ref))
    finally: lm.eos = saved

def test_template_rejects_a_row(lm, tmp_path):
    df = pd.DataFrame(dict(id=['1', '2', '3'], text=['hi', 'x', 'y'],
                           conversation=[None,
                                         [{'role': 'user', 'content': 'a'}, {'role': 'system', 'content': 'late'}],
                                         [{'role': 'tool', 'content': 'b'}]]))
    res, rep = P.collect_responses(lm, df, cache_dir=tmp_path/'c', progress=False)
    assert res['response'].notna().tolist() == [True, False, False]
    errs = res['response_error'].tolist()
    assert errs[1].startswith('the chat template rejects this conversation')
    assert 'a system message must come first' in errs[1]
    assert 'unknown role tool' in errs[2]
    rep.check()

def test_too_long_for_context(tmp_path):
    m = P.load_model(f"hf:{tiny_chat_lm(tmp_path/'short', max_positions=64)}", max_new_tokens=8, device='cpu')
    out = m.respond([[{'role': 'user', 'content': 'hi'}], [{'role': 'user', 'content': 'word ' * 80}]])
    assert isinstance(out[0], str) and str(out[1]).startswith('conversation too long for the model')

def test_hf_cache_and_fingerprint(lm, tmp_path, monkeypatch):
    fp = lm.fingerprint
    assert fp['kind'] == 'hf' and len(fp['weights_sha256']) == 64 and fp['max_new_tokens'] == 10
    assert fp['decoding'] == 'greedy' and len(fp['chat_template_sha256']) == 64
    df = pd.DataFrame(dict(id=['1', '2'], text=['hi', 'Explain tides.']))
    r1, _ = P.collect_responses(lm, df, cache_dir=tmp_path/'c', progress=False)
    calls = []
    orig = P.HFModel.generate_batch
    monkeypatch.setattr(P.HFModel, 'generate_batch', lambda self, b: calls.append(len(b)) or orig(self, b))
    r2, _ = P.collect_responses(lm, df, cache_dir=tmp_path/'c', progress=False)
    assert calls == [] and r2['response'].tolist() == r1['response'].tolist()
    r3, _ = P.collect_responses(lm, df, system_prompt='Be brief.', cache_dir=tmp_path/'c', progress=False)
    assert calls  # another system prompt: generated again

def test_hf_loading_errors(tmp_path):
    from tiny_models import pickle_only
    from riskbench.core import MissingModel
    from riskbench.guards import UnsafeWeights
    with pytest.raises(MissingModel): P.load_model(f'hf:{tmp_path}/nowhere')
    with pytest.raises(UnsafeWeights): P.load_model(f"hf:{pickle_only(tmp_path/'pk')}")
    d = tiny_chat_lm(tmp_path/'notemplate')
    cfg = json.loads((d/'tokenizer_config.json').read_text()); cfg.pop('chat_template', None)
    (d/'tokenizer_config.json').write_text(json.dumps(cfg)); (d/'chat_template.jinja').unlink(missing_ok=True)
    with pytest.raises(BadParameter, match='no chat template'): P.load_model(f'hf:{d}', device='cpu')


# ---- openai: the endpoint client ----
from openai_server import OpenAIServer

def fast(m, backoff=0.01):
    m.backoff = backoff
    return m

def reply(messages): return f"answer to {messages[-1]['content']}"

TEXTS = pd.DataFrame(dict(id=[f'r{i}' for i in range(12)], text=[f'question {i}' for i in range(12)]))

def test_openai_answers_and_settings():
    with OpenAIServer(reply) as srv:
        m = P.load_model(f'openai:tiny@{srv.url}/', max_new_tokens=17, concurrency=3)
        res, rep = P.collect_responses(m, TEXTS, system_prompt='Be brief.', cache_dir=False, progress=False)
    assert res['response'].tolist() == [f'answer to question {i}' for i in range(12)]
    assert srv.requests == 12 and rep.kept == 12
    body = json.loads(srv.bodies[0])
    assert body['model'] == 'tiny' and body['max_tokens'] == 17 and body['temperature'] == 0
    assert body['messages'][0] == {'role': 'system', 'content': 'Be brief.'}
    assert all('Authorization' not in h for h in srv.headers)          # no key set: none sent
    assert m.spec == f'openai:tiny@{srv.url}' and m.fingerprint['base_url'] == srv.url

def test_openai_retries_429_and_500():
    import time
    bad = {1: ('status', 429, {'Retry-After': '1'}), 2: ('status', 500), 3: ('status', 503), 4: ('status', 502)}
    with OpenAIServer(reply, script=lambda n, b: bad.get(n)) as srv:
        m = fast(P.load_model(f'openai:tiny@{srv.url}', concurrency=1, retries=4))
        t0 = time.perf_counter()
        res, rep = P.collect_responses(m, TEXTS.iloc[:3], cache_dir=False, progress=False)
        took = time.perf_counter() - t0
    assert res['response'].tolist() == ['answer to question 0', 'answer to question 1', 'answer to question 2']
    assert srv.requests == 7 and took >= 1.0      # four failures retried; Retry-After: 1 was honoured
    rep.check()

def test_openai_gives_up_on_a_row():
    with OpenAIServer(reply, script=lambda n, b: ('status', 500) if 'question 1' == b['messages'][-1]['content']
                      else None) as srv:
        m = fast(P.load_model(f'openai:tiny@{srv.url}', retries=2))
        res, rep = P.collect_responses(m, TEXTS.iloc[:3], cache_dir=False, progress=False)
    assert res['response_error'].tolist() == [None, 'HTTP 500 after 3 tries', None]
    assert srv.requests == 5 and rep.reasons() == {'HTTP 500 after 3 tries': 1}

def test_openai_bad_answers_rejected():
    acts = {'question 0': ('raw', b'<html>busy</html>'), 'question 1': ('truncate',), 'question 2': ('content', ''),
            'question 3': ('content', 'x' * 200), 'question 4': ('raw', b'{"choices": [{"message": {"content": "ok'),
            'question 5': ('content', None), 'question 6': ('status', 400)}
    with OpenAIServer(reply, script=lambda n, b: acts.get(b['messages'][-1]['content'])) as srv:
        import unittest.mock as mock
        with mock.patch.object(P, 'max_response_chars', lambda: 100):
            m = fast(P.load_model(f'openai:tiny@{srv.url}', retries=1))
            res, rep = P.collect_responses(m, TEXTS.iloc[:8], cache_dir=False, progress=False)
    assert m.limit == 100 and m.max_bytes == 400 + (1 << 16)
    errs = res['response_error'].tolist()
    assert errs[0] == "the endpoint's answer is not JSON"
    assert errs[1] == 'truncated answer from the endpoint after 2 tries'
    assert errs[2] == 'empty response'
    assert errs[3] == 'response over the size limit (200 characters; limit 100)'
    assert errs[4] == 'truncated answer from the endpoint (its JSON ends early)'
    assert errs[5] == 'no response'
    assert errs[6] == 'HTTP 400 from the endpoint: status 400'
    assert errs[7] is None and res['response'].tolist()[7] == 'answer to question 7'
    assert rep.kept == 1 and rep.rejected == 7
    rep.check()

def test_openai_unreachable_one_line():
    with OpenAIServer(reply) as srv: url = srv.url      # a port that was just closed
    m = fast(P.load_model(f'openai:tiny@{url}', retries=2))
    with pytest.raises(P.EndpointError) as e: P.collect_responses(m, TEXTS.iloc[:2], cache_dir=False, progress=False)
    msg = str(e.value)
    assert '\n' not in msg and f'cannot reach {url}/chat/completions after 3 tries' in msg

@pytest.mark.parametrize('status,words', [(401, 'refuses the request'), (404, 'check the base URL'),
                                          (302, 'redirects')])
def test_openai_fatal_statuses(status, words):
    with OpenAIServer(reply, script=lambda n, b: ('status', status, {'Location': 'http://example.com/'})) as srv:
        m = fast(P.load_model(f'openai:tiny@{srv.url}'))
        with pytest.raises(P.EndpointError, match=words):
            P.collect_responses(m, TEXTS.iloc[:4], cache_dir=False, progress=False)
    assert srv.requests <= 4

def test_openai_stopped_mid_run_resumes(tmp_path):
    "The server stops after 5 answers: the run fails in one line, the answers are cached; a re-run asks for the rest"
    srv = OpenAIServer(reply, latency=0.01).start()
    stopper = {}
    def script(n, body):
        if n == 6: stopper['t'] = __import__('threading').Thread(target=srv.stop); stopper['t'].start()
        return ('status', 503) if n >= 6 else None
    srv.script = script
    m = fast(P.load_model(f'openai:tiny@{srv.url}', concurrency=1, retries=2))
    with pytest.raises(P.EndpointError, match='cannot reach'):
        P.collect_responses(m, TEXTS, cache_dir=tmp_path/'c', progress=False)
    stopper['t'].join()
    srv2 = OpenAIServer(reply).start()
    try:
        # the same fingerprint needs the same base URL: point the model at the new port
        m2 = fast(P.load_model(f'openai:tiny@{srv2.url}', concurrency=1))
        m2.fingerprint = m.fingerprint
        res, rep = P.collect_responses(m2, TEXTS, cache_dir=tmp_path/'c', progress=False)
        assert srv2.requests == 12 - 5
        res3, _ = P.collect_responses(m2, TEXTS, cache_dir=tmp_path/'c', progress=False)
        assert srv2.requests == 12 - 5       # a re-run sends no request
    finally: srv2.stop()
    assert res['response'].tolist() == [f'answer to question {i}' for i in range(12)] == res3['response'].tolist()
    rep.check()

def test_openai_key_never_written(tmp_path, monkeypatch):
    key = 'sk-riskbench-PLANTED-0123456789'
    monkeypatch.setenv('RISKBENCH_API_KEY', key)
    said = json.dumps({'error': {'message': f'bad key {key}'}}).encode()
    echoing = lambda n, b: ('raw', said, 400) if n == 2 else None
    with OpenAIServer(reply, script=echoing) as srv:
        m = fast(P.load_model(f'openai:tiny@{srv.url}', retries=0, concurrency=1))
        res, rep = P.collect_responses(m, TEXTS.iloc[:4], cache_dir=tmp_path/'cache', progress=False)
        out = tmp_path/'out'; out.mkdir()
        res.to_json(out/'rows.jsonl', orient='records', lines=True)
        (out/'report.json').write_text(json.dumps(dict(rep=rep.summary(), rejects=rep.rejects, attrs=res.attrs,
                                                       spec=m.spec, repr=repr(m)), default=str))
    assert all(h.get('Authorization') == f'Bearer {key}' for h in srv.headers)
    assert res['response_error'].tolist()[1] == 'HTTP 400 from the endpoint: bad key ***'
    assert key not in json.dumps(m.fingerprint) and key not in m.spec
    for f in [*(tmp_path/'cache').rglob('*'), *out.rglob('*')]:
        if f.is_file(): assert key.encode() not in f.read_bytes(), f
    monkeypatch.delenv('RISKBENCH_API_KEY'); monkeypatch.setenv('OPENAI_API_KEY', 'sk-other')
    with OpenAIServer(reply) as srv:
        P.collect_responses(f'openai:tiny@{srv.url}', TEXTS.iloc[:1], cache_dir=False, progress=False)
    assert srv.headers[0]['Authorization'] == 'Bearer sk-other'

def test_openai_spec_with_credentials_refused():
    for spec in ('openai:m@https://user:sk-SECRET@api.example.com/v1',
                 'openai:m@https://api.example.com/v1?api_key=sk-SECRET'):
        with pytest.raises(BadParameter) as e: P.load_model(spec)
        assert 'sk-SECRET' not in str(e.value) and 'holds a credential' in str(e.value)
    with pytest.raises(BadParameter, match='expected openai:MODEL@BASE_URL'): P.load_model('openai:http://x/v1')

def test_openai_concurrency_bounded():
    import threading, time
    live, peak, lock = [0], [0], threading.Lock()
    def slow(messages):
        with lock: live[0] += 1; peak[0] = max(peak[0], live[0])
        time.sleep(0.05)
        with lock: live[0] -= 1
        return 'ok'
    with OpenAIServer(slow) as srv:
        m = P.load_model(f'openai:tiny@{srv.url}', concurrency=4)
        P.collect_responses(m, TEXTS, cache_dir=False, progress=False)
    assert peak[0] == 4


# ---- failing fast, edges ----
def test_check_model_spec(tmp_path, lm_dir):
    assert P.check_model_spec('python:riskbench.products:toy_model') == 'python:riskbench.products:toy_model'
    assert P.check_model_spec(f'hf:{lm_dir}') == f'hf:{lm_dir}'
    assert P.check_model_spec('openai:m@http://127.0.0.1:1/v1') == 'openai:m@http://127.0.0.1:1/v1'
    for spec, err, words in [('gpt-4', BadParameter, 'unknown model spec'), ('hf:', BadParameter, 'unknown model spec'),
                             ('python:json:nope', BadParameter, 'has no function'),
                             (f'responses:{tmp_path}/none.csv', BadFile, 'does not exist'),
                             (f'hf:{tmp_path}/none', RiskbenchError, 'no such model folder'),
                             ('openai:m@http://u:sk-x@h/v1', BadParameter, 'holds a credential')]:
        with pytest.raises(err, match=words): P.check_model_spec(spec)

def test_empty_frame():
    res, rep = P.collect_responses(P.toy_model, pd.DataFrame(dict(id=[], text=[])), progress=False)
    assert len(res) == 0 and {'response', 'response_error'} <= set(res.columns) and rep.read == 0

def test_out_of_memory_halves_the_batch(lm):
    "A batch that runs out of memory is halved down to one row; only the row too big alone is rejected"
    seen = []
    def picky(batch):
        seen.append(len(batch))
        if len(batch) > 2 or any(len(it.ids) > 60 for it in batch): raise RuntimeError('CUDA out of memory.')
        return [[lm.tok.convert_tokens_to_ids('S')]] * len(batch)
    m = P.HFModel(lm.model, lm.tok, info={}, max_new_tokens=4)
    m.generate_batch = picky
    out = m.respond(CONVS[:4])   # CONVS[2] is 40 words: over 60 tokens
    assert [isinstance(r, str) for r in out] == [True, True, False, True]
    assert str(out[2]).startswith('out of memory with') and seen[0] == 4

def test_collected_responses_by_system_prompt(tmp_path):
    f = tmp_path/'variants.csv'
    f.write_text('id,system_prompt,response\n1,,plain one\n1,Be brief.,brief one\n2,Be brief.,brief two\n')
    df = pd.DataFrame(dict(id=['1', '2'], text=['q', 'q']))
    plain, rep = P.collect_responses(f'responses:{f}', df, progress=False)
    brief, _ = P.collect_responses(f'responses:{f}', df, system_prompt='Be brief.', progress=False)
    assert plain['response'].tolist() == ['plain one', None] and rep.reasons() == {'no collected response': 1}
    assert brief['response'].tolist() == ['brief one', 'brief two']
    (tmp_path/'bare.csv').write_text('id,response\n1,x\n')
    with pytest.raises(BadParameter, match="no 'system_prompt' column"):
        P.collect_responses(f"responses:{tmp_path/'bare.csv'}", df, system_prompt='Be brief.', progress=False)

def test_openai_answer_over_byte_limit():
    import unittest.mock as mock
    big = json.dumps({'choices': [{'message': {'content': 'y' * 70_000}}]}).encode()
    with OpenAIServer(reply, script=lambda n, b: ('raw', big) if b['messages'][-1]['content'] == 'question 0'
                      else None) as srv, mock.patch.object(P, 'max_response_chars', lambda: 10):
        res, rep = P.collect_responses(f'openai:tiny@{srv.url}', TEXTS.iloc[:2], cache_dir=False, progress=False)
    assert res['response_error'].tolist() == ['answer over the size limit (65,576 bytes)',
                                             'response over the size limit (20 characters; limit 10)']
