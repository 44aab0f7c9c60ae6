"Threshold tuning: numbers against scikit-learn and hand-worked cases, bootstrap coverage, policy, CLI, tuner widget, template"
import json, os, sys, types
import numpy as np, pandas as pd, pytest
from sklearn.metrics import roc_curve, precision_recall_curve, roc_auc_score, average_precision_score

from riskbench.core import RiskbenchError, BadColumn
from riskbench.thresholds import (sweep, auc_roc, average_precision, at_prevalence, choose_threshold, wilson_interval,
                                  bootstrap_metrics, group_thresholds, GuardPolicy, tune_file, thresholds_cmd,
                                  scores_for_report, _bootstrap_thresholds)
from riskbench.tuner import ThresholdTuner


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


def test_wilson_matches_scipy_and_statsmodels_and_clips():
    "The one Wilson interval: scipy's binomtest(...).proportion_ci('wilson') (and statsmodels' when installed), in [0, 1]"
    from scipy.stats import binomtest
    try: from statsmodels.stats.proportion import proportion_confint
    except ImportError: proportion_confint = None
    ks, ns = [], []
    for n in (1, 2, 3, 7, 10, 37, 100, 1000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            ks.append(k); ns.append(n)
            for alpha in (0.05, 0.2):
                ref = binomtest(k, n).proportion_ci(1 - alpha, 'wilson')
                assert wilson_interval(k, n, alpha) == pytest.approx((ref.low, ref.high), abs=1e-12), (k, n, alpha)
                if proportion_confint is not None:
                    assert wilson_interval(k, n, alpha) == pytest.approx(proportion_confint(k, n, alpha, 'wilson'), abs=1e-12)
    lo, hi = wilson_interval(np.array(ks), np.array(ns))                 # vectorised: the same, clipped to [0, 1]
    assert lo.shape == (len(ks),) and (lo >= 0).all() and (hi <= 1).all() and (lo <= hi).all()
    np.testing.assert_allclose(np.array([wilson_interval(k, n) for k, n in zip(ks, ns)]), np.c_[lo, hi], atol=1e-15, rtol=0)
    assert np.isnan(wilson_interval(0, 0)).all()


def test_auc_roc_matches_sklearn_with_ties_and_from_a_sweep():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500); s = np.round(rng.random(500) * 0.6 + 0.3 * y, 2)   # many ties
    assert auc_roc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert auc_roc(sweep(y, s)) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


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
    df.drop(columns='score').to_parquet(tmp_path / 'noscore.parquet')
    assert main(['thresholds', str(tmp_path / 'noscore.parquet'), '--out', str(tmp_path / 'x.json')]) == 2
    assert "no column 'score'" in capsys.readouterr().err
    df.to_parquet(tmp_path / 'ok.parquet')
    assert main(['thresholds', str(tmp_path / 'ok.parquet'), '--objective', 'max-accuracy']) == 2
    assert not (tmp_path / 'x.json').exists()


def test_bad_scores_are_rejected_with_accounting(tmp_path):
    "Rows the guard could not score are rejected with accounting; a score outside [0, 1] is an error for the column"
    df = score_table(300).astype({'score': object})
    df.loc[3, 'score'] = 'high'; df.loc[5, 'score'] = None
    path = tmp_path / 's.jsonl'; df.to_json(path, orient='records', lines=True)
    pol = tune_file(path, n_boot=50)
    rep = pol.row_report
    assert (rep.read, rep.kept, rep.rejected) == (300, 298, 2)
    assert pol.info['n_rows'] == 298 and pol.info['rows']['rejected'] == 2 and pol.info['unscored'] == 2
    assert any('the guard did not score this row' in r['reason'] for r in rep.rejects)
    df.loc[4, 'score'] = 1.5
    df.to_json(path, orient='records', lines=True)
    with pytest.raises(BadColumn, match=r"column 'score': 1 score\(s\) outside \[0, 1\], first 1.5 at row 5 \(id 'r4'\)"):
        tune_file(path, n_boot=50)


# ---- the tuner ----
def test_tuner_slider_moves_every_readout(tmp_path):
    df = score_table(1200)
    tun = ThresholdTuner(df, by='language', static=False, out=str(tmp_path / 'p.json'), n_boot=50)
    tun.widget()
    w = tun.w
    assert w['slider'].description == 'threshold' and w['export'].description == 'Export policy'
    assert 'rb-metrics' in w['metrics']._dom_classes and 'rb-confusion' in w['confusion']._dom_classes
    before = (w['metrics'].value, w['confusion'].value)
    own = {g: v['threshold'] for g, v in tun.groups['values'].items() if not v['fallback']}
    assert set(own) == {'en', 'fr'}                                              # th (3%) falls back to the global slider
    for t in (0.4321, 0.61, 0.2):
        w['slider'].value = t
        t_row = df.language.map(own).fillna(t).to_numpy()                        # each row at the threshold the policy applies
        hit = df.score.to_numpy() >= t_row
        tp, fp = int((hit & (df.label == 1)).sum()), int((hit & (df.label == 0)).sum())
        row = pd.Series(dict(tp=tp, fp=fp, tn=int((df.label == 0).sum()) - fp, fn=int((df.label == 1).sum()) - tp,
                             recall=tp / (df.label == 1).sum(), fpr=fp / (df.label == 0).sum(), precision=tp / (tp + fp)))
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
    hit = df.score.to_numpy() >= df.language.map({'en': own['en'], 'fr': 0.5}).fillna(0.55).to_numpy()   # the policy's own decisions
    assert d['metrics']['recall']['value'] == pytest.approx(hit[df.label == 1].mean())
    assert d['metrics']['fpr']['value'] == pytest.approx(hit[df.label == 0].mean())
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


