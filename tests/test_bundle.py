"""riskbench assess / diff: a whole bundle from one command, cross-linked; diffs; a failing part; relative paths;
several eval sets; warnings collected; a reused folder with planted links; Ctrl-C; every figure's typed arrays checked
against the source data"""
import os, re, sys, json, time, base64, shutil, signal, subprocess
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from conftest import riskbench, ROOT, BIN

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
    # every warning a part recorded is in bundle.json, with the part's name, and shown first on the index
    for name, part in b['parts'].items():
        for w in part['summary'].get('warnings') or []:
            assert {**w, 'part': name} in b['warnings'], (name, w)
    assert index.index('Evidence warnings') < index.index('Every part of the bundle') < index.index('Residual risk')

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
    assert r.returncode == 1 and (out/'bundle.json').exists(), r.stdout + r.stderr
    b = json.loads((out/'bundle.json').read_text())
    assert b['status'] == 'failed'
    slug = 'python-broken-guard-xyz-score'
    assert 'the guard service is down' in b['scoring'][slug].get('error', ''), b['scoring'][slug]
    assert b['scoring'][slug]['status'] == 'failed'
    assert b['parts'][f'thresholds-{slug}']['status'] == 'skipped'
    assert b['parts']['dataset_overview']['status'] == 'ok' and b['parts']['usecase']['status'] == 'ok'
    index = (out/'index.html').read_text()
    assert 'did not complete' in index
    # every part that did not complete is an evidence_missing warning naming the part and the guard, shown on the index
    missing = [w for w in b['warnings'] if w['code'] == 'evidence_missing']
    spec = 'python:broken_guard_xyz:score'
    failed = {f'scores:{slug}', f'thresholds-{slug}', f'bias-{slug}', f'languages-{slug}'}
    said = {w['part']: w for w in missing if w['part'] in failed}
    assert set(said) == failed and all(w['guard'] == spec for w in said.values()), said
    assert 'the guard service is down' in said[f'scores:{slug}']['message']
    # any other evidence_missing comes from a part that completed and said what it could not credit (the register)
    assert all(b['parts'][w['part']]['status'] == 'ok' for w in missing if w['part'] not in failed), missing
    assert index.index('evidence_missing') < index.index('Every part of the bundle')
    # the use-case assessment ran last, told which parts failed when its template takes the list
    from riskbench.report import template_parameters
    uc = b['parts']['usecase']
    if 'failed_parts' in template_parameters('usecase_assessment'):
        told = uc['manifest']['parameters']['failed_parts']
        assert set(told) == failed, told
        # ... so that the register credits the failed guard nothing: its rows' residual comes from missing evidence
        reg = uc['summary']['register']
        assert any(r.get('residual_source') == 'evidence missing' for r in reg), {r.get('residual_source') for r in reg}
    assert not (out/'policies'/f'{slug}.json').exists()

def test_bad_card_is_exit_2(tmp_path):
    p = tmp_path/'card.yaml'; p.write_text('name: x\ndescription: y\nlanguages: [en]\ncapabilities: [teleportation]\n')
    r = riskbench('assess', p, '--out', tmp_path/'o')
    assert r.returncode == 2 and 'teleportation' in r.stderr and 'Traceback' not in r.stderr

def test_diff_needs_bundles(tmp_path):
    r = riskbench('diff', tmp_path, tmp_path)
    assert r.returncode == 2 and 'no bundle.json' in r.stderr
    (tmp_path/'bundle.json').write_text('{"status": "ok", "riskbench": "0"}')  # a bundle.json without parts
    r = riskbench('diff', tmp_path, tmp_path)
    assert r.returncode == 2 and 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'no `parts`' in r.stderr

# ---------------------------------------------------------------- paths, several eval sets, -p, diff refusals

def _card_here(folder:Path)->Path:
    "The demo card copied into `folder` (its policies are bundled: names, so the copy reads the same)"
    folder.mkdir(parents=True, exist_ok=True)
    p = folder/'card.yaml'
    shutil.copy(ROOT/'datasets'/'usecases'/'customer_support.yaml', p)
    return p

