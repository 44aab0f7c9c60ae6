"Threshold tuning: numbers against scikit-learn and hand-worked cases, bootstrap coverage, policy, CLI, tuner widget, template"
import json, sys, types
import numpy as np, pandas as pd, pytest
from sklearn.metrics import roc_curve, precision_recall_curve, roc_auc_score, average_precision_score

from riskbench.core import RiskbenchError, BadColumn
from riskbench.thresholds import (sweep, auc_roc, average_precision, at_prevalence, choose_threshold, wilson_interval,
                                  bootstrap_metrics, group_thresholds, GuardPolicy, ThresholdTuner, tune_file, thresholds_cmd,
                                  scores_for_report, _bootstrap_thresholds)


def score_table(n=800, seed=0, p_th=0.03):
    r = np.random.default_rng(seed)
    y = (r.random(n) < 0.4).astype(int)
    lang = r.choice(['en', 'fr', 'th'], n, p=[0.6, 1 - 0.6 - p_th, p_th])
    cat = np.where(y == 1, r.choice(['S1', 'S2', 'S10'], n, p=[0.6, 0.37, 0.03]), None)
    s = np.round(np.clip(r.normal(0.3 + 0.35 * y, 0.15), 0, 1), 3)
    return pd.DataFrame(dict(id=[f'r{i}' for i in range(n)], text=[f'prompt <b>{i}</b>' for i in range(n)], label=y, score=s,
                             categories=[[c] if c else [] for c in cat], language=lang))