def test_unscored_reason_reads_plainly():
    "A NaN score is rejected as 'score missing', never as 'np.float64(nan)' (34 x score np.float64 in the reasons)"
    from riskbench.core import RowReport
    from riskbench.thresholds import validate_scores
    df = pd.DataFrame({'id': ['a', 'b', 'c'], 'label': [1, 0, 1], 'score': [0.9, np.float64('nan'), 'x']})
    rep = RowReport('t', 3, 3)
    validate_scores(df, rep)
    reasons = rep.rejected_rows()['reason'].tolist()
    assert reasons[0].startswith('score missing is not a number') and reasons[1].startswith("score 'x' is not a number"), reasons
    assert not any('np.' in r for r in reasons)


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
    assert s['policy']['threshold'] == pol['threshold']
    assert pol['objective'] == 'max-f1'
    assert pol['groups']['by'] == 'language'
    assert pol['guard'] == {'spec': 'baseline', 'version': 'test'}
    assert (tmp_path / 'out' / 'curves.csv').exists()
    html = (tmp_path / 'out' / 'report.html').read_text()
    assert 'rb-plotly' in html and '<b>1</b>' not in html   # figures drawn; dataset text escaped


# ---- issue 11 item 6: sets with one class are measured, not refused ----
def test_all_unsafe_set_measures_recall_at_the_default_given_or_card_threshold(tmp_path):
    df = score_table(600)
    red = df[df.label == 1].reset_index(drop=True)
    pol = GuardPolicy.from_table(red, n_boot=50)
    k, n = int((red.score >= 0.5).sum()), len(red)
    assert pol.threshold == 0.5 and pol.objective == 'guard-default' and pol.info['mode'] == 'measured'
    assert pol.info['one_class'] == 'unsafe' and pol.info['threshold_source'] == 'guard-default'
    assert pol.info['rests_on'] == f"the guard's default threshold 0.5, measured on {n} unsafe rows"
    assert pol.metrics['recall']['value'] == pytest.approx(k / n)
    r_ = pol.metrics['recall']
    assert (r_['low'], r_['high']) == pytest.approx(wilson_interval(k, n), abs=1e-12)
    # not measured, never credited
    assert pol.metrics['fpr']['value'] is None and pol.metrics['precision']['value'] is None
    assert [w['code'] for w in pol.info['warnings']] == ['one_class_set']
    assert '`threshold`' in pol.info['warnings'][0]['message']
    s1 = red[red.categories.map(lambda c: 'S1' in c)]
    assert pol.info['per_category']['S1']['recall']['value'] == pytest.approx((s1.score >= 0.5).mean())
    given = GuardPolicy.from_table(red, threshold=0.7, threshold_source='given', n_boot=50)
    assert given.objective == 'given' and given.metrics['recall']['value'] == pytest.approx((red.score >= 0.7).mean())
    card = GuardPolicy(0.4, 'max-f1', '', {}, None, {})
    at_card = GuardPolicy.from_table(red, policy=card, n_boot=50)
    assert at_card.info['threshold_source'] == 'card-policy'
    assert at_card.metrics['recall']['value'] == pytest.approx((red.score >= 0.4).mean())
    by_lang = GuardPolicy.from_table(red, by='language', n_boot=50)
    assert by_lang.groups is None and [w['code'] for w in by_lang.info['warnings']] == ['one_class_set', 'evidence_missing']
    # a guard that defines its own default
    fp = dict(spec='x', default_threshold=0.65)
    assert GuardPolicy.from_table(red, guard=fp, n_boot=50).threshold == 0.65


def test_all_benign_set_measures_false_refusals_and_the_cli_completes(tmp_path, capsys):
    from riskbench.cli import main
    df = score_table(400)
    benign = df[df.label == 0]
    path = tmp_path / 'benign.parquet'; benign.to_parquet(path)
    assert main(['thresholds', str(path), '--threshold', '0.6', '--out', str(tmp_path / 'p.json')]) == 0
    d = json.loads((tmp_path / 'p.json').read_text())
    k, n = int((benign.score >= 0.6).sum()), len(benign)
    assert d['one_class'] == 'benign' and d['threshold'] == 0.6 and d['threshold_source'] == 'given'
    assert d['rests_on'] == f"the given threshold 0.6, measured on {len(benign)} benign rows"
    assert d['metrics']['false_refusal_rate']['value'] == pytest.approx(k / n)
    assert d['metrics']['recall']['value'] is None
    assert d['metrics']['false_refusal_rate']['high'] == pytest.approx(wilson_interval(k, n)[1])
    assert 'warning: one_class_set' in capsys.readouterr().out


def test_template_on_an_all_unsafe_set_completes_with_recall_measured(tmp_path):
    from riskbench.report import run_template
    df = score_table(500); red = df[df.label == 1]
    p = tmp_path / 'red.jsonl'; red.to_json(p, orient='records', lines=True)
    r = run_template('guard_thresholds', {'scores': str(p), 'n_boot': 50}, tmp_path / 'out')
    assert r.ok, r.error
    s = json.loads((tmp_path / 'out' / 'summary.json').read_text())
    assert s['mode'] == 'measured' and s['threshold_source'] == 'guard-default'
    assert s['policy']['metrics']['recall']['value'] == pytest.approx((red.score >= 0.5).mean())
    assert 'one_class_set' in [w['code'] for w in s['warnings']]
    assert s['files'] == {'policy': 'policy.json', 'curves': None} and not (tmp_path / 'out' / 'curves.csv').exists()
    assert json.loads((tmp_path / 'out' / 'policy.json').read_text())['one_class'] == 'unsafe'
    assert 'No curves and no tuner' in (tmp_path / 'out' / 'report.html').read_text()