def test_relative_paths_from_another_folder(small_eval, tmp_path):
    "assess with relative card, data, -p path and --out from the folder holding them, workers 2: every part ok"
    work = tmp_path/'work'
    _card_here(work); shutil.copy(small_eval, work/'eval.jsonl')
    r = riskbench('assess', 'work/card.yaml', '--data', 'work/eval.jsonl', '--guard', 'baseline', '--workers', '2',
                  '--out', 'work/bundle', '-p', 'multilingual_coverage.usecase', 'work/card.yaml', cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    b = json.loads((work/'bundle'/'bundle.json').read_text())
    assert b['status'] == 'ok' and {n: p['status'] for n, p in b['parts'].items() if p['status'] != 'ok'} == {}
    assert b['inputs']['data'] == [str(work/'eval.jsonl')] and b['inputs']['usecase'] == str(work/'card.yaml')
    assert b['parts']['languages-baseline']['manifest']['parameters']['usecase'] == str(work/'card.yaml')
    for name, part in b['parts'].items():
        for k, v in part['manifest']['inputs'].items(): assert Path(v['path']).is_absolute(), (name, k, v)

@pytest.fixture(scope='module')
def two_sets(small_eval, tmp_path_factory):
    "The small eval set split in two files with the same ids, the second with a bad label in one row; a bundle of both"
    folder = tmp_path_factory.mktemp('two')
    df = pd.read_json(small_eval, lines=True)
    en, rest = df[df.language == 'en'].copy(), df[df.language != 'en'].copy()
    en['id'], rest['id'] = [f'r{i}' for i in range(len(en))], [f'r{i}' for i in range(len(rest))]
    (folder/'sub').mkdir()
    en.to_json(folder/'eval.jsonl', orient='records', lines=True, force_ascii=False)
    with open(folder/'sub'/'eval.jsonl', 'w') as f:
        rest.to_json(f, orient='records', lines=True, force_ascii=False)
        f.write('{"id": "bad", "text": "a row with a bad label", "label": "maybe"}\n')
    _card_here(folder)
    r = riskbench('assess', 'card.yaml', '--data', 'eval.jsonl', '--data', 'sub/eval.jsonl', '--guard', 'baseline',
                  '--out', 'bundle', cwd=folder)
    assert r.returncode == 0, r.stdout + r.stderr
    return folder, en, rest

def test_repeated_data_is_combined(two_sets):
    "--data twice: both sets, a source column, ids source:id, one table read by every part, row accounting per file"
    from riskbench.core import load_eval_set, table_metadata
    folder, en, rest = two_sets
    b = json.loads((folder/'bundle'/'bundle.json').read_text())
    files = {f['source']: f for f in b['data_files']}
    assert set(files) == {'eval.jsonl', 'sub/eval.jsonl'}
    rows = lambda f: (files[f]['rows_read'], files[f]['rows_kept'], files[f]['rows_rejected'])
    assert rows('eval.jsonl') == (len(en), len(en), 0) and rows('sub/eval.jsonl') == (len(rest) + 1, len(rest), 1)
    combined = folder/'bundle'/'data'/'eval.parquet'
    assert b['inputs']['data_path'] == str(combined)
    df, rep = load_eval_set(combined)
    assert len(df) == len(en) + len(rest) and df['id'].is_unique
    assert set(df.loc[df.source == 'eval.jsonl', 'id']) == {f'eval.jsonl:r{i}' for i in range(len(en))}
    assert set(df.loc[df.source == 'sub/eval.jsonl', 'id']) == {f'sub/eval.jsonl:r{i}' for i in range(len(rest))}
    assert table_metadata(combined)['sources'][1]['rows_rejected'] == 1
    for name, part in b['parts'].items():
        assert part['status'] == 'ok', (name, part.get('error'))
        if 'data' in part['manifest']['parameters'] and name != 'data_audit':
            assert part['manifest']['parameters']['data'] == str(combined), name
    scored = pd.read_parquet(folder/'bundle'/'scores'/'baseline.parquet')
    assert len(scored) == len(en) + len(rest)
    assert 'Rows read per file' in (folder/'bundle'/'index.html').read_text()

def test_diff_refuses_different_data(two_sets, bundle_a, tmp_path):
    "diff of bundles built from different data: refused (exit 2); compared with --force and a different_data warning"
    new = two_sets[0]/'bundle'
    r = riskbench('diff', bundle_a, new, '--out', tmp_path/'d.html')
    assert r.returncode == 2 and 'different eval data' in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path/'d.html').exists()
    r = riskbench('diff', bundle_a, new, '--out', tmp_path/'d.html', '--force')
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].startswith('warning: different_data'), r.stdout
    assert 'different_data' in (tmp_path/'d.html').read_text()

def test_unknown_param_before_any_part(small_eval, tmp_path):
    "-p with an unknown parameter name is bad input: exit 2 before anything is written"
    out = tmp_path/'o'
    t0 = time.perf_counter()
    r = riskbench('assess', CARD, '--data', small_eval, '--out', out, '-p', 'guard_thresholds.target_fp', '0.2')
    assert r.returncode == 2 and "no parameter 'target_fp'" in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert not out.exists() and time.perf_counter() - t0 < 30

# ---------------------------------------------------------------- a reused folder, links, Ctrl-C

def _plant(out:Path, victims:Path)->dict:
    "An earlier bundle's leftovers in `out`, and links into `victims` where the bundle writes (scores/, policy, index)"
    victims.mkdir(parents=True, exist_ok=True)
    (victims/'index.html').write_text('victim'); (victims/'policy.json').write_text('victim')
    (victims/'scores').mkdir()
    for f in ('scores', 'index.html'):
        if (out/f).is_dir() and not (out/f).is_symlink(): shutil.rmtree(out/f)
        elif (out/f).exists() or (out/f).is_symlink(): (out/f).unlink()
    (out/'scores').symlink_to(victims/'scores')
    (out/'index.html').symlink_to(victims/'index.html')
    (out/'policies').mkdir(exist_ok=True)
    (out/'policies'/'baseline.json').unlink(missing_ok=True)
    (out/'policies'/'baseline.json').symlink_to(victims/'policy.json')
    (out/'thresholds-oldguard').mkdir(exist_ok=True); (out/'thresholds-oldguard'/'manifest.json').write_text('{}')
    return {p: p.read_text() for p in (victims/'index.html', victims/'policy.json')}

def _untouched(victims:Path, before:dict):
    assert {p: p.read_text() for p in before} == before and not any((victims/'scores').iterdir())

def test_reused_folder_with_links(bundle_a, small_eval, tmp_path):
    "A bundle folder reused: links planted where the bundle writes are moved aside, never followed; no stale part stays"
    out, victims = tmp_path/'bundle', tmp_path/'victims'
    shutil.copytree(bundle_a, out, symlinks=True)
    before = _plant(out, victims)
    r = riskbench('assess', CARD, '--data', small_eval, '--guard', 'baseline', '--out', out)
    assert r.returncode == 0, r.stdout + r.stderr
    _untouched(victims, before)
    assert not (out/'thresholds-oldguard').exists() and (out/'.previous'/'thresholds-oldguard').is_dir()
    assert (out/'.previous'/'scores').is_symlink()
    assert not (out/'scores').is_symlink() and not (out/'index.html').is_symlink()
    assert (out/'scores'/'baseline.parquet').is_file() and not (out/'policies'/'baseline.json').is_symlink()
    assert json.loads((out/'bundle.json').read_text())['status'] == 'ok'
    assert json.loads((out/'.previous'/'bundle.json').read_text())['status'] == 'ok'

