"riskbench assess / diff: a whole bundle from one command, cross-linked; diffs; a failing part"
import json, re
from pathlib import Path
import pandas as pd
import pytest
from conftest import riskbench, ROOT

CARD = 'bundled:usecases/customer_support.yaml'

@pytest.fixture(scope='module')
def small_eval(tmp_path_factory):
    "A stratified 40% sample of the demo prompts (every language and category kept), for speed"
    rows = [json.loads(l) for l in (ROOT/'datasets'/'demo_prompts.jsonl').read_text(encoding='utf-8').splitlines()]
    df = pd.DataFrame(rows)
    keep = df.groupby(['language', 'label']).sample(frac=0.4, random_state=0)
    p = tmp_path_factory.mktemp('data')/'eval.jsonl'
    keep.to_json(p, orient='records', lines=True, force_ascii=False)
    return p

@pytest.fixture(scope='module')
def bundle_a(small_eval, tmp_path_factory):
    out = tmp_path_factory.mktemp('bundles')/'a'
    r = riskbench('assess', CARD, '--data', small_eval, '--finetune', 'bundled:demo_finetune.jsonl', '--guard', 'baseline', '--out', out)
    assert r.returncode == 0, r.stdout + r.stderr
    return out

def test_bundle_contents_and_links(bundle_a):
    b = json.loads((bundle_a/'bundle.json').read_text())
    assert b['status'] == 'ok'
    expected = {'dataset_overview', 'data_audit', 'thresholds-baseline', 'bias-baseline', 'languages-baseline', 'usecase'}
    assert expected <= set(b['parts'])
    index = (bundle_a/'index.html').read_text()
    for name, part in b['parts'].items():
        assert part['status'] == 'ok', (name, part.get('error'))
        assert (bundle_a/name/'report.html').exists() and (bundle_a/name/'summary.json').exists()
        assert f'href="{name}/report.html"' in index
        assert part['manifest']['inputs'], name
    # the threshold policy chosen feeds the use-case register as measured evidence
    assert (bundle_a/'policies'/'baseline.json').exists()
    reg = b['parts']['usecase']['summary']['register']
    assert any('[measured]' in r['evidence'] for r in reg)
    assert b['input_sha256']['data'] and b['scoring']['baseline']['status'] == 'ok'
    assert 'Residual risk' in index and 'rb-plotly' in index
    # the bundle's card records the guard that was measured
    assert 'baseline' in (bundle_a/'usecase.yaml').read_text()

def test_diff_between_thresholds(bundle_a, small_eval, tmp_path):
    out = tmp_path/'b'
    r = riskbench('assess', CARD, '--data', small_eval, '--guard', 'baseline', '--out', out,
                  '-p', 'guard_thresholds.target_fpr', '0.2')
    assert r.returncode == 0, r.stdout + r.stderr
    r = riskbench('diff', bundle_a, out)
    assert r.returncode == 0, r.stderr
    assert re.search(r'thresholds-baseline threshold: [0-9.]+ -> [0-9.]+', r.stdout), r.stdout
    assert 'thresholds-baseline recall' in r.stdout
    assert (out/'diff.html').exists() and 'What changed' in (out/'diff.html').read_text()
    a = json.loads((bundle_a/'bundle.json').read_text()); b = json.loads((out/'bundle.json').read_text())
    assert b['parts']['thresholds-baseline']['policy']['threshold'] < a['parts']['thresholds-baseline']['policy']['threshold']

def test_failing_part_still_writes_bundle(small_eval, tmp_path):
    out = tmp_path/'c'
    # a guard that cannot be imported is refused before anything runs ...
    r = riskbench('assess', CARD, '--data', small_eval, '--guard', 'python:no_such_module_xyz:score', '--out', out)
    assert r.returncode == 2 and 'cannot import module' in r.stderr and not out.exists()
    # ... one that fails while scoring fails its parts, and the rest of the bundle is still written
    (tmp_path/'broken_guard_xyz.py').write_text("def score(texts):\n    raise RuntimeError('the guard service is down')\n")
    r = riskbench('assess', CARD, '--data', small_eval, '--guard', 'python:broken_guard_xyz:score', '--out', out, cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    b = json.loads((out/'bundle.json').read_text())
    assert b['status'] == 'failed'
    slug = 'python-broken-guard-xyz-score'
    assert 'the guard service is down' in b['scoring'][slug].get('error', ''), b['scoring'][slug]
    assert b['scoring'][slug]['status'] == 'failed'
    assert b['parts'][f'thresholds-{slug}']['status'] == 'skipped'
    assert b['parts']['dataset_overview']['status'] == 'ok' and b['parts']['usecase']['status'] == 'ok'
    assert 'did not complete' in (out/'index.html').read_text()

def test_bad_card_is_exit_2(tmp_path):
    p = tmp_path/'card.yaml'; p.write_text('name: x\ndescription: y\nlanguages: [en]\ncapabilities: [teleportation]\n')
    r = riskbench('assess', p, '--out', tmp_path/'o')
    assert r.returncode == 2 and 'teleportation' in r.stderr and 'Traceback' not in r.stderr

def test_diff_needs_bundles(tmp_path):
    r = riskbench('diff', tmp_path, tmp_path)
    assert r.returncode == 2 and 'no bundle.json' in r.stderr