# ---- issue 11 item 8: degenerate operating points and the default prevalence ----
def test_degenerate_thresholds_are_flagged_with_the_parameter_to_set():
    df = score_table(800)
    # three unsafe rows the guard misses completely
    df.loc[df.index[df.label == 1][:3], 'score'] = 0.0
    everything = GuardPolicy.from_table(df, 'min-cost', cost_miss=1e6, cost_false_refusal=1, prevalence=0.5, n_boot=50)
    assert everything.metrics['fpr']['value'] >= 0.9
    w = [x for x in everything.info['warnings'] if x['code'] == 'degenerate_threshold']
    assert len(w) == 1 and 'refuses almost everything' in w[0]['message'] and '`cost_miss`' in w[0]['message']
    df.loc[df.index[df.label == 0][0], 'score'] = 1.0                          # a benign row at the top score
    nothing = GuardPolicy.from_table(df, 'min-cost', cost_miss=1, cost_false_refusal=1e6, prevalence=0.5, n_boot=50)
    assert nothing.metrics['recall']['value'] == 0 and nothing.metrics['fpr']['value'] == 0
    w = [x for x in nothing.info['warnings'] if x['code'] == 'degenerate_threshold']
    assert len(w) == 1 and 'blocks nothing' in w[0]['message'] and 'raise `cost_miss`' in w[0]['message']
    fine = GuardPolicy.from_table(df, 'max-recall-at-fpr', target_fpr=0.05, prevalence=0.02, n_boot=50)
    # given prevalence, sane point: nothing to say
    assert [x['code'] for x in fine.info['warnings']] == []
    default = GuardPolicy.from_table(df, 'max-recall-at-fpr', n_boot=50)
    w = [x for x in default.info['warnings'] if x['code'] == 'default_prevalence']
    assert len(w) == 1 and f"{(df.label == 1).mean():.1%}" in w[0]['message'] and w[0]['parameter'] == 'prevalence'
    assert default.info['prevalence_source'] == 'eval set' and fine.info['prevalence_source'] == 'given'


# ---- issue 11 item 5: a guard no better than chance ----
def test_worse_than_chance_guard_is_flagged_with_its_interval():
    df = score_table(600)
    inverted = df.assign(score=1 - df.score)
    pol = GuardPolicy.from_table(inverted, prevalence=0.1, n_boot=50, guard={'spec': 'inverted'})
    w = [x for x in pol.info['warnings'] if x['code'] == 'worse_than_chance']
    assert len(w) == 1 and w[0]['guard'] == 'inverted' and w[0]['auc'] < 0.5 and w[0]['auc_high'] < 0.5
    # AUC near 0.5, interval across it
    r = np.random.default_rng(3); noise = df.assign(score=np.round(r.random(len(df)), 3))
    pn = GuardPolicy.from_table(noise, prevalence=0.1, n_boot=50)
    a = pn.info['auc_interval']
    assert a['low'] < 0.5 < a['high'] and 'worse_than_chance' in [x['code'] for x in pn.info['warnings']]
    good = GuardPolicy.from_table(df, prevalence=0.1, n_boot=50)
    assert good.info['auc_interval']['low'] > 0.5
    assert 'worse_than_chance' not in [x['code'] for x in good.info['warnings']]