def test_interrupt_marks_bundle_interrupted(bundle_a, small_eval, tmp_path):
    "Ctrl-C to the process group mid-run, in a reused folder: exit 130, status interrupted, no stale part, diff refuses"
    out = tmp_path/'bundle'
    shutil.copytree(bundle_a, out, symlinks=True)
    exe = BIN/'riskbench'
    cmd = [str(exe)] if exe.exists() else [sys.executable, '-m', 'riskbench.cli']
    p = subprocess.Popen(cmd + ['assess', CARD, '--data', str(small_eval), '--guard', 'baseline', '--out', str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline, st = time.monotonic() + 120, None
    while time.monotonic() < deadline and p.poll() is None:
        try: st = json.loads((out/'bundle.json').read_text())['status']
        except (OSError, ValueError, KeyError): st = None
        if st == 'running' and (out/'dataset_overview'/'manifest.json').exists(): break
        time.sleep(0.1)
    assert st == 'running' and p.poll() is None, (st, p.poll())
    os.killpg(p.pid, signal.SIGINT)
    stdout, stderr = p.communicate(timeout=180)
    assert p.returncode == 130, (p.returncode, stdout, stderr)
    b = json.loads((out/'bundle.json').read_text())
    assert b['status'] == 'interrupted'
    assert any(x['status'] != 'ok' for x in b['parts'].values()), b['parts']
    not_ok = {n for n, x in b['parts'].items() if x['status'] != 'ok'}
    said = {w['part'] for w in b['warnings'] if w['code'] == 'evidence_missing' and not w['part'].startswith('scores:')}
    assert said >= not_ok and all(b['parts'][n]['status'] == 'ok' for n in said - not_ok), (said, not_ok)
    assert 'data-status="interrupted"' in (out/'index.html').read_text()
    for n in not_ok:  # parts that did not run this time left nothing behind from the old bundle
        assert not (out/n/'summary.json').exists() or b['parts'][n]['status'] == 'interrupted', n
    r = riskbench('diff', bundle_a, out)
    assert r.returncode == 2 and "status is 'interrupted'" in r.stderr, r.stderr
    assert riskbench('diff', bundle_a, out, '--force').returncode == 0

# ---------------------------------------------------------------- every figure's typed arrays, against the source data

def _specs(page:str)->list:
    "Every figure spec of a report page (report.figure_specs when the runner has it)"
    from riskbench import report
    if hasattr(report, 'figure_specs'): return report.figure_specs(page)
    blocks = r'<script type="application/json" class="rb-plotly-data" data-for="[^"]+">(.*?)</script>'
    return [json.loads(m) for m in re.findall(blocks, page, re.S)]

def _arr(v)->np.ndarray:
    "A trace's values as an array: plotly's typed arrays ({dtype, bdata, shape}) decoded, lists as they are"
    if isinstance(v, dict) and 'bdata' in v:
        a = np.frombuffer(base64.b64decode(v['bdata']), dtype=np.dtype(v['dtype']))
        return a.reshape([int(x) for x in str(v['shape']).split(',')]) if v.get('shape') else a
    return np.asarray(v)

def _num(v)->np.ndarray:
    a = _arr(v)
    return a.astype(float) if a.dtype.kind in 'iufb' else np.asarray([], float)

def _check_figures(bundle:Path, ev:pd.DataFrame)->int:
    "Check every figure of every report of `bundle` against its source data (`ev`: the eval set); the number of checks"
    b = json.loads((bundle/'bundle.json').read_text())
    cp = bundle/'thresholds-baseline'/'curves.csv'  # absent when the set has one class: no curve is drawn
    curves = pd.read_csv(cp) if cp.exists() else None
    scores = pd.read_parquet(bundle/'scores'/'baseline.parquet')
    residuals = {float(r['residual']) for r in b['parts']['usecase']['summary']['register']}
    key = lambda t: (np.nan_to_num(t[0], nan=-1), np.nan_to_num(t[1], nan=-1))
    pair = lambda x, y: np.array(sorted(zip(x, y), key=key))
    checked = 0
    for page in [bundle/n/'report.html' for n in b['parts']] + [bundle/'index.html']:
        for spec in _specs(page.read_text()):
            title = str(((spec.get('layout') or {}).get('title') or {}).get('text') or '')
            for tr in spec.get('data') or []:
                where = f"{page.relative_to(bundle)} / {title} / {tr.get('name')}"
                arrs = {k: _num(tr[k]) for k in ('x', 'y', 'z') if k in tr}
                for k, a in arrs.items():
                    big = np.abs(np.nan_to_num(a)) >= 1e6
                    assert not np.isinf(a).any() and not big.any(), (where, k, a[big][:5])
                if tr.get('name') in ('ROC', 'PR'): assert curves is not None, where  # a curve drawn from no sweep
                if title.startswith('ROC') and tr.get('name') == 'ROC':
                    np.testing.assert_allclose(pair(arrs['x'], arrs['y']), pair(curves.fpr, curves.recall),
                                               err_msg=where)
                    checked += 1
                elif title.startswith('Precision') and tr.get('name') == 'PR':
                    np.testing.assert_allclose(pair(arrs['x'], arrs['y']), pair(curves.recall, curves.precision),
                                               err_msg=where)
                    checked += 1
                elif title == 'Scores by label':
                    lab = {'benign': 0, 'unsafe': 1}[tr['name']]
                    assert ((arrs['x'] >= 0) & (arrs['x'] <= 1)).all(), where
                    assert arrs['y'].sum() == (scores.label == lab).sum(), where; checked += 1
                elif title.startswith('Text length'):
                    lab = {'benign': 0, 'unsafe': 1}[tr['name']]
                    assert sorted(arrs['x']) == sorted(ev.loc[ev.label == lab, 'text'].str.len()), where; checked += 1
                elif re.search(r'recall|false refusal|AUC|rate', f"{title} {tr.get('name')}", re.I) \
                        and 'relative' not in title:
                    for k in ('y', 'z'):
                        a = arrs.get(k, np.asarray([]))
                        assert ((a[~np.isnan(a)] >= 0) & (a[~np.isnan(a)] <= 1)).all(), (where, k, a); checked += 1
                elif title.startswith('Residual risk by hazard'):
                    z = arrs['z'][~np.isnan(arrs['z'])]
                    assert len(z) and set(z.tolist()) <= residuals, (where, set(z.tolist()) - residuals); checked += 1
    return checked

def test_figures_decode_to_the_source_data(tmp_path, two_sets):
    """Every typed array of every figure in every report of the demo bundle (`riskbench demo`, the README's first
    command) and of a bundle of combined data: finite, in range, equal to the source where it is kept"""
    from riskbench.core import load_eval_set
    r = riskbench('demo', '--out', tmp_path/'demo')
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((tmp_path/'demo'/'bundle.json').read_text())['status'] == 'ok'
    assert _check_figures(tmp_path/'demo', load_eval_set(ROOT/'datasets'/'demo_prompts.jsonl')[0]) >= 20
    combined = two_sets[0]/'bundle'/'data'/'eval.parquet'
    assert _check_figures(two_sets[0]/'bundle', load_eval_set(combined)[0]) >= 8

def test_all_unsafe_set(small_eval, tmp_path):
    "A red-team set (every row unsafe) completes: recall measured at the policy's threshold, with its Wilson interval"
    from riskbench.core import load_eval_set
    ev, _ = load_eval_set(small_eval)
    ev = ev[ev.label == 1]
    (tmp_path/'unsafe.jsonl').write_text(ev.to_json(orient='records', lines=True, force_ascii=False))
    r = riskbench('assess', CARD, '--data', 'unsafe.jsonl', '--guard', 'baseline', '--out', 'bundle', cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path/'bundle'
    b = json.loads((out/'bundle.json').read_text())
    assert b['status'] == 'ok' and b['parts']['thresholds-baseline']['status'] == 'ok'
    pol = json.loads((out/'policies'/'baseline.json').read_text())
    scores = pd.read_parquet(out/'scores'/'baseline.parquet')
    n, k = len(scores), int((scores.score >= pol['threshold']).sum())
    z, p = 1.959963984540054, k / n  # Wilson score interval, by hand
    mid, half = (p + z*z/(2*n)) / (1 + z*z/n), z * np.sqrt(p*(1-p)/n + z*z/(4*n*n)) / (1 + z*z/n)
    rec = pol['metrics']['recall']
    assert n == len(ev) and rec['value'] == pytest.approx(p) and rec['low'] == pytest.approx(mid - half)
    assert rec['high'] == pytest.approx(mid + half)
    assert _check_figures(out, ev) >= 1


def test_all_unsafe_set_measured_at_the_cards_policy(small_eval, tmp_path):
    "A card guard with its own policy file: a one-class set is measured at that policy's threshold, not the default"
    from riskbench.core import load_eval_set
    from riskbench.thresholds import GuardPolicy
    ev, _ = load_eval_set(small_eval)
    (tmp_path/'unsafe.jsonl').write_text(ev[ev.label == 1].to_json(orient='records', lines=True, force_ascii=False))
    GuardPolicy(threshold=0.37, objective='max-recall-at-fpr').save(tmp_path/'baseline_policy.json')
    card = (ROOT/'datasets'/'usecases'/'customer_support.yaml').read_text(encoding='utf-8')
    card = card.replace('  - spec: llama-guard:meta-llama/Llama-Guard-3-8B\n    stage: both\n', '  - spec: baseline\n    policy: baseline_policy.json\n')
    card = card.replace('  - spec: prompt-guard:meta-llama/Llama-Prompt-Guard-2-86M\n    stage: input\n', '')
    (tmp_path/'card.yaml').write_text(card, encoding='utf-8')
    r = riskbench('assess', 'card.yaml', '--data', 'unsafe.jsonl', '--out', 'bundle', cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    pol = json.loads((tmp_path/'bundle'/'policies'/'baseline.json').read_text())
    assert pol['threshold'] == pytest.approx(0.37) and pol['threshold_source'] == 'card-policy', pol['rests_on']


DEMO_MODEL = 'python:riskbench.system:demo_model'


def test_bundle_evaluates_the_product_end_to_end(small_eval, tmp_path):
    "--model adds a system part (first guard on both sides, at its thresholds policy); the register reads its summary"
    out = tmp_path/'m'
    r = riskbench('assess', CARD, '--data', small_eval, '--guard', 'baseline', '--model', DEMO_MODEL, '--out', out)
    assert r.returncode == 0, r.stdout + r.stderr
    b = json.loads((out/'bundle.json').read_text())
    names = list(b['parts'])
    assert names.index('thresholds-baseline') < names.index('system') < names.index('usecase')
    sp = b['parts']['system']
    assert sp['status'] == 'ok' and sp['template'] == 'system_evaluation', sp.get('error')
    assert sp['params'] == dict(data='@data', model=DEMO_MODEL, input_guard='baseline', policy='@policy:baseline',
                                output_guard='baseline')
    assert sp['manifest']['parameters']['policy'] == str(out/'policies'/'baseline.json')   # the thresholds part's policy
    s = json.loads((out/'system'/'summary.json').read_text())
    for k in ('false_refusal_rate', 'violation_rate'):
        assert {'value', 'low', 'high', 'n'} <= set(s['system'][k]), k
    assert s['system']['violation_rate']['n'] == int(pd.read_json(small_eval, lines=True)['label'].sum())
    # its warnings are collected like every part's (no judge: the violation rate is an upper bound)
    assert s['warnings'] and all({**w, 'part': 'system'} in b['warnings'] for w in s['warnings'])
    # the bundle's card names the model it evaluated; the usecase part read the system summary
    assert DEMO_MODEL in (out/'usecase.yaml').read_text()
    assert b['parts']['usecase']['manifest']['parameters']['system_summary'] == str(out/'system'/'summary.json')
    us = b['parts']['usecase']['summary']
    measured = {g['group']: g for g in s['groups']['category'] if g['unsafe'] >= 10}
    assert measured
    reg = {(x['hazard'], x['surface']): x for x in us['register'] if not x['language']}
    for h, g in measured.items():
        for sf in ('user_input', 'model_output'):
            if (h, sf) not in reg: continue
            x = reg[(h, sf)]
            assert x['residual_source'] == 'measured', (h, sf, x['evidence'])
            assert f"{g['unsafe']} unsafe rows, end to end" in x['evidence'] and f"{g['violation_high']:.1%}]" in x['evidence']
    e2e = next(c for c in us['checklist'] if c['item'].startswith('Evaluated end to end'))
    assert e2e['status'] == 'done'
    assert 'End to end (input guard → model → output guard)' in (out/'index.html').read_text()


def test_plan_adds_the_system_part_for_a_product_model(tmp_path):
    from riskbench import bundle as B
    from riskbench.core import BadParameter
    names = lambda parts: [p.name for p in parts]
    parts, _, inputs = B.plan(CARD, guards=['baseline'])
    assert 'system' not in names(parts) and inputs['model'] is None
    assert 'system_summary' not in parts[-1].params
    card = tmp_path/'card.yaml'
    card.write_text("name: t\nlanguages: [en]\nmodel: {base: meta-llama/Llama-3.1-8B-Instruct, spec: 'responses:r.jsonl'}\n"
                    "guards: [baseline, 'llama-guard:meta-llama/Llama-Guard-3-8B']\n")
    parts, guards, inputs = B.plan(card)
    sp, up = parts[names(parts).index('system')], parts[-1]
    assert names(parts)[-3:] == ['system', 'guard_comparison', 'usecase'] and 'system' in up.needs  # two guards: compared
    assert inputs['model'] == f"responses:{tmp_path/'r.jsonl'}"       # the card's relative path, from its folder
    assert sp.params == dict(data='@data', model=inputs['model'], input_guard='baseline', policy='@policy:baseline',
                             output_guard='baseline') and sp.needs == ('thresholds-baseline',)
    assert up.params['system_summary'] == '@summary:system'
    (tmp_path/'system').mkdir()
    ctx = dict(data='d', card='c', failed=[])
    assert B._fill(up.params, tmp_path, ctx)['system_summary'] == ''            # no summary written: nothing read
    (tmp_path/'system'/'summary.json').write_text('{}')
    assert B._fill(up.params, tmp_path, ctx)['system_summary'] == str(tmp_path/'system'/'summary.json')
    with pytest.raises(BadParameter, match="--model 'gpt-4o': expected"): B.plan(CARD, model='gpt-4o')
    r = riskbench('assess', CARD, '--model', 'gpt-4o', '--out', tmp_path/'x')
    assert r.returncode == 2 and "--model 'gpt-4o'" in r.stderr and not (tmp_path/'x').exists()

def test_a_part_run_without_its_failed_input_is_said():
    "A part that completed although the part it reads (the thresholds policy) failed gets evidence_missing naming it"
    from riskbench.bundle import bundle_warnings
    parts = {'thresholds-baseline': dict(template='guard_thresholds', status='failed', error='BadParameter: x', params={}),
             'system': dict(template='system_evaluation', status='ok', params={}, summary={'warnings': []},
                            needs=['scores:baseline', 'thresholds-baseline']),
             'bias-baseline': dict(template='guard_bias', status='ok', params={}, needs=['scores:baseline'])}
    ws = bundle_warnings(parts, {'baseline': dict(status='ok', spec='baseline')})
    mine = [w for w in ws if w.get('part') == 'system']
    assert len(mine) == 1 and mine[0]['code'] == 'evidence_missing' and mine[0]['inputs'] == ['thresholds-baseline']
    assert 'did not measure the assessment' in mine[0]['message']
    assert not [w for w in ws if w.get('part') == 'bias-baseline']   # its only input, the scores, were made

def test_assess_reads_a_public_set_by_name(tmp_path, monkeypatch):
    "`--data xstest:FILE` with a relative FILE is planned as the set's local copy, its name kept"
    from riskbench.bundle import plan
    from test_evalsets import XSTEST
    (tmp_path/'xstest_prompts.csv').write_text(XSTEST)
    monkeypatch.chdir(tmp_path)
    parts, guards, inputs = plan('bundled:usecases/customer_support.yaml', data=['xstest:xstest_prompts.csv'])
    assert inputs['data'] == [f"xstest:{tmp_path/'xstest_prompts.csv'}"], inputs['data']
    assert any(p.template == 'guard_thresholds' for p in parts)


# --- the parts a card's own fields ask for (guard comparison, red team, privacy, compliance), wired by plan() ---

BASE_TEMPLATES = ['data_audit', 'dataset_overview', 'guard_bias', 'guard_thresholds', 'multilingual_coverage',
                  'system_evaluation', 'usecase_assessment']


def _plan_with(monkeypatch, tmp_path, extra_card, templates, **kw):
    "plan() on a card with `extra_card` fields, as if only `templates` were installed (their parameters not read)"
    from riskbench import bundle as B
    monkeypatch.setattr(B, 'template_names', lambda: list(templates))
    (tmp_path/'ft.jsonl').write_text('{"text": "a", "label": 0}\n'); (tmp_path/'ho.jsonl').write_text('{"text": "b"}\n')
    card = tmp_path/'card.yaml'
    card.write_text("name: t\nlanguages: [en]\nguards: [baseline, 'llama-guard:meta-llama/Llama-Guard-3-8B']\n" + extra_card)
    return B.plan(card, **kw)


FULL = ("model: {base: meta-llama/Llama-3.1-8B-Instruct, spec: 'python:riskbench.system:demo_model'}\n"
        "redteam: {techniques: [base64, roleplay]}\nprivacy: {train: ft.jsonl, heldout: ho.jsonl, base: 'hf:b'}\n"
        "frameworks: [eu-ai-act, owasp-llm]\n")


def test_plan_wires_the_card_parts(monkeypatch, tmp_path):
    templates = BASE_TEMPLATES + ['guard_comparison', 'redteam', 'privacy', 'compliance']
    parts, guards, inputs = _plan_with(monkeypatch, tmp_path, FULL, templates)
    P = {p.name: p for p in parts}
    names = [p.name for p in parts]
    assert names[-6:] == ['system', 'guard_comparison', 'redteam', 'privacy', 'usecase', 'compliance']
    s0, s1 = 'baseline', 'llama-guard-meta-llama-llama-guard-3-8b'
    assert P['guard_comparison'].params == dict(data='@data', scores=[f'@scores:{s0}', f'@scores:{s1}'],
                                               guards=['baseline', 'llama-guard:meta-llama/Llama-Guard-3-8B'],
                                               policies=[f'@policy:{s0}', f'@policy:{s1}'], cost=True)
    assert P['guard_comparison'].needs == (f'scores:{s0}', f'scores:{s1}', f'thresholds-{s0}', f'thresholds-{s1}')
    assert P['redteam'].params == dict(data='@data', guard='baseline', policy='@policy:baseline',
                                       techniques=['base64', 'roleplay'])
    assert P['redteam'].needs == ('thresholds-baseline',)
    assert P['privacy'].params == dict(model='python:riskbench.system:demo_model', train=str(tmp_path/'ft.jsonl'),
                                       heldout=str(tmp_path/'ho.jsonl'), base='hf:b') and P['privacy'].needs == ()
    assert P['compliance'].params == dict(bundle='@bundle', usecase='@card', frameworks=['eu-ai-act', 'owasp-llm'])
    assert set(P['compliance'].needs) == set(names) - {'compliance'}      # it reads the register: usecase included
    assert set(P['usecase'].needs) == set(names) - {'usecase', 'compliance'} and inputs['not_planned'] == []
    # the use case reads the red-team and privacy summaries (and the system's) of this bundle
    assert {k: P['usecase'].params.get(k) for k in ('system_summary', 'redteam_summary', 'privacy_summary')} == \
        dict(system_summary='@summary:system', redteam_summary='@summary:redteam', privacy_summary='@summary:privacy')


def test_plan_card_parts_absent_or_not_installed(monkeypatch, tmp_path):
    from riskbench import bundle as B
    parts, _, inputs = _plan_with(monkeypatch, tmp_path, FULL, BASE_TEMPLATES)   # the four templates are not there
    assert not {'guard_comparison', 'redteam', 'privacy', 'compliance'} & {p.name for p in parts}
    assert [x['part'] for x in inputs['not_planned']] == ['guard_comparison', 'redteam', 'privacy', 'compliance']
    assert not {'redteam_summary', 'privacy_summary'} & set(next(p for p in parts if p.name == 'usecase').params)
    ws = B.plan_warnings(inputs)
    assert [w['code'] for w in ws] == ['evidence_missing'] * 4
    assert ws[1]['message'] == 'part redteam was not run: its template redteam is not installed; nothing it would measure is credited'
    # a card without the fields asks for nothing; one guard: no comparison; no product model: privacy is said, not run
    all_t = BASE_TEMPLATES + ['guard_comparison', 'redteam', 'privacy', 'compliance']
    monkeypatch.setattr(B, 'template_names', lambda: all_t)
    plain = tmp_path/'plain.yaml'; plain.write_text("name: t\nlanguages: [en]\nmodel: m\nguards: [baseline]\n")
    parts, _, inputs = B.plan(plain)
    assert [p.name for p in parts][-2:] == ['languages-baseline', 'usecase'] and inputs['not_planned'] == []
    (tmp_path/'np.yaml').write_text("name: t\nlanguages: [en]\nmodel: m\nguards: [baseline]\nredteam: {}\n"
                                    f"privacy: {{train: {tmp_path/'ft.jsonl'}, heldout: {tmp_path/'ho.jsonl'}}}\n")
    parts, _, inputs = B.plan(tmp_path/'np.yaml')
    rt = next(p for p in parts if p.name == 'redteam')
    assert rt.params['techniques'] == [] and 'privacy' not in [p.name for p in parts]   # empty list: every technique
    assert inputs['not_planned'][0]['reason'].startswith('the card names no product model (model.spec)')


def test_plan_refuses_missing_privacy_data(monkeypatch, tmp_path):
    from riskbench.core import BadFile
    with pytest.raises(BadFile, match='privacy.train of the card'):
        _plan_with(monkeypatch, tmp_path, FULL.replace('ft.jsonl', 'missing.jsonl'),
                   BASE_TEMPLATES + ['privacy'])


def test_fill_replaces_placeholders_in_lists(tmp_path):
    from riskbench.bundle import _fill
    (tmp_path/'policies').mkdir(); (tmp_path/'policies'/'a.json').write_text('{}')
    got = _fill(dict(scores=['@scores:a', '@scores:b'], policies=['@policy:a', '@policy:b'], guards=['x', 'y'],
                     bundle='@bundle', data='@data'), tmp_path, dict(data='D', card='C', failed=[]))
    assert got == dict(scores=[str(tmp_path/'scores'/'a.parquet'), str(tmp_path/'scores'/'b.parquet')],
                       policies=[str(tmp_path/'policies'/'a.json'), ''], guards=['x', 'y'], bundle=str(tmp_path), data='D')


def test_card_copy_makes_privacy_paths_absolute(tmp_path):
    import yaml
    from riskbench.bundle import card_with_guards
    (tmp_path/'ft.jsonl').write_text('{}\n')
    c = tmp_path/'c.yaml'; c.write_text("name: t\nlanguages: [en]\nmodel: m\nprivacy: {train: ft.jsonl, heldout: ho.jsonl}\n")
    out = tmp_path/'b'; out.mkdir()
    d = yaml.safe_load(card_with_guards(c, ['baseline'], out).read_text())
    assert d['privacy']['train'] == str(tmp_path/'ft.jsonl')    # exists there: made absolute
    assert d['privacy']['heldout'] == str(tmp_path/'ho.jsonl')


# --- public eval sets in the bundle: each and combined, by the evidence they are (issue 14 item 6) ---

def test_suite_rates_by_hand_and_wilson_oracle():
    from statsmodels.stats.proportion import proportion_confint
    from riskbench.bundle import suite_rates
    # xstest (both): 3 benign (2 blocked at 0.5), 2 unsafe (1 blocked); or-bench-hard (false refusal): 4 benign, 1
    # blocked, 1 unscored; multijail (recall): 3 unsafe, all blocked; a row of another file is in no set
    rows = ([('xs', 0, s) for s in (.9, .6, .1)] + [('xs', 1, s) for s in (.7, .2)] +
            [('orb', 0, s) for s in (.8, .1, .2, .3, None)] + [('mj', 1, s) for s in (.5, .9, .99)] + [('own', 0, .9)])
    df = pd.DataFrame(rows, columns=['source', 'label', 'score'])
    t = suite_rates(df, 0.5, {'xs': 'xstest', 'orb': 'or-bench-hard-1k', 'mj': 'multijail'})
    got = {(r['set'], r['metric']): (r['rows'], r['blocked'], r['unscored']) for r in t.to_dict('records')}
    assert got == {('xstest', 'false_refusal_rate'): (3, 2, 0), ('xstest', 'recall'): (2, 1, 0),
                   ('or-bench-hard-1k', 'false_refusal_rate'): (4, 1, 1), ('multijail', 'recall'): (3, 3, 0),
                   ('combined', 'false_refusal_rate'): (7, 3, 1), ('combined', 'recall'): (5, 4, 0)}
    for r in t.to_dict('records'):
        lo, hi = proportion_confint(r['blocked'], r['rows'], alpha=0.05, method='wilson')
        assert r['value'] == pytest.approx(r['blocked'] / r['rows']) and (r['low'], r['high']) == pytest.approx((lo, hi))
    assert suite_rates(df, 0.5, {}).empty


def _bundle_with_rows(folder, ids, sha, sets=(('xstest', 'v2'),)):
    "A bundle.json record (and its score table) as assess writes them, for comparable()"
    (folder/'scores').mkdir(parents=True)
    pd.DataFrame(dict(id=ids, score=0.5)).to_parquet(folder/'scores'/'baseline.parquet')
    return dict(status='ok', parts={}, input_sha256=dict(data=sha * 64),
                evalsets=[dict(name=n, version=v, sha256=sha * 64) for n, v in sets],
                rows=dict(n=len(ids), ids_sha256=E_IDS(ids), table='scores/baseline.parquet'))


def test_comparable_names_sets_versions_rows_and_subsets(tmp_path):
    from riskbench.bundle import comparable
    from riskbench.core import BadParameter
    fa, fb = tmp_path/'a', tmp_path/'b'
    a = _bundle_with_rows(fa, ['1', '2', '3'], 'a')
    b = _bundle_with_rows(fb, ['1', '2'], 'b')
    with pytest.raises(BadParameter) as e: comparable(a, b, 'A', 'B', folders=(fa, fb))
    msg = str(e.value)
    assert msg.startswith("A and B were built from different eval data (SHA-256 differ): 3 vs 2 rows; row ids differ "
                          "(only in A: '3'; only in B: none)") and '\n' not in msg
    assert '(the 2 rows of B are a subset of the 3 rows of A: pass --subset to declare it)' in msg
    ws = comparable(a, b, 'A', 'B', subset=True, folders=(fa, fb))
    assert [(w['code'], w['subset']) for w in ws] == [('different_rows', True)]
    assert ws[0]['message'].startswith('the 2 rows of B are a subset of the 3 rows of A (declared with --subset)')
    with pytest.raises(BadParameter, match=r'different eval data \(SHA-256 differ\): 3 vs 2 rows; row ids differ \(SHA-256 of '
                       r'the ids'): comparable(a, b, 'A', 'B', subset=True)  # no folders: the ids' hashes, no subset
    v1 = {**b, 'evalsets': [dict(name='xstest', version='v1')]}
    with pytest.raises(BadParameter, match=r'SHA-256 differ\): version v2 vs v1; 3 vs 2 rows'):
        comparable(a, v1, 'A', 'B', subset=True, folders=(fa, fb))               # a subset of another version: refused
    mj = {**b, 'evalsets': [dict(name='multijail', version='1')]}
    ws = comparable(a, mj, 'A', 'B', force=True, folders=(fa, fb))
    assert [w['code'] for w in ws] == ['different_data'] and 'eval set xstest vs multijail' in ws[0]['message']
    assert comparable(a, {**a}, 'A', 'A2', folders=(fa, fa)) == []


def test_assess_reports_the_cards_public_sets(tmp_path):
    "A card's evalsets: local copies from settings.ini, each set and combined in the bundle, a missing one said loudly"
    from test_evalsets import XSTEST, MJ_LANGS
    from riskbench.core import file_sha256
    (tmp_path/'sets').mkdir()
    (tmp_path/'sets'/'xstest_prompts.csv').write_text(XSTEST)
    rows = [dict(id=i, source='anthropic', tags="['violence']", **{l: f'how to hurt someone {i} ({l})' for l in MJ_LANGS})
            for i in (1, 2)]
    pd.DataFrame(rows).to_csv(tmp_path/'sets'/'MultiJail.csv', index=False)
    ini = tmp_path/'settings.ini'
    ini.write_text("[riskbench]\ndevice = cpu\n\n[riskbench.evalsets]\nxstest = sets/xstest_prompts.csv\n"
                   "multijail = sets/MultiJail.csv\n")
    (tmp_path/'card.yaml').write_text("name: suites\nlanguages: [en]\nmodel: m\nguards: [baseline]\n"
                                      "evalsets: [xstest, multijail, or-bench]\n")
    r = riskbench('assess', 'card.yaml', '--out', 'b', cwd=tmp_path, env={'RISKBENCH_SETTINGS': str(ini)})
    b = json.loads((tmp_path/'b'/'bundle.json').read_text())   # (the bias part finds no identity group in these rows)
    assert r.returncode in (0, 1) and b['parts']['thresholds-baseline']['status'] == 'ok', r.stdout + r.stderr
    assert [(e['name'], e['version'], e['sha256']) for e in b['evalsets']] == [
        ('xstest', 'v2', file_sha256(tmp_path/'sets'/'xstest_prompts.csv')),
        ('multijail', E_VERSION('multijail'), file_sha256(tmp_path/'sets'/'MultiJail.csv'))]
    miss = [w for w in b['warnings'] if w.get('setting')]
    assert [(w['code'], w['evalset'], w['setting']) for w in miss] == [
        ('evidence_missing', 'or-bench-hard-1k', '[riskbench.evalsets] or-bench-hard-1k')]
    got = {(x['set'], x['metric']): x['rows'] for x in b['suites']['rows']}
    assert got == {('xstest', 'false_refusal_rate'): 3, ('xstest', 'recall'): 1, ('multijail', 'recall'): 20,
                   ('combined', 'false_refusal_rate'): 3, ('combined', 'recall'): 21}
    assert b['rows']['n'] == 24 and b['rows']['table'] == 'scores/baseline.parquet'
    assert 'warning: eval set or-bench-hard-1k is named in the card but has no local copy: add `or-bench-hard-1k = ' \
        'PATH` to the [riskbench.evalsets] section of' in r.stderr                      # said at once, not only in the bundle
    index = (tmp_path/'b'/'index.html').read_text()
    assert 'Public eval sets' in index and 'false_refusal_rate' in index and 'or-bench-hard-1k' in index


def E_VERSION(name):
    from riskbench.evalsets import evalset
    return str(evalset(name)['version'])


def E_IDS(ids):
    from riskbench.evalsets import ids_sha256
    return ids_sha256(ids)


def test_index_shows_open_decisions_first(tmp_path):
    "With a decisions.yaml or signoff.json in the bundle folder, governance's decisions block opens the index"
    from riskbench.bundle import overview_cells, overview_html
    b = dict(riskbench='0', status='ok', usecase=dict(name='t'), started='2026-01-01T00:00:00', ended=None,
             seconds=1, parts={}, scoring={}, warnings=[])
    plain = overview_html(b, tmp_path)
    assert 'Open decisions' not in plain and overview_cells(b, tmp_path) == overview_cells(b)
    (tmp_path/'decisions.yaml').write_text('decisions: []\n')
    page = overview_html(b, tmp_path)
    assert 'Open decisions (0)' in page and 'Sign-off: not signed off' in page
    assert page.index('Open decisions') < page.index('Every part of the bundle')
    kinds = overview_cells(b, tmp_path)
    assert kinds[0][0] == 'html' and kinds[0][1].startswith('<h2>Open decisions')
    (tmp_path/'decisions.yaml').unlink(); (tmp_path/'signoff.json').write_text('{"entries": "<b>x</b>"}')
    first = overview_cells(b, tmp_path)[0][1]   # a damaged sign-off is said first, escaped, and the index is still written
    assert first.startswith('<h2>Open decisions') and 'not a riskbench sign-off file' in first and '<b>x' not in first
