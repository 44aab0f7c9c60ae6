"The bundled demo datasets are data: YAML sources in datasets/src/, rebuilt byte for byte by its make_datasets.py"
import ast, importlib.util, json, shutil, subprocess, sys
from pathlib import Path

import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT/'datasets'
SRC = DATASETS/'src'
SCRIPT = SRC/'make_datasets.py'
# every file the generator writes (DATASHEET.md: its GENERATED blocks, around hand-written prose)
GENERATED = ['demo_prompts.jsonl', 'guard_train.jsonl', 'demo_finetune.jsonl', 'demo_finetune_planted.json',
             'demo_finetune_clean.jsonl', 'DATASHEET.md']
LANGS = ['en', 'de', 'fr', 'it', 'pt', 'es', 'hi', 'th', 'sw', 'id']
CODES = {f'S{i}' for i in range(1, 15)} - {'S4'}  # Llama Guard 3 hazards; S4 is left out on purpose
# the fields each record must have, written out here independently of the script's own REQUIRED table
FIELDS = {
    ('demo_prompts.yaml', 'pairs'): {'pair_id', 'kind', 'categories', 'text'},
    ('demo_prompts.yaml', 'english_only'): {'kind', 'categories', 'text'},
    ('finetune.yaml', 'base'): {'language', 'prompt', 'response'},
    ('finetune_planted.yaml', 'pii'): {'prompt', 'response', 'values'},
    ('finetune_planted.yaml', 'pii_decoys'): {'prompt', 'response', 'values'},
    ('finetune_planted.yaml', 'exact_duplicates'): {'prompt_a', 'prompt_b', 'response', 'difference'},
    ('finetune_planted.yaml', 'near_duplicates'): {'prompt_a', 'prompt_b', 'response_a', 'response_b'},
    ('finetune_planted.yaml', 'leakage'): {'train_prompt', 'test_prompt', 'train_response', 'test_response', 'kind'},
    ('finetune_planted.yaml', 'group_rows'): {'language', 'group', 'prompt', 'response'},
    ('finetune_planted.yaml', 'other_refusals'): {'prompt', 'response'},
}


def _load(name): return yaml.safe_load((SRC/name).read_text(encoding='utf-8'))