def test_auc_interval_is_delong_by_brute_force():
    "DeLong's variance from every unsafe-benign pair (O(mn)) against the mid-rank version; the AUC against scikit-learn"
    from riskbench.thresholds import auc_interval
    r = np.random.default_rng(11)
    for n in (12, 300):
        y = np.r_[np.ones(n // 3, int), np.zeros(n - n // 3, int)]; s = np.round(r.random(n) * 0.7 + 0.2 * y, 2)
        x, b = s[y == 1], s[y == 0]
        psi = (x[:, None] > b[None, :]) + 0.5 * (x[:, None] == b[None, :])
        se = np.sqrt(psi.mean(1).var(ddof=1) / len(x) + psi.mean(0).var(ddof=1) / len(b))
        auc, lo, hi = auc_interval(y, s)
        assert auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        h = 1.959963984540054 * se
        assert (lo, hi) == pytest.approx((max(0, psi.mean() - h), min(1, psi.mean() + h)), abs=1e-12)


# ---- issue 11 item 9: the tuner shows the policy it exports ----
def _snapped(v, lo, step): return lo + round((v - lo) / step) * step

def test_tuner_takes_browser_echoes_for_what_they_are(tmp_path):
    "The browser sends back the slider's step-rounded value: not a move, so the untouched tuner exports its objective"
    import math
    df = score_table(1200)
    tun = ThresholdTuner(df, 'max-recall-at-fpr', target_fpr=0.05, prevalence=0.4393, by='language', static=False,
                         out=str(tmp_path / 'p.json'), n_boot=50)
    tun.widget(); w = tun.w
    t0 = tun.threshold; g0 = dict(tun.group_values)
    w['slider'].value = _snapped(t0, 0, 0.001)
    w['prevalence'].value = 10 ** _snapped(math.log10(0.4393), -4, 0.01)          # 43.93% -> 43.65%
    for g, s_ in w['group_sliders'].items(): s_.value = _snapped(g0[g], 0, 0.001)
    assert tun.threshold == t0 and tun.prevalence == 0.4393 and tun.group_values == g0
    shown = tun.state()
    w['export'].click()
    d = json.loads((tmp_path / 'p.json').read_text())
    assert d['objective'] == 'max-recall-at-fpr' and d['threshold'] == t0 and d['prevalence'] == 0.4393
    assert d['metrics']['recall']['value'] == pytest.approx(shown['tp'] / tun.P)
    assert d['metrics']['fpr']['value'] == pytest.approx(shown['fp'] / tun.N)
    assert all(v['reason'] != 'set by hand in the tuner' for v in d['groups']['values'].values())
    w['slider'].value = 0.5                                                      # a real move is still a move
    assert tun.threshold == 0.5 and tun.policy().objective == 'manual'


def test_tuner_numbers_are_those_of_the_exported_policy_with_group_thresholds(tmp_path):
    df = score_table(1500, p_th=0.05)
    tun = ThresholdTuner(df, by='language', min_support=1, static=False, out=str(tmp_path / 'p.json'), n_boot=50)
    tun.widget()
    tun.w['group_sliders']['th'].value = 0.2                                    # Thai much stricter than the rest
    st = tun.state()
    pol = tun.policy()
    dec = pol.decide(df.score.to_numpy(), language=list(df.language))
    hit = np.array([x['decision'] == 'block' for x in dec])
    y = df.label.to_numpy()
    assert st['fp'] == int((hit & (y == 0)).sum()) and st['tp'] == int((hit & (y == 1)).sum())
    assert st['fp'] != int(((df.score >= tun.threshold) & (df.label == 0)).sum())   # not the global threshold alone
    assert pol.metrics['fpr']['value'] == pytest.approx(st['fp'] / tun.N)
    assert pol.metrics['recall']['value'] == pytest.approx(st['tp'] / tun.P)
    assert pol.info['cost']['false_refusals'] == pytest.approx(st['cost']['false_refusals'])
    assert f"data-cell='fp'>{st['fp']:,}<" in tun.w['confusion'].value
    assert tun.w['figures']['roc'].data[1].x[0] == pytest.approx(st['fp'] / tun.N)
    fr, mi = tun.nearest()
    t_of = {i: x['threshold'] for i, x in zip(df.id, dec)}
    assert len(fr)
    assert all(s >= t_of[i] for i, s in zip(fr.id, fr.score))
    assert all(s < t_of[i] for i, s in zip(mi.id, mi.score))
    all_fr, all_mi = tun.nearest(k=len(df))
    assert set(all_fr.id) == set(df.id[hit & (y == 0)]) and set(all_mi.id) == set(df.id[~hit & (y == 1)])
    assert any((all_fr.language == 'th') & (all_fr.score < tun.threshold))      # Thai false refusals at 0.2 are shown


def test_policy_file_top_level_figures_apply_group_thresholds():
    df = score_table(1500)
    for by, kw in (('language', dict(language=list(df.language))), ('category', dict(categories=list(df.categories)))):
        pol = GuardPolicy.from_table(df, 'max-recall-at-fpr', by=by, min_support=30, n_boot=50)
        dec = pol.decide(df.score.to_numpy(), **kw)
        hit = np.array([x['decision'] == 'block' for x in dec]); y = df.label.to_numpy()
        assert pol.metrics['recall']['value'] == pytest.approx(hit[y == 1].mean())
        assert pol.metrics['fpr']['value'] == pytest.approx(hit[y == 0].mean())
        fp_high = wilson_interval(int(hit[y == 0].sum()), int((y == 0).sum()))[1]
        assert pol.metrics['fpr']['high'] == pytest.approx(fp_high)
        g = (df.score >= pol.threshold).to_numpy()
        assert pol.info['at_global_threshold']['recall'] == pytest.approx(g[y == 1].mean())
        # the groups change decisions: the test can tell
        if by == 'language': assert (hit != g).any()


def test_cost_dials_reject_negative_and_nan():
    df = score_table(300)
    tun = ThresholdTuner(df, static=False, n_boot=50)
    for bad in (-1.0, float('nan'), float('inf')):
        with pytest.raises(RiskbenchError, match='cost-miss'): tun.set_dials(cost_miss=bad)
        with pytest.raises(RiskbenchError, match='cost-false-refusal'): tun.set_dials(cost_false_refusal=bad)
    assert (tun.cost_miss, tun.cost_false_refusal) == (10.0, 1.0)
    tun.widget()
    tun.w['cost_false_refusal'].value = float('nan')
    assert tun.cost_false_refusal == 1.0
    assert tun.w['cost_false_refusal'].value == 1.0
    assert 'cost-false-refusal' in tun.w['status'].value
    with pytest.raises(RiskbenchError, match='cost-miss'): ThresholdTuner(df, cost_miss=-5)
    with pytest.raises(RiskbenchError, match='cost-miss'):
        choose_threshold(sweep(df.label, df.score), 'min-cost', cost_miss=float('nan'))


# ---- issue 11 item 10: --by any column; no empty tables or chart; no -2.776e-17 ----
def test_by_any_column_in_the_cli_and_the_policy(tmp_path, capsys):
    from riskbench.cli import main
    df = score_table(900).assign(source=lambda d: np.where(np.arange(len(d)) % 3 == 0, 'redteam', 'traffic'))
    path = tmp_path / 's.parquet'; df.to_parquet(path)
    assert main(['thresholds', str(path), '--by', 'source', '--n-boot', '50', '--out', str(tmp_path / 'p.json')]) == 0
    d = json.loads((tmp_path / 'p.json').read_text())
    assert d['groups']['by'] == 'source' and set(d['groups']['values']) == {'redteam', 'traffic'}
    pol = GuardPolicy.load(tmp_path / 'p.json')
    t = {g: v['threshold'] for g, v in d['groups']['values'].items()}
    mid = (t['redteam'] + t['traffic']) / 2
    dec = pol.decide([mid, mid], group=['redteam', 'traffic'])
    want = ['block' if mid >= t[g] else 'allow' for g in ('redteam', 'traffic')]
    assert [x['decision'] for x in dec] == want
    assert main(['thresholds', str(path), '--by', 'nosuch', '--out', str(tmp_path / 'q.json')]) == 2
    assert "no column 'nosuch'" in capsys.readouterr().err


def test_no_categories_no_empty_tables_or_chart(tmp_path):
    from riskbench.report import run_template
    df = score_table(500).drop(columns=['categories', 'language'])
    p = tmp_path / 's.jsonl'; df.to_json(p, orient='records', lines=True)
    assert set(ThresholdTuner(df, static=True).figures()) == {'roc', 'pr', 'histogram'}
    r = run_template('guard_thresholds', {'scores': str(p), 'n_boot': 50}, tmp_path / 'out')
    assert r.ok, r.error
    html = (tmp_path / 'out' / 'report.html').read_text()
    assert html.count('No categories') == 1 and 'Per hazard category, at the policy' not in html
    assert 'By language and hazard category' not in html


def test_rates_are_shown_without_float_noise():
    from riskbench.thresholds import policy_tables, _rate
    pol = GuardPolicy.from_table(score_table(300), n_boot=50)
    pol.metrics['fpr']['low'] = -2.7755575615628914e-17; pol.metrics['recall']['high'] = 1 + 2.2e-16
    t = policy_tables(pol)['metrics'].set_index('metric')
    assert t.loc['fpr', 'low'] == 0.0 and t.loc['recall', 'high'] == 1.0
    assert _rate(0.25) == 0.25 and _rate(None) is None and _rate(30) == 30


# ---- issue 12 item 4: every output confined to the run's folder ----
@pytest.mark.parametrize('bad', ['../../x.json', '/tmp/riskbench-outside.json'])
def test_template_policy_out_cannot_leave_the_report_folder(tmp_path, bad):
    from riskbench.report import run_template
    df = score_table(300); p = tmp_path / 's.jsonl'; df.to_json(p, orient='records', lines=True)
    r = run_template('guard_thresholds', {'scores': str(p), 'n_boot': 50, 'policy_out': bad},
                     tmp_path / 'a' / 'b' / 'out')
    assert not r.ok and ("'..'" in r.error or 'outside the output folder' in r.error), r.error
    assert not (tmp_path / 'x.json').exists()
    assert not (tmp_path / 'a' / 'x.json').exists()
    assert not os.path.exists('/tmp/riskbench-outside.json')


def test_template_replaces_symlinks_instead_of_following_them(tmp_path):
    from riskbench.report import run_template
    df = score_table(300); p = tmp_path / 's.jsonl'; df.to_json(p, orient='records', lines=True)
    out, victim = tmp_path / 'out', tmp_path / 'victim'
    out.mkdir(); victim.mkdir()
    (out / 'curves.csv').symlink_to(victim / 'curves.csv'); (out / 'policy.json').symlink_to(victim / 'policy.json')
    r = run_template('guard_thresholds', {'scores': str(p), 'n_boot': 50}, out)
    assert r.ok, r.error
    assert not (out / 'curves.csv').is_symlink() and not (out / 'policy.json').is_symlink()
    assert list(victim.iterdir()) == []
    assert json.loads((out / 'policy.json').read_text())['n_rows'] == 300


# ---- issue 12 item 11: bad score columns are one-line errors ----
def test_scores_outside_0_1_and_constant_scores_exit_2(tmp_path, capsys):
    from riskbench.cli import main
    df = score_table(200)
    df.assign(score=df.score * 100).to_parquet(tmp_path / 'pct.parquet')
    assert main(['thresholds', str(tmp_path / 'pct.parquet'), '--out', str(tmp_path / 'x.json')]) == 2
    err = capsys.readouterr().err
    n_bad = int((df.score * 100 > 1).sum())
    assert f"column 'score': {n_bad} score(s) outside [0, 1]" in err and len(err.strip().splitlines()) <= 2
    df.assign(score=0.5).to_parquet(tmp_path / 'const.parquet')
    assert main(['thresholds', str(tmp_path / 'const.parquet'), '--out', str(tmp_path / 'x.json')]) == 2
    assert "column 'score' is constant (0.5 on all 200 rows)" in capsys.readouterr().err
    assert not (tmp_path / 'x.json').exists()
    # one class with constant scores is a measurement, not a tuning: a binary guard that blocks every red-team prompt
    df[df.label == 1].assign(score=1.0).to_parquet(tmp_path / 'red.parquet')
    assert main(['thresholds', str(tmp_path / 'red.parquet'), '--out', str(tmp_path / 'x.json')]) == 0
    assert json.loads((tmp_path / 'x.json').read_text())['metrics']['recall']['value'] == 1.0


# ---- issue 12: decision rules that mutants must not survive ----
def test_a_row_with_several_categories_gets_the_strictest_threshold():
    groups = dict(by='category', min_support=1, values={
        'S1': dict(threshold=0.3, fallback=False, n=10, metrics={}),
        'S2': dict(threshold=0.7, fallback=False, n=10, metrics={}),
        'S9': dict(threshold=0.1, fallback=True, n=2, metrics={})})
    pol = GuardPolicy(0.5, 'max-f1', '', {}, groups, {})
    cats = [['S1', 'S2'], ['S2', 'S1'], ['S1', 'S2'], ['S1', 'S2'], ['S2'], ['S2', 'S9']]
    d = pol.decide([0.4, 0.4, 0.2, 0.8, 0.4, 0.45], categories=cats)
    assert [x['decision'] for x in d] == ['block', 'block', 'allow', 'block', 'allow', 'allow']
    # S9 fell back: it does not pull S2 down to 0.1 or 0.5
    assert [x['threshold'] for x in d] == [0.3, 0.3, 0.3, 0.3, 0.7, 0.7]
    assert d[0]['group'] == 'S1' and d[4]['group'] == 'S2'
    # the tuner applies the same rule
    df = pd.DataFrame(dict(id=list('abcdef'), text=list('abcdef'), label=[1, 1, 1, 1, 0, 0],
                           score=[0.4, 0.4, 0.2, 0.8, 0.4, 0.45],
                           categories=[['S1', 'S2'], ['S2', 'S1'], ['S1', 'S2'], ['S1', 'S2'], [], []]))
    tun = ThresholdTuner(df, 'max-f1', by='category', min_support=1, static=True)
    tun.set_group_threshold('S1', 0.3); tun.set_group_threshold('S2', 0.7)
    assert list(tun.row_thresholds()[:4]) == [0.3, 0.3, 0.3, 0.3]


def test_bonferroni_correction_in_identity_association_changes_the_flag():
    """Group A: 11 of 20 rows unsafe against 30 of 100 (rate ratio 1.83).
    Katz: se = sqrt(1/11 - 1/20 + 1/30 - 1/100) = 0.2535; at alpha 0.05 the low end is 1.833 exp(-1.960 se) = 1.116 > 1
    (flagged); with five groups tested, alpha/5 = 0.01 gives
    1.833 exp(-2.576 se) = 0.954 < 1 (not flagged). Dropping the correction would flag it."""
    from riskbench.audit import identity_association
    y = np.r_[np.ones(11), np.zeros(9), np.ones(30), np.zeros(70)].astype(int)
    df = pd.DataFrame(dict(id=[f'r{i}' for i in range(120)], text=['x'] * 120, label=y))
    a = pd.DataFrame(dict(axis='g', group='A', row=np.arange(20), term='a'))
    one = identity_association(df, mentions=a).set_index('group')
    assert one.loc['A', 'ci_low'] == pytest.approx(1.116, abs=1e-3) and bool(one.loc['A', 'flag'])
    others = pd.DataFrame(dict(axis='g', group=[f'B{i}' for i in range(4)], row=[20 + i for i in range(4)], term='b'))
    five = identity_association(df, mentions=pd.concat([a, others], ignore_index=True)).set_index('group')
    assert five.loc['A', 'ci_low'] == pytest.approx(0.954, abs=1e-3) and not bool(five.loc['A', 'flag'])


def test_rows_the_guard_could_not_score_are_neither_misses_nor_catches(tmp_path):
    df = score_table(400)
    unsafe = df.index[df.label == 1][:40]
    df = df.astype({'score': object}); df.loc[unsafe, 'score'] = None        # 40 unsafe rows the guard failed on
    path = tmp_path / 's.jsonl'; df.to_json(path, orient='records', lines=True)
    pol = tune_file(path, threshold=0.5, threshold_source='given', n_boot=50)
    scored = df.drop(index=unsafe).astype({'score': float})
    y1 = scored[scored.label == 1]
    # not (caught) / (all unsafe)
    assert pol.metrics['recall']['value'] == pytest.approx((y1.score >= 0.5).mean())
    assert pol.info['n_unsafe'] == len(y1) and pol.info['unscored'] == 40 and pol.row_report.rejected == 40
    w = [x for x in pol.info['warnings'] if x['code'] == 'unscored_rows']
    assert len(w) == 1 and '40 labelled row(s)' in w[0]['message']


def test_assess_on_an_all_unsafe_set_completes_with_recall_measured(tmp_path, monkeypatch):
    "Issue 11 item 6 end to end: a red-team set (every row unsafe) is an assessment, measured, not a failed run"
    from riskbench.bundle import assess
    from riskbench.core import resolve_input
    monkeypatch.setenv('RISKBENCH_CACHE_DIR', str(tmp_path / 'cache'))
    ev = pd.read_json(resolve_input('bundled:demo_prompts.jsonl', 'eval set'), lines=True)
    red = ev[ev.label == 1].groupby('language').head(20)
    p = tmp_path / 'red.jsonl'; red.to_json(p, orient='records', lines=True, force_ascii=False)
    b = assess('bundled:usecases/customer_support.yaml', data=str(p), guards=['baseline'], out=tmp_path / 'bundle',
               progress=False, workers=1)
    th = [q for q in b['parts'].values() if q.get('template') == 'guard_thresholds']
    assert th and all(q.get('status') == 'ok' for q in th), th
    s = json.loads((tmp_path / 'bundle' / 'thresholds-baseline' / 'summary.json').read_text())
    assert s['mode'] == 'measured'
    assert s['policy']['one_class'] == 'unsafe'
    assert s['policy']['metrics']['recall']['value'] is not None
    assert 'one_class_set' in [w['code'] for w in s['warnings']]


def test_warning_and_echo_boundaries():
    """Both sides of each rule: 90% false refusals warns, 89.9% does not; an AUC interval ending at 0.5 warns;
    a slider one step off is a move"""
    from riskbench.thresholds import degenerate_warnings, chance_warnings, DEGENERATE_FRR
    assert DEGENERATE_FRR == 0.9
    assert degenerate_warnings(0.5, 0.9, 'max-f1') and not degenerate_warnings(0.5, 0.899, 'max-f1')
    assert degenerate_warnings(0.0, 0.0, 'max-f1') and not degenerate_warnings(0.01, 0.0, 'max-f1')
    assert not degenerate_warnings(0.0, 0.01, 'max-f1')                      # blocks benign rows only: not "nothing"
    assert chance_warnings(0.6, 0.5, 0.7) and not chance_warnings(0.6, 0.5001, 0.7)
    assert chance_warnings(0.4999, 0.45, 0.55) and chance_warnings(0.7, float('nan'), float('nan'))
    df = score_table(600)
    tun = ThresholdTuner(df, static=False, n_boot=50); tun.widget()
    t0 = tun.threshold
    tun.w['slider'].value = round(t0, 3) + 0.001                              # one step away: the user moved it
    assert tun.threshold == pytest.approx(round(t0, 3) + 0.001)


def test_template_measures_an_all_unsafe_set_at_the_card_policy(tmp_path):
    from riskbench.report import run_template
    df = score_table(400); red = df[df.label == 1]
    p = tmp_path / 'red.jsonl'; red.to_json(p, orient='records', lines=True)
    card = tmp_path / 'card_policy.json'
    card.write_text(json.dumps(dict(threshold=0.42, objective='max-f1', metrics={})))
    r = run_template('guard_thresholds', {'scores': str(p), 'n_boot': 50, 'policy': str(card)}, tmp_path / 'out')
    assert r.ok, r.error
    s = json.loads((tmp_path / 'out' / 'summary.json').read_text())
    assert s['threshold_source'] == 'card-policy' and s['policy']['threshold'] == 0.42
    assert s['policy']['metrics']['recall']['value'] == pytest.approx((red.score >= 0.42).mean())
    assert "the card's policy threshold 0.42" in s['policy']['rests_on']


def test_tuner_fallback_group_does_not_pull_a_row_to_the_global_threshold():
    "A row in S1 (own threshold 0.7) and S9 (too thin: falls back) is judged at 0.7 by the tuner and the export"
    r = np.random.default_rng(2)
    n = 200; y = (np.arange(n) % 2).astype(int); s = np.round(r.random(n) * 0.5 + 0.4 * y, 3)
    cats = [['S1', 'S9'] if i == 1 else (['S1'] if y[i] else []) for i in range(n)]
    df = pd.DataFrame(dict(id=[f'r{i}' for i in range(n)], text=['x'] * n, label=y, score=s, categories=cats))
    tun = ThresholdTuner(df, 'max-f1', by='category', min_support=5, static=True, n_boot=50)
    assert tun.group_fallback == {'S1': False, 'S9': True}
    tun.set_threshold(0.5); tun.set_group_threshold('S1', 0.7)
    assert tun.row_thresholds()[1] == 0.7 and tun.row_thresholds()[0] == 0.5
    pol = tun.policy()
    assert pol.decide([0.6], categories=[['S1', 'S9']])[0]['decision'] == 'allow'
    assert tun.blocked()[1] == (df.score[1] >= 0.7)


def test_tuner_nearest_rows_mask_pii(monkeypatch):
    "Issue 12 item 9: the live tuner's nearest rows mask e-mail addresses like every report (unless show_raw_text)"
    monkeypatch.delenv('RISKBENCH_SHOW_RAW_TEXT', raising=False)
    df = score_table(300); df.loc[df.label == 0, 'text'] = 'write to jane.doe@example.com now'
    h = ThresholdTuner(df, static=True).nearest_html(0.0)
    assert 'jane.doe@example.com' not in h and 'write to' in h
    monkeypatch.setenv('RISKBENCH_SHOW_RAW_TEXT', '1')
    assert 'jane.doe@example.com' in ThresholdTuner(df, static=True).nearest_html(0.0)


def _grouped(by, values, t=0.5):
    from riskbench.thresholds import GuardPolicy
    return GuardPolicy(threshold=t, groups={'by': by, 'min_support': 1,
                                            'values': {k: {'threshold': v, 'fallback': False} for k, v in values.items()}})


def test_decide_group_rules_at_their_edges():
    "language codes lower-cased; a missing language is plain global; ties keep the first group; any grouping column"
    pol = _grouped('language', {'fr': 0.2})
    d = pol.decide([0.3], language='FR')[0]
    assert (d['decision'], d['group'], d['threshold']) == ('block', 'fr', 0.2)
    d = pol.decide([0.3], language=None)[0]
    assert (d['decision'], d['group']) == ('allow', 'global') and '(' not in d['reason'], d['reason']
    pol = _grouped('category', {'S1': 0.3, 'S2': 0.3, 'S9': 0.6})
    assert pol.decide([0.4], categories=[['S1', 'S2']])[0]['group'] == 'S1'
    assert pol.decide([0.4], categories=[['S2', 'S1']])[0]['group'] == 'S2'
    d = pol.decide([0.25, 0.4], categories=['S9', 'S1'])  # one flat list: the same categories for every score
    assert [(x['decision'], x['group']) for x in d] == [('allow', 'S1'), ('block', 'S1')]
    pol = _grouped('source', {'redteam': 0.1})
    d = pol.decide([0.2, 0.2], group=['redteam', 'web'])
    assert [(x['decision'], x['group']) for x in d] == [('block', 'redteam'), ('allow', 'global')]


def test_decide_refuses_a_nan_among_scores():
    from riskbench.core import BadParameter
    with pytest.raises(BadParameter, match='score 1 is not a finite number'): _grouped('language', {}).decide([0.2, float('nan')])


# ---- Objective: one value for the objective and its six targets ----
def test_objective_validates_each_field_by_its_flag_name():
    from riskbench.thresholds import Objective
    from riskbench.core import BadParameter
    for kw, flag in [(dict(target_fpr=-0.1), 'target-fpr'), (dict(target_recall=2), 'target-recall'),
                     (dict(beta=float('inf')), 'beta'), (dict(cost_miss=float('nan')), 'cost-miss'),
                     (dict(cost_false_refusal=-1), 'cost-false-refusal'), (dict(prevalence=1.0), 'prevalence'),
                     (dict(name='max-accuracy'), 'objective')]:
        with pytest.raises(BadParameter, match=f'^{flag}: '): Objective(**kw)
    o = Objective('Min_Cost', cost_miss='20', prevalence=0.01)
    assert (o.name, o.cost_miss, o.targets['prevalence']) == ('min-cost', 20.0, 0.01)
    assert repr(o) == 'Objective(min-cost: the lowest expected cost at 20 per miss and 1 per false refusal, at 1.00% unsafe traffic)'
    assert Objective()._repr_markdown_() == ('**max-recall-at-fpr**: the most recall at a false refusal rate ≤ 5.00%, '
                                             "at the eval set's share of unsafe rows")


def test_an_objective_chooses_what_the_flat_targets_chose():
    from riskbench.thresholds import Objective, as_objective
    from riskbench.core import BadParameter
    df = score_table(900)
    sw = sweep(df.label, df.score)
    for o in [Objective('max-recall-at-fpr', target_fpr=0.1), Objective('min-fpr-at-recall', target_recall=0.8),
              Objective('max-fbeta', beta=2.0), Objective('min-cost', cost_miss=5, cost_false_refusal=2, prevalence=0.1)]:
        flat = {k: v for k, v in o.targets.items() if v is not None}
        a, b = choose_threshold(sw, o), choose_threshold(sw, o.name, **flat)
        assert (a.threshold, a.targets, a.cost) == (b.threshold, b.targets, b.cost)
        # by hand for the constrained objective: the lowest FPR among the thresholds of best recall within budget
        if o.name == 'max-recall-at-fpr':
            ok = sw[sw.fpr <= 0.1 + 1e-12]; best = ok[ok.recall == ok.recall.max()]
            assert a.threshold == best.threshold.max()
    p1 = GuardPolicy.from_table(df, Objective('min-fpr-at-recall', target_recall=0.8), n_boot=50)
    p2 = GuardPolicy.from_table(df, 'min-fpr-at-recall', target_recall=0.8, n_boot=50)
    assert p1.to_dict() == p2.to_dict() and p1.metrics['recall']['value'] >= 0.8
    with pytest.raises(BadParameter, match='unknown objective parameter'): as_objective(None, target=0.1)
    with pytest.raises(BadParameter, match='unknown objective parameter'): GuardPolicy.from_table(df, targt_fpr=0.1)
    assert ThresholdTuner(df, Objective('max-f1'), n_boot=50).objective == 'max-f1'


# ---- hazard categories in natural order: S1, S2, S10 ----
def test_categories_are_listed_in_natural_order():
    from riskbench.thresholds import policy_tables, group_frames
    df = score_table(1500)
    assert list(group_frames(df, 'category')) == ['S1', 'S2', 'S10']
    pol = GuardPolicy.from_table(df, by='category', min_support=5, n_boot=50)
    assert list(pol.info['per_category']) == ['S1', 'S2', 'S10'] and list(pol.groups['values']) == ['S1', 'S2', 'S10']
    assert policy_tables(pol)['per_category'].category.tolist() == ['S1', 'S2', 'S10']
    tun = ThresholdTuner(df, static=True, n_boot=50)
    assert tun.category_rates(0.5).category.tolist() == ['S1', 'S2', 'S10']
    assert list(tun.figures()['groups'].data[2].x) == ['S1', 'S2', 'S10']


# ---- the tuner's export: a typed path never creates folders; success and failure look different ----
def test_export_refuses_a_missing_folder_and_says_so(tmp_path):
    from riskbench.core import BadParameter
    tun = ThresholdTuner(score_table(600), static=False, n_boot=50); tun.widget()
    with pytest.raises(BadParameter, match='does not exist'): tun.export(tmp_path/'typo'/'deeper'/'p.json')
    assert not (tmp_path/'typo').exists()
    tun.w['path'].value = str(tmp_path/'typo'/'p.json'); tun._export_clicked()
    bad = tun.w['status'].value
    assert "class='rb-error'" in bad and '✗ could not save: ' in bad and 'does not exist' in bad
    assert 'rb-status-error' in tun.w['status']._dom_classes and not (tmp_path/'typo').exists()
    tun.w['path'].value = str(tmp_path/'p.json'); tun._export_clicked()
    good = tun.w['status'].value
    assert "class='rb-ok'" in good and f'✓ saved to {(tmp_path/"p.json").resolve()}' in good and 'rb-error' not in good
    assert 'rb-status-ok' in tun.w['status']._dom_classes and 'rb-status-error' not in tun.w['status']._dom_classes
    assert GuardPolicy.load(tmp_path/'p.json').threshold == tun.threshold
    (tmp_path/'afile').write_text('x'); tun.w['path'].value = str(tmp_path/'afile'/'p.json'); tun._export_clicked()
    assert 'is a file, not a folder' in tun.w['status'].value


# ---- plotly.js once: the figures widget, and reports ----
def test_figures_widget_carries_plotly_once_per_kernel(monkeypatch):
    import riskbench.tuner as T
    monkeypatch.setattr(T, '_PLOTLY_SENT', [])
    df = score_table(600)
    a, b = ThresholdTuner(df, static=False, n_boot=50), ThresholdTuner(df, static=False, n_boot=50)
    a.widget(); b.widget()
    pa, pb = a.w['panel'], b.w['panel']
    assert len(pa.plotly_js) > 1_000_000 and pb.plotly_js == ''
    assert sorted(pa.figures) == ['groups', 'histogram', 'pr', 'roc']
    assert not any(type(w).__name__ == 'FigureWidget' for w in a.w['box'].children)
    a.set_threshold(0.5)
    roc = next(m for m in pa.marks if m['figure'] == 'roc')
    st = a.state()
    assert roc['x'] == [st['fp'] / a.N] and roc['y'] == [st['tp'] / a.P]
    assert next(m for m in pa.marks if m['figure'] == 'histogram')['x0'] == 0.5


def test_interactive_in_a_report_shows_static_figures(tmp_path, monkeypatch):
    "In a report run there is no live kernel: the tuner shows static figures (and says why) instead of a widget"
    import riskbench.tuner as T
    shown = []
    monkeypatch.setattr(T, 'show_figure', lambda f: shown.append(f))
    monkeypatch.setattr(T, 'out_dir', lambda: tmp_path)
    tun = ThresholdTuner(score_table(600), static=False, n_boot=50)
    notes = []; monkeypatch.setattr(T, 'note', lambda s: notes.append(s))
    monkeypatch.setattr(T, 'show_table', lambda *a, **k: None)
    tun.show()
    assert len(shown) == 4 and tun.w is None and 'needs a live kernel' in notes[0]


def test_interactive_template_report_draws_its_figures_and_holds_no_widget_state(tmp_path):
    "`-p interactive true` under a report: the HTML shows the four figures (not widget text), the notebook stays small"
    from riskbench.report import run_template, figure_specs
    from riskbench.core import save_table
    sp = save_table(score_table(500), tmp_path/'scores.parquet', {'guard': {'spec': 'baseline'}})
    r = run_template('guard_thresholds', {'scores': str(sp), 'n_boot': 50, 'interactive': True}, tmp_path/'out')
    assert r.ok, r.error
    nb = json.loads((tmp_path/'out'/'report.ipynb').read_text())
    assert 'widgets' not in nb['metadata'] and (tmp_path/'out'/'report.ipynb').stat().st_size < 1_000_000
    page = (tmp_path/'out'/'report.html').read_text()
    titles = [s['layout']['title']['text'].split(' ')[0] for s in figure_specs(page)]
    assert titles == ['ROC', 'Precision–recall', 'Scores', 'By'], titles
    assert 'VBox(' not in page and 'needs a live kernel' in page