# ---- the numbers, against scikit-learn ----
@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('weighted', [False, True])
def test_sweep_equals_sklearn(seed, weighted):
    r = np.random.default_rng(seed)
    n = int(r.integers(20, 3000))
    y = r.integers(0, 2, n)
    s = np.round(r.random(n) * 0.6 + 0.3 * y, int(r.integers(1, 4)))   # 1-3 decimals: many ties
    if seed % 2: s = s.astype(np.float32)
    w = r.choice([0.0, 0.25, 1.0, 2.5], n) if weighted else None
    sw = sweep(y, s, w)
    fpr, tpr, th = roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    np.testing.assert_array_equal(sw.threshold.to_numpy()[::-1], th.astype(np.float64))
    np.testing.assert_allclose(sw.fpr.to_numpy()[::-1], fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sw.recall.to_numpy()[::-1], tpr, rtol=0, atol=1e-12)
    p, rc, th2 = precision_recall_curve(y, s, sample_weight=w, drop_intermediate=False)
    np.testing.assert_allclose(sw.precision.to_numpy(), p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sw.recall.to_numpy(), rc, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(sw.threshold.to_numpy()[:-1], th2.astype(np.float64))
    assert abs(auc_roc(y, s, w) - roc_auc_score(y, s, sample_weight=w)) < 1e-12
    assert abs(average_precision(y, s, w) - average_precision_score(y, s, sample_weight=w)) < 1e-12
    # counts and the other rates, by direct counting at a few thresholds
    ww = np.ones(n) if w is None else w
    for t in r.choice(sw.threshold.to_numpy()[:-1], 5):
        row = sw.iloc[int(np.searchsorted(sw.threshold.to_numpy(), t))]
        hit = s >= t
        assert row.tp == pytest.approx(ww[hit & (y == 1)].sum()) and row.fp == pytest.approx(ww[hit & (y == 0)].sum())
        assert row.fn == pytest.approx(ww[~hit & (y == 1)].sum()) and row.tn == pytest.approx(ww[~hit & (y == 0)].sum())
        prec = row.tp / (row.tp + row.fp)
        assert row.f1 == pytest.approx(2 * prec * row.recall / (prec + row.recall))
        assert row.miss_rate == pytest.approx(1 - row.recall) and row.specificity == pytest.approx(1 - row.fpr)


def test_one_class_and_bad_input_are_errors():
    with pytest.raises(BadColumn, match='one class only'): sweep([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(RiskbenchError, match='NaN'): sweep([0, 1], [0.1, np.nan])
    with pytest.raises(RiskbenchError, match='same length'): sweep([0, 1, 1], [0.1, 0.2])


# ---- operating points, by hand ----
Y10 = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0]); S10 = np.array([.95, .9, .8, .7, .6, .5, .4, .3, .2, .1])

@pytest.mark.parametrize('objective,kw,expected', [
    ('max-recall-at-fpr', dict(target_fpr=0.2), 0.7),     # 1 of 6 benign allowed: down to 0.7
    ('max-recall-at-fpr', dict(target_fpr=1/3), 0.7),     # 2 allowed: 0.6 adds a benign and no unsafe: min FPR keeps 0.7
    ('max-recall-at-fpr', dict(target_fpr=0.5), 0.4),     # 3 allowed: 0.4 reaches recall 1
    ('max-recall-at-fpr', dict(target_fpr=0.0), 0.95),
    ('min-fpr-at-recall', dict(target_recall=0.75), 0.7),
    ('min-fpr-at-recall', dict(target_recall=0.5), 0.7),      # 0.8 and 0.7 both refuse 1 benign: the higher recall wins
    ('min-fpr-at-recall', dict(target_recall=0.25), 0.95),
    ('min-fpr-at-recall', dict(target_recall=1.0), 0.4),
    ('max-f1', {}, 0.7),                                  # F1 6/8 at 0.7 vs 8/11 at 0.4
    ('max-fbeta', dict(beta=3.0), 0.4),                   # recall-heavy: F3 at 0.4 = 40/43 > at 0.7
    ('min-cost', dict(cost_miss=10, cost_false_refusal=1, prevalence=0.4), 0.4),
    ('min-cost', dict(cost_miss=1, cost_false_refusal=1, prevalence=0.4), 0.7),
    ('min-cost', dict(cost_miss=1, cost_false_refusal=100, prevalence=0.4), 0.95),
])
def test_operating_points_by_hand(objective, kw, expected):
    op = choose_threshold(sweep(Y10, S10), objective, **kw)
    assert op.threshold == expected
    assert isinstance(op.constraint, str) and op.constraint


def test_constraint_says_what_bound_and_cost():
    op = choose_threshold(sweep(Y10, S10), 'max-recall-at-fpr', target_fpr=0.2, prevalence=0.01)
    assert op.binding and '(0.4)' in op.constraint and '50.00%' in op.constraint   # 0.4 is the next threshold catching more
    assert op.cost['false_refusals'] == pytest.approx(10_000 * 0.99 / 6) and op.cost['misses'] == pytest.approx(10_000 * 0.01 / 4)
    loose = choose_threshold(sweep(Y10, S10), 'max-recall-at-fpr', target_fpr=0.9)
    assert not loose.binding and 'did not bind' in loose.constraint and loose.threshold == 0.4
    op2 = choose_threshold(sweep(Y10, S10), 'min-fpr-at-recall', target_recall=0.75)
    assert op2.binding and '(0.95)' in op2.constraint and '25.0%' in op2.constraint


def test_prevalence_by_hand():
    # threshold 0.7: recall 3/4, FPR 1/6. At 2% unsafe, per 10,000: 200 unsafe, 9,800 benign.
    dep = at_prevalence(sweep(Y10, S10), 0.02)
    row = dep[dep.threshold == 0.7].iloc[0]
    assert row.false_refusals == pytest.approx(9800 / 6)
    assert row.misses == pytest.approx(50)
    assert row.blocked == pytest.approx(150 + 9800 / 6)
    assert row.deployed_precision == pytest.approx(150 / (150 + 9800 / 6))
    assert at_prevalence(sweep(Y10, S10), 0.02, per=100).misses.iloc[-1] == pytest.approx(2)  # block nothing: every unsafe missed
    with pytest.raises(RiskbenchError): at_prevalence(sweep(Y10, S10), 0)


def test_wilson_by_hand():
    z = 1.959963984540054
    for k, n in [(8, 10), (1, 50), (37, 40), (500, 1000)]:
        p = k / n
        c = (p + z * z / (2 * n)) / (1 + z * z / n); h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        assert wilson_interval(k, n) == pytest.approx((c - h, c + h), abs=1e-12)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(0, 10)[0] == 0.0


# ---- bootstrap ----
def test_bootstrap_coverage_by_simulation():
    "Nominal 95% percentile intervals for recall, FPR and precision cover the population values 92-98% of the time"
    r = np.random.default_rng(123)
    sims, n_pos, n_neg, t = 400, 150, 250, 0.5
    # population: unsafe scores ~ U(0.2, 1) -> recall at 0.5 = 0.625; benign ~ U(0, 0.7) -> FPR = 2/7
    true = dict(recall=0.5 / 0.8, fpr=0.2 / 0.7)
    true['precision'] = true['recall'] * n_pos / (true['recall'] * n_pos + true['fpr'] * n_neg)  # at the stratified design's mix
    cover = {k: 0 for k in true}
    for i in range(sims):
        s = np.r_[r.uniform(0.2, 1, n_pos), r.uniform(0, 0.7, n_neg)]; y = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
        bm = bootstrap_metrics(y, s, t, n_boot=400, seed=i)
        for k, v in true.items(): cover[k] += bm.loc[k, 'low'] <= v <= bm.loc[k, 'high']
    for k, c in cover.items(): assert 0.92 <= c / sims <= 0.98, (k, c / sims)


@pytest.mark.parametrize('stratified', [True, False])
def test_bootstrap_threshold_matches_a_loop(stratified):
    "The vectorised threshold bootstrap has the distribution of a plain loop: resample rows, sweep, choose"
    r = np.random.default_rng(7)
    y = (r.random(300) < 0.4).astype(int); s = np.round(np.clip(r.normal(0.3 + 0.3 * y, 0.15), 0, 1), 2)
    B = 600
    fast = _bootstrap_thresholds(y, s, B, np.random.default_rng(1), stratified, 'max-recall-at-fpr',
                                 dict(target_fpr=0.1, target_recall=0.9, beta=1.0, cost_miss=10.0, cost_false_refusal=1.0, prevalence=None))
    rl, slow = np.random.default_rng(2), []
    ip, ineg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    for _ in range(B):
        idx = np.r_[rl.choice(ip, len(ip)), rl.choice(ineg, len(ineg))] if stratified else rl.integers(0, len(y), len(y))
        sw = sweep(y[idx], s[idx])
        # the fast path reports grid thresholds: the lowest distinct score of the full data above the replicate's cut
        slow.append(sw.threshold.iloc[choose_threshold(sw, 'max-recall-at-fpr', target_fpr=0.1).index])
    slow = np.array(slow)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert abs(np.quantile(fast, q) - np.quantile(slow, q)) <= 0.021, q
    # and the fixed-threshold metrics agree with a loop of scikit-learn calls
    bm = bootstrap_metrics(y, s, 0.45, n_boot=2000, seed=0, stratified=stratified)
    from sklearn.metrics import recall_score
    loop = [recall_score(y[i], s[i] >= 0.45) for i in (
        (np.r_[rl.choice(ip, len(ip)), rl.choice(ineg, len(ineg))] if stratified else rl.integers(0, len(y), len(y))) for _ in range(2000))]
    assert bm.loc['recall', 'low'] == pytest.approx(np.percentile(loop, 2.5), abs=0.015)
    assert bm.loc['recall', 'high'] == pytest.approx(np.percentile(loop, 97.5), abs=0.015)



@pytest.mark.parametrize('stratified', [True, False])
@pytest.mark.parametrize('objective,targets', [('max-recall-at-fpr', dict(target_fpr=0.25)), ('max-recall-at-fpr', dict(target_fpr=0.0)),
                                               ('min-fpr-at-recall', dict(target_recall=0.6)), ('min-fpr-at-recall', dict(target_recall=1.0))])
def test_bootstrap_threshold_exact_distribution(stratified, objective, targets):
    """On a tiny set every resample can be enumerated: the exact distribution of the chosen threshold (the sweep's choice on the
    full data's grid, checked against scikit-learn's roc_curve and choose_threshold per resample) against the sampler, chi-square"""
    import itertools
    from scipy.stats import chi2
    from sklearn.metrics import roc_curve
    from riskbench.thresholds import _choose_index
    if stratified: y, s = np.array([0, 0, 0, 0, 1, 1, 1]), np.array([0.1, 0.3, 0.5, 0.6, 0.3, 0.55, 0.8])
    else: y, s = np.array([0, 0, 0, 1, 1]), np.array([0.1, 0.5, 0.6, 0.3, 0.8])
    ip, ineg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    resamples = ([np.r_[a, b] for a in itertools.product(ip, repeat=len(ip)) for b in itertools.product(ineg, repeat=len(ineg))]
                 if stratified else [np.array(i) for i in itertools.product(range(len(y)), repeat=len(y))])
    T = dict(target_fpr=0.05, target_recall=0.9, beta=1.0, cost_miss=10.0, cost_false_refusal=1.0, prevalence=None) | targets
    grid = np.r_[np.unique(s), np.inf]
    pmf, seen = {}, {}
    for idx in resamples:
        key = tuple(np.sort(idx))
        if key in seen: pmf[seen[key]] += 1; continue  # the same multiset of rows: the same choice
        yb, sb = y[idx], s[idx]
        tp = (sb[yb == 1][:, None] >= grid).sum(0); fp = (sb[yb == 0][:, None] >= grid).sum(0)
        with np.errstate(divide='ignore', invalid='ignore'):
            j = int(_choose_index(tp, fp, tp[0], fp[0], objective, **T))
        t = seen[key] = grid[j]; pmf[t] = pmf.get(t, 0) + 1
        if yb.min() == yb.max(): continue  # one class (unstratified only): no sweep, but the estimator still picks
        op = choose_threshold(sweep(yb, sb), objective, **targets)
        assert (op.metrics['tp'], op.metrics['fp']) == (tp[j], fp[j])  # the same operating point as on the resample's own grid
        if objective == 'max-recall-at-fpr':
            fpr, tpr, thr = roc_curve(yb, sb, drop_intermediate=False)
            ok = fpr <= targets['target_fpr']; best = tpr[ok].max()
            assert (thr[ok & (tpr == best)].max() if best > 0 else np.inf) == t
    B = 200_000
    got = _bootstrap_thresholds(y, s, B, np.random.default_rng(3), stratified, objective, T)
    keys = sorted(pmf); obs = np.array([(got == k).sum() for k in keys])
    assert obs.sum() == B  # nothing outside the exact support
    exp = np.array([pmf[k] for k in keys]) / len(resamples) * B
    assert chi2.sf(((obs - exp) ** 2 / exp).sum(), len(keys) - 1) > 0.001, (keys, obs, exp.round())

# ---- groups and the policy ----
def test_group_thresholds_fallback_and_own():
    df = score_table(1500)
    g = group_thresholds(df, 'category', 'max-recall-at-fpr', min_support=30, target_fpr=0.05)
    v = g['values']
    assert v['S10']['fallback'] and v['S10']['threshold'] == g['global_threshold'] and 'min_support 30' in v['S10']['reason']
    assert not v['S1']['fallback']
    d = df[(df.label == 0) | df.categories.map(lambda c: 'S1' in c)]
    assert v['S1']['threshold'] == choose_threshold(sweep(d.label, d.score), 'max-recall-at-fpr', target_fpr=0.05).threshold
    assert v['S1']['n'] == len(d)


def test_policy_json_round_trip_and_contract(tmp_path):
    df = score_table(1500)
    pol = GuardPolicy.from_table(df, 'max-recall-at-fpr', target_fpr=0.05, by='category', min_support=30, n_boot=200,
                                 input_sha256='abc', guard={'spec': 'baseline'})
    p = pol.save(tmp_path / 'policy.json')
    d = json.loads(p.read_text())  # strict JSON
    for k in ('threshold', 'objective', 'constraint', 'metrics', 'auc_roc', 'average_precision', 'n_rows', 'n_unsafe', 'input_sha256',
              'guard', 'prevalence', 'per_category', 'per_language', 'groups'):
        assert k in d, k
    for k in ('recall', 'fpr', 'precision', 'f1', 'miss_rate', 'false_refusal_rate'):
        assert set(d['metrics'][k]) == {'value', 'low', 'high'} and d['metrics'][k]['low'] <= d['metrics'][k]['value'] <= d['metrics'][k]['high']
    assert set(d['per_category']['S1']) == {'n_unsafe', 'recall', 'miss_rate'}
    assert set(d['per_language']['en']) == {'n', 'n_unsafe', 'recall', 'miss_rate', 'false_refusal_rate'}
    assert d['groups']['by'] == 'category' and d['groups']['min_support'] == 30
    assert set(d['groups']['values']['S1']) >= {'threshold', 'fallback', 'n', 'metrics'}
    assert d['auc_roc'] == pytest.approx(roc_auc_score(df.label, df.score), abs=1e-12)
    back = GuardPolicy.load(p)
    assert back.to_dict() == pol.to_dict()
    t1 = pol.groups['values']['S1']['threshold']
    dec = back.decide([t1, t1 - 1e-9, 0.999, 0.0], categories=[['S1'], ['S1'], ['S10'], []])
    assert [x['decision'] for x in dec] == ['block', 'allow', 'block', 'allow']
    assert dec[0]['group'] == 'S1' and 'category S1' in dec[0]['reason']
    assert dec[2]['group'] == 'global' and 'fell back' in dec[2]['reason']
    assert back.decide(0.5)[0]['group'] == 'global'
    with pytest.raises(RiskbenchError): back.decide([np.nan])
    (tmp_path / 'bad.json').write_text('{"objective": 1}')
    with pytest.raises(RiskbenchError, match='threshold'): GuardPolicy.load(tmp_path / 'bad.json')


def test_per_language_evidence_at_the_threshold():
    df = score_table(1000)
    pol = GuardPolicy.from_table(df, 'max-f1', n_boot=100)
    en = df[df.language == 'en']; hit = en.score >= pol.threshold
    e = pol.info['per_language']['en']
    assert e['n'] == len(en) and e['recall']['value'] == pytest.approx(hit[en.label == 1].mean())
    assert e['false_refusal_rate']['value'] == pytest.approx(hit[en.label == 0].mean())
    assert e['miss_rate']['high'] == pytest.approx(wilson_interval((~hit[en.label == 1]).sum(), (en.label == 1).sum())[1])


# ---- CLI ----
def test_cli_writes_policy(tmp_path, capsys):
    from riskbench.cli import main
    df = score_table(900); path = tmp_path / 's.parquet'; df.to_parquet(path)
    out = tmp_path / 'policy.json'
    rc = main(['thresholds', str(path), '--objective', 'min-fpr-at-recall', '--target-recall', '0.8', '--by', 'language',
               '--min-support', '40', '--prevalence', '0.02', '--n-boot', '100', '--out', str(out)])
    assert rc == 0
    d = json.loads(out.read_text())
    assert d['objective'] == 'min-fpr-at-recall' and d['metrics']['recall']['value'] >= 0.8 and d['prevalence'] == 0.02
    assert d['groups']['by'] == 'language' and d['groups']['values']['th']['fallback']
    from riskbench.core import file_sha256
    assert d['input_sha256'] == file_sha256(path) and d['n_rows'] == 900
    printed = capsys.readouterr().out
    assert 'threshold' in printed and '900 kept' in printed


def test_cli_errors(tmp_path, capsys):
    from riskbench.cli import main
    df = score_table(200)
    df.drop(columns='label').to_parquet(tmp_path / 'nolabel.parquet')
    assert main(['thresholds', str(tmp_path / 'nolabel.parquet'), '--out', str(tmp_path / 'x.json')]) == 2
    assert 'no label column' in capsys.readouterr().err
    df.assign(label=0).to_parquet(tmp_path / 'one.parquet')
    assert main(['thresholds', str(tmp_path / 'one.parquet'), '--out', str(tmp_path / 'x.json')]) == 2
    assert 'one class only' in capsys.readouterr().err
    df.drop(columns='score').to_parquet(tmp_path / 'noscore.parquet')
    assert main(['thresholds', str(tmp_path / 'noscore.parquet'), '--out', str(tmp_path / 'x.json')]) == 2
    assert "no column 'score'" in capsys.readouterr().err
    assert main(['thresholds', str(tmp_path / 'one.parquet'), '--objective', 'max-accuracy']) == 2
    assert not (tmp_path / 'x.json').exists()


def test_bad_scores_are_rejected_with_accounting(tmp_path):
    df = score_table(300).astype({'score': object})
    df.loc[3, 'score'] = 'high'; df.loc[4, 'score'] = 1.5; df.loc[5, 'score'] = None
    path = tmp_path / 's.jsonl'; df.to_json(path, orient='records', lines=True)
    pol = tune_file(path, n_boot=50)
    rep = pol.row_report
    assert (rep.read, rep.kept, rep.rejected) == (300, 297, 3)
    assert pol.info['n_rows'] == 297 and pol.info['rows']['rejected'] == 3
    assert any('not a number in [0, 1]' in r['reason'] for r in rep.rejects)


# ---- the tuner ----
def test_tuner_slider_moves_every_readout(tmp_path):
    df = score_table(1200)
    tun = ThresholdTuner(df, by='language', static=False, out=str(tmp_path / 'p.json'), n_boot=50)
    tun.widget()
    w = tun.w
    assert w['slider'].description == 'threshold' and w['export'].description == 'Export policy'
    assert 'rb-metrics' in w['metrics']._dom_classes and 'rb-confusion' in w['confusion']._dom_classes
    before = (w['metrics'].value, w['confusion'].value)
    sw = sweep(df.label, df.score)
    for t in (0.4321, 0.61, 0.2):
        w['slider'].value = t
        row = sw.iloc[int(np.searchsorted(sw.threshold.to_numpy(), t))]
        hit = df.score >= t
        assert row.tp == (hit & (df.label == 1)).sum()                          # the sweep row is the direct count
        assert f"data-cell='tp'>{int(row.tp):,}<" in w['confusion'].value and f"data-cell='fp'>{int(row.fp):,}<" in w['confusion'].value
        assert f"data-cell='tn'>{int(row.tn):,}<" in w['confusion'].value and f"data-cell='fn'>{int(row.fn):,}<" in w['confusion'].value
        assert f"<td data-metric='recall'>{row.recall:.1%}" in w['metrics'].value
        assert f"<td data-metric='fpr'>{row.fpr:.1%}" in w['metrics'].value
        assert w['figures']['roc'].data[1].x[0] == pytest.approx(row.fpr) and w['figures']['pr'].data[1].y[0] == pytest.approx(row.precision)
        assert w['figures']['histogram'].layout.shapes[0].x0 == pytest.approx(t)
        en = df[df.language == 'en']
        fr_rate = ((en.score >= tun.group_values['en']) & (en.label == 0)).sum() / (en.label == 0).sum()
        assert tun.state()['languages'].set_index('language').loc['en', 'false_refusal_rate'] == pytest.approx(fr_rate)
    assert (w['metrics'].value, w['confusion'].value) != before
    # a group slider, the dials, then the export button writes the policy at the sliders
    w['group_sliders']['fr'].value = 0.5
    w['prevalence'].value = 0.01
    assert '0.01' in w['dials'].value or '1.00%' in w['dials'].value
    w['slider'].value = 0.55
    w['export'].click()
    d = json.loads((tmp_path / 'p.json').read_text())
    assert d['threshold'] == pytest.approx(0.55) and d['objective'] == 'manual'
    assert d['groups']['values']['fr']['threshold'] == pytest.approx(0.5) and d['prevalence'] == pytest.approx(0.01)
    hit = df.score >= 0.55
    assert d['metrics']['recall']['value'] == pytest.approx(hit[df.label == 1].mean())
    assert 'policy written to' in w['status'].value


def test_tuner_static_and_escaping(monkeypatch):
    monkeypatch.setenv('IN_TEST', '1')
    df = score_table(300); df.loc[df.label == 0, 'text'] = '<img src=x onerror=alert(1)>'
    tun = ThresholdTuner(df)
    assert tun.static
    h = tun.nearest_html(0.0)
    assert '<img' not in h and '&lt;img' in h
    figs = tun.figures(0.5)
    assert set(figs) == {'roc', 'pr', 'histogram', 'groups'}


# ---- template ----
def _eval_set(tmp_path, n=400):
    df = score_table(n)
    p = tmp_path / 'eval.jsonl'; df.drop(columns='score').to_json(p, orient='records', lines=True)
    return df, p


def test_scores_for_report_scores_with_a_guard(tmp_path, monkeypatch):
    "With no score table, the eval set is scored through riskbench.guards (its contract: load_guard, score_table)"
    df, p = _eval_set(tmp_path)
    fake = types.ModuleType('riskbench.guards')
    class G:
        fingerprint = {'spec': 'fake', 'name': 'fake'}
    def score_table_(d, g):
        from riskbench.core import RowReport
        return d.assign(score=np.random.default_rng(0).random(len(d))), RowReport('scored', len(d), len(d))
    fake.load_guard = lambda spec: G(); fake.score_table = score_table_
    monkeypatch.setitem(sys.modules, 'riskbench.guards', fake)
    out, rep, src, fp = scores_for_report(str(p), '', 'fake')
    assert len(out) == len(df) and fp == {'spec': 'fake', 'name': 'fake'} and rep.kept == len(df)


def test_template_runs_under_papermill(tmp_path):
    from riskbench.report import run_template
    df, p = _eval_set(tmp_path, 500)
    df = df.assign(score=np.random.default_rng(1).random(len(df)) * 0.5 + 0.4 * df.label)
    from riskbench.core import save_table
    sp = save_table(df, tmp_path / 'scores.parquet', {'guard': {'spec': 'baseline', 'version': 'test'}})
    r = run_template('guard_thresholds', {'data': str(p), 'scores': str(sp), 'n_boot': 100, 'group_by': 'language',
                                          'objective': 'max-f1'}, tmp_path / 'out')
    assert r.ok, r.error
    s = json.loads((tmp_path / 'out' / 'summary.json').read_text())
    pol = json.loads((tmp_path / 'out' / 'policy.json').read_text())
    assert s['policy']['threshold'] == pol['threshold'] and pol['objective'] == 'max-f1' and pol['groups']['by'] == 'language'
    assert pol['guard'] == {'spec': 'baseline', 'version': 'test'}
    assert (tmp_path / 'out' / 'curves.csv').exists()
    html = (tmp_path / 'out' / 'report.html').read_text()
    assert 'rb-plotly' in html and '<b>1</b>' not in html   # figures drawn; dataset text escaped