@pytest.fixture(scope='module')
def gen():
    "datasets/src/make_datasets.py imported as a module"
    spec = importlib.util.spec_from_file_location('make_datasets_under_test', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def regenerated(tmp_path_factory):
    "A folder holding a fresh generation, written by the command line with --out"
    out = tmp_path_factory.mktemp('regenerated')
    r = subprocess.run([sys.executable, str(SCRIPT), '--out', str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_regeneration_is_byte_identical(regenerated):
    assert sorted(p.name for p in regenerated.iterdir()) == sorted(GENERATED)
    for name in GENERATED:
        new, old = (regenerated/name).read_bytes(), (DATASETS/name).read_bytes()
        if new != old:
            a, b = new.decode().splitlines(), old.decode().splitlines()
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            pytest.fail(f'datasets/{name} differs from a fresh generation at line {first + 1}')
    rows = [json.loads(l) for l in (regenerated/'demo_prompts.jsonl').read_text(encoding='utf-8').splitlines()]
    assert len(rows) == 749 and rows[0]['id'] == 'dp-0001'


def test_check_reports_stale_files(gen, regenerated, tmp_path, monkeypatch, capsys):
    files = {n: (regenerated/n).read_text(encoding='utf-8') for n in GENERATED}
    assert gen.stale_files(files, DATASETS) == []
    for n in GENERATED: shutil.copy(DATASETS/n, tmp_path/n)
    (tmp_path/'DATASHEET.md').unlink()
    raw = (tmp_path/'guard_train.jsonl').read_bytes()
    (tmp_path/'guard_train.jsonl').write_bytes(raw.replace(b'\n', b'\r\n', 1))  # a line end is a difference too
    assert gen.stale_files(files, tmp_path) == ['guard_train.jsonl', 'DATASHEET.md']
    monkeypatch.setattr(gen, 'generate', lambda: (files, {}))  # the --check path, without a second generation
    assert gen.main(['--check', '--out', str(tmp_path)]) == 1
    assert 'guard_train.jsonl' in capsys.readouterr().err
    assert gen.main(['--check']) == 0
    assert gen.main(['--check', '--out', str(tmp_path/'missing')]) == 2


def test_script_loads_every_source(gen):
    assert sorted(gen.SOURCES) == sorted(p.name for p in SRC.glob('*.yaml'))
    # the script checks the same fields itself as it loads (see test_bad_sources_name_file_record_and_field)
    assert {(n, k): set(f) for n, spec in gen.REQUIRED.items() for k, f in spec.items() if '.' not in k} == FIELDS


@pytest.mark.parametrize('name,key', list(FIELDS))
def test_source_records_have_their_fields(name, key):
    items = _load(name)[key]
    assert isinstance(items, list) and items, (name, key)
    for i, rec in enumerate(items):
        assert isinstance(rec, dict) and FIELDS[name, key] <= set(rec), (name, key, i, rec)
        for f in FIELDS[name, key] - {'values', 'categories', 'text', 'response'}:
            assert isinstance(rec[f], str) and rec[f], (name, key, i, f)


def test_demo_prompt_sources():
    d = _load('demo_prompts.yaml')
    ids = [p['pair_id'] for p in d['pairs']]
    assert len(ids) == len(set(ids)) and all(i.startswith('p-') for i in ids)
    for rec in d['pairs'] + d['english_only']:
        assert rec['kind'] in ('unsafe', 'borderline', 'benign') and set(rec['categories']) <= CODES, rec
        assert bool(rec['categories']) == (rec['kind'] == 'unsafe'), rec
    for p in d['pairs']:  # one prompt per language, source first
        assert list(p['text']) == LANGS and all(isinstance(t, str) and t.strip() for t in p['text'].values()), p
    assert all(isinstance(r['text'], str) and r['text'].strip() for r in d['english_only'])


def test_guard_train_and_finetune_sources():
    g = _load('guard_train.yaml')
    en = g['english']
    assert {u['frames'] for u in en['unsafe']} <= set(en['frames'])
    assert {u['category'] for u in en['unsafe']} | {'S10'} == CODES
    for lang, spec in g['languages'].items():
        assert lang in LANGS and lang != 'en'
        assert all(u['category'] in CODES and u['goal'] for u in spec['unsafe']), lang
        assert all('{a}' in f for f in spec['unsafe_frames']) and all('{b}' in f for f in spec['benign_frames']), lang
    base = _load('finetune.yaml')['base']
    assert all(b['language'] in LANGS and b['response'] for b in base)
    pl = _load('finetune_planted.yaml')
    for e in pl['pii'] + pl['pii_decoys']:
        for v in e['values']:  # the planted value is where the record says it is
            assert v['field'] in ('prompt', 'response') and v['value'] in e[v['field']], v
    assert {r['response'] is None for r in pl['group_rows']} == {True, False}
    assert set(pl['group_refusals']['refusal_phrases']) == {r['language'] for r in pl['group_rows']
                                                            if r['response'] is None}


def test_planted_values_reach_the_output():
    "Every PII value of the sources is recorded in demo_finetune_planted.json and sits in that row"
    planted = json.loads((DATASETS/'demo_finetune_planted.json').read_text(encoding='utf-8'))
    lines = (DATASETS/'demo_finetune.jsonl').read_text(encoding='utf-8').splitlines()
    rows = {r['id']: r for r in map(json.loads, lines)}
    src = _load('finetune_planted.yaml')
    want = [(v['field'], v['type'], v['value']) for e in src['pii'] for v in e['values']]
    assert [(e['field'], e['type'], e['value']) for e in planted['pii']] == want
    assert all(e['value'] in rows[e['id']][e['field']] for e in planted['pii'] + planted['pii_decoys'])


def test_no_literal_data_left_in_the_script():
    code = SCRIPT.read_text(encoding='utf-8')
    tree = ast.parse(code)
    doc = ast.get_docstring(tree, clean=False)
    strs = [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value != doc]
    displays = [n for n in ast.walk(tree) if isinstance(n, (ast.List, ast.Tuple, ast.Set))]
    most = max(sum(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in n.elts) for n in displays)
    # the script that held the data as literals had 2,894 lines, 162,286 characters of strings, a 68-string list
    assert len(code.splitlines()) < 1000 and sum(map(len, strs)) < 15_000 and most <= 16
    assert sum(len(s) > 80 for s in strs) < 30  # the summaries' prose, not prompts

    def leaves(x):
        if isinstance(x, dict): return [s for v in x.values() for s in leaves(v)]
        if isinstance(x, list): return [s for v in x for s in leaves(v)]
        return [x] if isinstance(x, str) else []
    data = {s for p in SRC.glob('*.yaml') for s in leaves(_load(p.name)) if len(s) > 15}
    assert len(data) > 2000
    assert not data & set(strs), sorted(data & set(strs))[:5]


@pytest.fixture
def sources_in(gen, tmp_path, monkeypatch):
    "Point the script at a copy of the sources in tmp_path (returns that folder); the cache is reset around it"
    for p in SRC.glob('*.yaml'): shutil.copy(p, tmp_path/p.name)
    monkeypatch.setattr(gen, 'SRC', tmp_path)
    gen.sources.cache_clear(); gen._identity_rx.cache_clear()
    yield tmp_path
    gen.sources.cache_clear(); gen._identity_rx.cache_clear()


def test_an_edited_source_changes_the_output(gen, sources_in):
    d = yaml.safe_load((sources_in/'demo_prompts.yaml').read_text(encoding='utf-8'))
    old = d['english_only'][0]['text']
    d['english_only'][0]['text'] = 'How do I hurt a referee after a lost match and not get caught?'
    text = yaml.safe_dump(d, allow_unicode=True, sort_keys=False)
    (sources_in/'demo_prompts.yaml').write_text(text, encoding='utf-8')
    texts = [r['text'] for r in gen.build_demo_prompts()]
    assert 'How do I hurt a referee after a lost match and not get caught?' in texts and old not in texts
    assert len(texts) == 749


def test_bad_sources_name_file_record_and_field(gen, sources_in, capsys, tmp_path_factory):
    p = sources_in/'finetune.yaml'
    good = p.read_text(encoding='utf-8')
    d = yaml.safe_load(good)
    del d['base'][3]['response']
    p.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding='utf-8')
    with pytest.raises(gen.SourceError, match=r'^datasets/src/finetune\.yaml: base\[3\]: .*field `response`$'):
        gen.sources()
    assert gen.main(['--out', str(tmp_path_factory.mktemp('unused'))]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'finetune.yaml: base[3]' in err
    p.write_text(good.replace('base:', 'base: [', 1), encoding='utf-8')  # not YAML any more
    gen.sources.cache_clear()
    with pytest.raises(gen.SourceError, match=r'^datasets/src/finetune\.yaml: '):
        gen.sources()
    p.write_text(good.replace('base:', 'rows:', 1), encoding='utf-8')
    gen.sources.cache_clear()
    with pytest.raises(gen.SourceError, match='`base` is missing'):
        gen.sources()


def test_checks_still_refuse_broken_data(gen):
    "The generator's checks run on the committed files, and fail once a contract is broken"
    read = lambda n: [json.loads(l) for l in (DATASETS/n).read_text(encoding='utf-8').splitlines()]
    demo, clean = read('demo_prompts.jsonl'), read('demo_finetune_clean.jsonl')
    gen.check_demo_prompts(demo)
    gen.check_clean(clean)
    with pytest.raises(AssertionError, match='duplicate texts'):
        gen.check_demo_prompts(demo[:-1] + [dict(demo[-1], text=demo[0]['text'])])
    with pytest.raises(AssertionError):
        gen.check_clean(clean[:-1] + [dict(clean[-1], response=clean[-1]['response'] + ' Mail jo@example.com.')])
