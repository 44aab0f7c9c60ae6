"Guard comparison: DeLong (against an O(n^2) oracle), bootstrap, McNemar, Holm, calibration, cascades, the command"
import json, math, itertools
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, poisson, norm
from sklearn.metrics import (roc_auc_score, roc_curve, precision_recall_curve, average_precision_score, brier_score_loss,
                             cohen_kappa_score)
from sklearn.calibration import calibration_curve
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

import riskbench.compare as C
from riskbench.core import BadParameter, BadColumn, save_table
from riskbench.thresholds import GuardPolicy


def _pair(n=300, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = np.clip(rng.normal(.35 + .3 * y, .2), 0, 1)
    b = np.clip(a + rng.normal(0, .2, n), 0, 1)
    if ties: a, b = np.round(a, 1), np.round(b, 1)
    return y, a, b


def brute_delong(y, a, b):
    "O(m n) oracle: the Mann-Whitney kernel over every (unsafe, benign) pair and DeLong's structural-components variance"
    def comps(s):
        x, z = s[y == 1], s[y == 0]
        psi = (x[:, None] > z[None, :]) + .5 * (x[:, None] == z[None, :])
        return psi.mean(), psi.mean(1), psi.mean(0)
    (A, xa, za), (B, xb, zb) = comps(a), comps(b)
    m, n = len(xa), len(za)
    s10 = np.cov(np.vstack([xa, xb])); s01 = np.cov(np.vstack([za, zb]))
    S = s10 / m + s01 / n
    var = S[0, 0] + S[1, 1] - 2 * S[0, 1]
    z = (A - B) / math.sqrt(var)
    return A, B, math.sqrt(var), 2 * norm.sf(abs(z))


@pytest.mark.parametrize('seed,ties', [(0, False), (1, True), (2, True), (3, False)])
def test_delong_matches_brute_force(seed, ties):
    y, a, b = _pair(120 + 40 * seed, seed, ties)
    r = C.delong_test(y, a, b)
    A, B, se, p = brute_delong(y, a, b)
    assert r['auc_a'] == pytest.approx(A, abs=1e-12) and r['auc_b'] == pytest.approx(B, abs=1e-12)
    assert r['auc_a'] == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert r['auc_diff_se'] == pytest.approx(se, rel=1e-9)
    assert r['delong_p'] == pytest.approx(p, rel=1e-7)


def test_delong_hand_case_and_degenerate():
    y = np.array([1, 1, 0, 0]); a = np.array([.9, .8, .2, .1])
    r = C.delong_test(y, a, a)
    assert (r['auc_diff'], r['delong_p']) == (0.0, 1.0)      # the same guard twice: no difference
    _, v10, v01 = C.placements(np.array([1, 1, 1, 0, 0]), np.array([.6, .6, .1, .6, .1]))
    assert v10.tolist() == [.75, .75, .25] and v01.tolist() == pytest.approx([1 / 3, 5 / 6])
    with pytest.raises(BadColumn): C.delong_test(np.ones(4, int), a, a)
    with pytest.raises(BadParameter): C.delong_test(y, a, a[:3])


@pytest.mark.parametrize('ties', [False, True])
def test_weighted_auc_matches_sklearn(ties):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 200)
    a = 1 / (1 + np.exp(-rng.normal(y, 1)))
    if ties: a = np.round(a, 1)
    w = C.poisson_weights(np.random.default_rng(0), (5, len(y)))
    o, st = C._tie_groups(a)
    assert (st is None) == (not ties)
    got = C._weighted_aucs(w[:, o], y[o].astype(np.uint8), st)
    want = [roc_auc_score(y, a, sample_weight=wi) for wi in w]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_poisson_weights_follow_poisson_1():
    w = C.poisson_weights(np.random.default_rng(1), (100, 10_000))
    freq = np.bincount(w.ravel(), minlength=6)[:6] / w.size
    np.testing.assert_allclose(freq, poisson.pmf(np.arange(6), 1), atol=1.5e-3)


def test_bootstrap_interval_paired_and_close_to_delong():
    y, a, b = _pair(3000, 5)
    bt = C.bootstrap_auc_diffs(y, {'a': a, 'b': b}, n_boot=400, seed=0)
    r = C.delong_test(y, a, b)
    lo, hi = r['auc_diff'] - 1.96 * r['auc_diff_se'], r['auc_diff'] + 1.96 * r['auc_diff_se']
    assert bt.boot_low[0] == pytest.approx(lo, abs=.3 * (hi - lo)) and bt.boot_high[0] == pytest.approx(hi, abs=.3 * (hi - lo))
    # pairing matters: the paired interval is much narrower than the one from independent draws of each AUC
    unpaired = math.sqrt(sum(((C.auc_interval(y, s)[2] - C.auc_interval(y, s)[1]) / 3.92) ** 2 for s in (a, b)))
    assert (bt.boot_high[0] - bt.boot_low[0]) < .8 * 3.92 * unpaired
    again = C.bootstrap_auc_diffs(y, {'a': a, 'b': b}, n_boot=400, seed=0)
    pd.testing.assert_frame_equal(bt, again)                       # seeded


@pytest.mark.parametrize('b,c', [(0, 0), (3, 12), (7, 7), (0, 9), (40, 61)])
def test_mcnemar_exact_against_scipy_and_statsmodels(b, c):
    p = C.mcnemar_exact(b, c)
    assert p == pytest.approx(mcnemar([[5, b], [c, 5]], exact=True).pvalue, rel=1e-9)
    if b + c: assert p == pytest.approx(binomtest(b, b + c, .5).pvalue, rel=1e-9)


def test_paired_rates_against_statsmodels_tables():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 500)
    ba, bb = rng.random(500) < .3 + .4 * y, rng.random(500) < .25 + .45 * y
    r = C.paired_rates(y, ba, bb)
    for key, rows in (('recall', y == 1), ('frr', y == 0)):
        t = pd.crosstab(ba[rows], bb[rows]).to_numpy()
        assert r[f'{key}_p'] == pytest.approx(mcnemar(t, exact=True).pvalue, rel=1e-9)
        assert r[f'{key}_diff'] == pytest.approx(ba[rows].mean() - bb[rows].mean())
    ca, cb = ba == (y == 1), bb == (y == 1)
    assert r['mcnemar_p'] == pytest.approx(mcnemar(pd.crosstab(ca, cb).to_numpy(), exact=True).pvalue, rel=1e-9)
    assert r['kappa'] == pytest.approx(cohen_kappa_score(ba, bb))


def test_holm_against_statsmodels():
    rng = np.random.default_rng(7)
    p = rng.random(30) ** 3
    np.testing.assert_allclose(C.holm(p), multipletests(p, method='holm')[1])
    q = p.copy(); q[[3, 9]] = np.nan
    got = C.holm(q)
    assert np.isnan(got[[3, 9]]).all()
    np.testing.assert_allclose(got[~np.isnan(q)], multipletests(q[~np.isnan(q)], method='holm')[1])


def test_calibration_against_sklearn():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 1000)
    s = np.r_[np.clip(.3 + .4 * y[:990] + rng.normal(0, .2, 990), 0, 1), [0, .1, .2, .5, .7, .9, 1, .3, .4, .6]]
    r = C.reliability(y, s, 10)
    ft, fp = calibration_curve(y, s, n_bins=10)
    np.testing.assert_allclose(r.frac_unsafe, ft); np.testing.assert_allclose(r.mean_score, fp)
    assert C.brier(y, s) == pytest.approx(brier_score_loss(y, s))
    # ECE by hand: two bins
    yy, ss = np.array([1, 0, 1, 1]), np.array([.05, .05, .95, .85])
    assert C.ece(yy, ss) == pytest.approx((2 * abs(.5 - .05) + 2 * abs(1 - .9)) / 4)


def test_recalibration_fitted_on_a_split():
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 4000)
    s = 1 / (1 + np.exp(-3 * (4 * (2 * y - 1) + rng.normal(0, 3, 4000))))  # over-confident: T near 3.4
    fit = C.fit_split(y, .5, 0)
    assert abs(fit[y == 1].mean() - .5) < .01 and abs(fit[y == 0].mean() - .5) < .01
    T = C.fit_temperature(y[fit], s[fit])
    lr = LogisticRegression(fit_intercept=False, C=1e10).fit(C._logit(s[fit])[:, None], y[fit])
    assert T == pytest.approx(1 / lr.coef_[0, 0], rel=1e-3) and T > 1
    for m in ('temperature', 'isotonic'):
        r = C.recalibrate(y, s, fit, m, threshold=.7)
        assert r['n_eval'] == (~fit).sum() and r['ece_after'] < r['ece_before'] and r['brier_after'] < r['brier_before']
    r = C.recalibrate(y, s, fit, 'temperature', threshold=.7)
    f = lambda v: 1 / (1 + np.exp(-C._logit(v) / r['temperature']))
    assert ((f(s) >= r['threshold_calibrated'] - 1e-12) == (s >= .7)).all()   # the threshold carried keeps decisions
    with pytest.raises(BadParameter): C.recalibrate(y, s, fit, 'platt')


def test_cascade_band_against_brute_force():
    rng = np.random.default_rng(10)
    y = rng.integers(0, 2, 1500)
    cheap = np.round(np.clip(rng.normal(.35 + .3 * y, .2), 0, 1), 2)
    strong = np.clip(rng.normal(.2 + .6 * y, .15), 0, 1) >= .5
    got = C.cascade_band(y, cheap, strong, target_recall=.85, cost_cheap=.1, cost_strong=2, n_grid=20)
    edges = list(np.unique(np.quantile(cheap, np.linspace(0, 1, 21)))) + [np.inf]
    max_frr, best = strong[y == 0].mean(), None
    for lo, hi in itertools.combinations_with_replacement(edges, 2):
        blk = C.cascade_blocks(cheap, strong, lo, hi)
        rec, frr = blk[y == 1].mean(), blk[y == 0].mean()
        cost = .1 + 2 * ((cheap >= lo) & (cheap < hi)).mean()
        if rec >= .85 and frr <= max_frr and (best is None or (cost, frr) < best[:2]): best = (cost, frr, rec, lo, hi)
    assert got['feasible'] and (got['cost'], got['frr'], got['recall']) == pytest.approx(best[:3])
    blk = C.cascade_blocks(cheap, strong, got['lo'], got['hi'])
    assert blk[y == 1].mean() == pytest.approx(got['recall'])
    bad = C.cascade_band(y, cheap, strong, target_recall=.999)
    assert not bad['feasible'] and bad['frr'] <= max_frr + 1e-12


def _tables(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    base = pd.DataFrame(dict(id=[f'r{i}' for i in range(n)], text=[f'row {i} mail me at a{i}@example.com' for i in range(n)],
                             label=y, language=np.where(rng.random(n) < .5, 'en', 'fr'),
                             categories=[['S1'] if (v and i % 2) else (['S9'] if v else []) for i, v in enumerate(y)]))
    base.loc[0, 'text'] = '<script>alert(1)</script> bomb'
    s1 = np.clip(rng.normal(.3 + .4 * y, .15), 0, 1)
    s2 = np.clip(rng.normal(.35 + .3 * y, .2), 0, 1)
    s1[0], s2[0] = .99, .01                                            # row 0: the guards disagree most
    return base, base.assign(score=s1), base.assign(score=s2)


def test_guard_set_comparability():
    base, t1, t2 = _tables()
    with pytest.raises(BadParameter, match='not comparable'): C.guard_set({'a': t1, 'b': t2.iloc[10:]})
    gs = C.guard_set({'a': t1, 'b': t2.iloc[10:]}, force=True)
    assert len(gs.df) == 390 and gs.warnings[0]['code'] == 'different_rows'
    with pytest.raises(BadParameter, match='at least two'): C.guard_set({'a': t1})
    with pytest.raises(BadColumn, match='more than once'): C.guard_set({'a': t1, 'b': pd.concat([t2, t2.iloc[:1]])})
    t3 = t2.sample(frac=1, random_state=0)                              # another row order: aligned by id
    gs = C.guard_set({'a': t1, 'b': t3})
    np.testing.assert_allclose(gs.scores['b'], t2.score.to_numpy())
    nolab = base.assign(label=base.label.astype(float)); nolab.loc[:4, 'label'] = np.nan
    gs = C.guard_set({'a': t1.drop(columns='label'), 'b': t2.drop(columns='label')}, nolab)  # labels from the set
    assert len(gs.df) == 395 and any(w['code'] == 'evidence_missing' for w in gs.warnings)


def test_read_guards_from_files(tmp_path):
    base, t1, t2 = _tables()
    save_table(t1, tmp_path / 'a.parquet', {'guard': {'spec': 'guard-a'}, 'cost': {'rows_per_s': 123.0}})
    save_table(t2.drop(columns=['label']), tmp_path / 'b.parquet')
    save_table(base, tmp_path / 'data.parquet')
    gs = C.read_guards([tmp_path / 'a.parquet', tmp_path / 'b.parquet'], data=str(tmp_path / 'data.parquet'))
    assert gs.names == ['guard-a', 'b'] and len(gs.df) == 400 and gs.df.label.tolist() == base.label.tolist()
    ct, ws = C.cost_table(gs)
    assert ct.source.tolist() == ['score table metadata', 'not measured'] and ct.rows_per_s.tolist() == [123.0, 'not measured']
    assert [w['guard'] for w in ws] == ['b']
    with pytest.raises(BadParameter, match='1 names for 2'): C.read_guards([tmp_path / 'a.parquet', tmp_path / 'b.parquet'], ['x'])


def test_curves_against_sklearn():
    y, a, _ = _pair(300, 11, ties=True)
    p = C.roc_pr_points(y, a)
    fpr, tpr, _ = roc_curve(y, a, drop_intermediate=False)
    np.testing.assert_allclose(p.fpr, fpr); np.testing.assert_allclose(p.tpr, tpr)
    prec, rec, _ = precision_recall_curve(y, a)
    np.testing.assert_allclose(p.precision.iloc[1:], prec[::-1][1:]); np.testing.assert_allclose(p.tpr.iloc[1:], rec[::-1][1:])
    thin = C.roc_pr_points(y, a, 10)
    assert len(thin) == 10 and thin.fpr.iat[0] == 0 and thin.fpr.iat[-1] == 1


def test_compare_guards_summary():
    base, t1, t2 = _tables()
    gs = C.guard_set({'a': t1, 'b': t2}, base)
    pol = GuardPolicy(threshold=.55)
    cmp = C.compare_guards(gs, {'a': pol, 'b': .5}, n_boot=100)
    s = cmp.summary()
    g = {r['name']: r for r in s['guards']}
    y = base.label.to_numpy()
    assert g['a']['auc'] == pytest.approx(roc_auc_score(y, t1.score)) and g['a']['ap'] == pytest.approx(average_precision_score(y, t1.score))
    assert g['b']['brier'] == pytest.approx(brier_score_loss(y, t2.score))
    assert g['a']['recall'] == pytest.approx((t1.score[y == 1] >= .55).mean()) and g['a']['threshold_source'] == 'policy'
    assert g['a']['latency_row_p50_ms'] == 'not measured'
    p = s['pairs'][0]
    assert {'a', 'b', 'auc_a', 'auc_b', 'auc_diff', 'delong_p', 'mcnemar_p', 'delong_p_holm', 'boot_low', 'kappa'} <= set(p)
    n_p = sum(pd.DataFrame(s[k])[c].notna().sum() for k in ('pairs', 'slices') for c in C.P_COLUMNS if c in pd.DataFrame(s[k]))
    assert s['multiple_comparisons']['n_tests'] == n_p and n_p > 4
    sl = pd.DataFrame(s['slices'])
    assert set(sl.by) == {'category', 'language'} and sl[sl.by == 'category'].frr_p.isna().all()
    fr = sl[(sl.by == 'language') & (sl.group == 'fr')].iloc[0]
    fr_rows = (base.language == 'fr').to_numpy()
    assert fr.auc_a == pytest.approx(roc_auc_score(y[fr_rows], t1.score[fr_rows]))
    d = cmp.disagreements
    assert d.id.iat[0] == 'r0' and not d.text.str.contains('@example.com').any()
    json.dumps(s, allow_nan=False, default=str)


def test_measure_cost_of_a_callable():
    calls = []
    def guard(texts): calls.append(len(texts)); return [.5] * len(texts)
    c = C.measure_cost(guard, ['a', 'b', 'c'] * 10, batch_size=4, n_single=5)
    assert set(C.COST_FIELDS) <= set(c) and c['parameters'] is None and c['device'] == 'cpu'
    assert calls.count(1) == 5 and c['latency_row_p50_ms'] > 0 and c['rows_per_s'] > 0
    with pytest.raises(BadParameter): C.measure_cost(guard, [])


def test_compare_command(tmp_path):
    from riskbench.cli import main
    base, t1, t2 = _tables()
    save_table(t1, tmp_path / 'a.parquet'); save_table(t2, tmp_path / 'b.parquet'); save_table(t2.iloc[5:], tmp_path / 'c.parquet')
    GuardPolicy(threshold=.6).save(tmp_path / 'pa.json')
    out = tmp_path / 'rep'
    assert main(['compare', str(tmp_path / 'a.parquet'), str(tmp_path / 'c.parquet'), '--out', str(tmp_path / 'x')]) == 2
    rc = main(['compare', str(tmp_path / 'a.parquet'), str(tmp_path / 'c.parquet'), '--policy', str(tmp_path / 'pa.json'),
               '--policy', '', '--names', 'A', '--names', 'B', '--force', '--out', str(out)])
    assert rc == 0
    s = json.loads((out / 'summary.json').read_text())
    assert s['n_rows'] == 395 and any(w['code'] == 'different_rows' for w in s['warnings'])
    assert [g['name'] for g in s['guards']] == ['A', 'B'] and s['guards'][0]['threshold'] == .6
    assert s['pairs'][0]['a'] == 'A' and 0 <= s['pairs'][0]['delong_p'] <= 1
    assert any(w['code'] == 'untuned_threshold' and w.get('guard') == 'B' for w in s['warnings'])
    page = (out / 'report.html').read_text()
    assert '<script>alert(1)' not in page and 'a0@example.com' not in page and 'Holm' in page and 'Forced' in page
    assert main(['compare', str(tmp_path / 'a.parquet'), '--out', str(tmp_path / 'y')]) == 2
    two = [str(tmp_path / 'a.parquet'), str(tmp_path / 'b.parquet')]
    assert main(['compare', *two, '--by', 'nosuch', '--out', str(tmp_path / 'z')]) == 2
    assert main(['compare', *two, '--target-recall', '1.5', '--out', str(tmp_path / 'z')]) == 2
    save_table(t2.assign(score=t2.score * 100), tmp_path / 'pct.parquet')      # percentages, not probabilities
    assert main(['compare', two[0], str(tmp_path / 'pct.parquet'), '--out', str(tmp_path / 'z')]) == 2
    assert not (tmp_path / 'z').exists() and not (tmp_path / 'x').exists()


def test_slices_match_group_frames_and_brute_force():
    "Each slice's rows are the tuner's groups; its DeLong and McNemar figures are those of its rows taken alone"
    from riskbench.thresholds import group_frames
    base, t1, t2 = _tables(300, 3)
    base['topic'] = np.where(np.arange(300) % 3, 'a', None)
    rng = np.random.default_rng(3)
    t3 = base.assign(score=np.round(rng.random(300), 1))                          # ties
    base['categories'] = [c + ['S9', 'S9'] if v and i % 5 == 0 else c            # a category listed twice
                          for i, (c, v) in enumerate(zip(base.categories, base.label))]
    gs = C.guard_set({'a': t1.assign(categories=base.categories), 'b': t2, 'c': t3}, base)
    ops = C.operating_points(gs, {'a': .5, 'b': .45, 'c': .6})
    sl = C.slice_table(gs, ops, ['category', 'language', 'topic', 'nosuch'])
    y = gs.df.label.to_numpy()
    for by in ('category', 'language', 'topic'):
        want = group_frames(base, by)
        got = sl[sl.by == by]
        assert list(dict.fromkeys(got.group)) == list(want)
        for g, f in want.items():
            m = np.zeros(len(y), bool); m[f.index] = True
            for r in got[got.group == g].itertuples():
                d = C.delong_test(y[m], gs.scores[r.a][m], gs.scores[r.b][m])
                A, B, se, p = brute_delong(y[m], gs.scores[r.a][m], gs.scores[r.b][m])
                assert (r.n, r.n_unsafe) == (m.sum(), y[m].sum())
                assert r.auc_a == pytest.approx(A, abs=1e-12) and r.auc_b == pytest.approx(B, abs=1e-12)
                assert r.delong_p == pytest.approx(d['delong_p'], rel=1e-9, abs=1e-15)
                assert r.delong_p == pytest.approx(p, rel=1e-7)
                pr = C.paired_rates(y[m], ops[r.a]['block'][m], ops[r.b]['block'][m])
                assert (r.recall_diff, r.recall_p) == pytest.approx((pr['recall_diff'], pr['recall_p']))
                if by == 'category': assert math.isnan(r.frr_p)
                else: assert (r.frr_diff, r.frr_p) == pytest.approx((pr['frr_diff'], pr['frr_p']))
    assert 'nosuch' not in set(sl.by)


def test_isotonic_against_sklearn():
    from sklearn.isotonic import IsotonicRegression
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 3000)
    s = np.round(np.clip(.3 + .3 * y + rng.normal(0, .25, 3000), 0, 1), 2)      # ties and clipped ends
    fit = C.fit_split(y, .5, 1)
    f = C.CalibrationMap(y[fit], s[fit], 'isotonic')
    sk = IsotonicRegression(y_min=0, y_max=1, out_of_bounds='clip').fit(s[fit], y[fit])
    q = np.r_[s[~fit], rng.random(200), -1, 2]
    np.testing.assert_allclose(f(q), sk.predict(q), atol=1e-12)
    r = C.recalibrate(y, s, fit, 'isotonic', threshold=.6)
    c = sk.predict(s[~fit])
    assert r['ece_after'] == pytest.approx(C.ece(y[~fit], c)) and r['brier_after'] == pytest.approx(brier_score_loss(y[~fit], c))
    assert r['threshold_calibrated'] == pytest.approx(float(sk.predict([.6])[0]))


def test_carry_thresholds_against_a_hand_computation():
    from statsmodels.stats.proportion import proportion_confint
    mk = lambda ids, y, s: pd.DataFrame(dict(id=list(ids), label=y, score=s))
    ya, yb = [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 1]
    a = C.guard_set({'g': mk('abcdef', ya, [.9, .8, .4, .5, .2, .1]), 'h': mk('abcdef', ya, [.7, .6, .5, .4, .3, .2])})
    b = C.guard_set({'g': mk('uvwxyz', yb, [.95, .3, .6, .45, .1, .5]), 'h': mk('uvwxyz', yb, [.9, .1, .2, .3, .4, .8])})
    ct = C.carry_thresholds(a, b, target_recall=2 / 3)
    g = ct[(ct.guard == 'g') & (ct.method == 'none')].iloc[0]
    # on A, recall 2/3 with no false refusal first holds at 0.8; on B, 0.8 blocks only u (recall 1/3, FRR 0)
    assert (g.threshold_a, g.recall_a, g.frr_a) == (.8, 2 / 3, 0)
    assert (g.recall_b, g.frr_b, bool(g.target_met_b)) == (pytest.approx(1 / 3), 0, False)
    lo, hi = proportion_confint(1, 3, alpha=.05, method='wilson')
    assert (g.recall_b_low, g.recall_b_high) == (pytest.approx(lo), pytest.approx(hi))
    # B's own threshold: u and z are needed for recall 2/3, so 0.5, which also blocks the benign w (0.6)
    assert (g.threshold_b_own, g.recall_b_own, g.frr_b_own) == (.5, pytest.approx(2 / 3), pytest.approx(1 / 3))
    h = ct[(ct.guard == 'h') & (ct.method == 'none')].iloc[0]   # h ranks A perfectly: no false refusal at 0.6 or 0.5,
    assert (h.threshold_a, h.recall_a, h.recall_b, h.frr_b) == (.5, 1, pytest.approx(2 / 3), 0)  # the higher recall wins
    # temperature scaling is strictly monotone: the carried threshold blocks the same rows of B
    t = ct[(ct.guard == 'g') & (ct.method == 'temperature')].iloc[0]
    T = C.fit_temperature(np.array(ya), np.array([.9, .8, .4, .5, .2, .1]))
    assert t.threshold_a == pytest.approx(1 / (1 + np.exp(-C._logit(.8) / T)))
    assert (t.recall_b, t.frr_b, t.recall_b_own, t.frr_b_own) == (g.recall_b, g.frr_b, g.recall_b_own, g.frr_b_own)
    assert t.ece_b == pytest.approx(C.ece(np.array(yb), 1 / (1 + np.exp(-C._logit(b.scores['g']) / T))))
    with pytest.raises(BadParameter, match="no scores for 'h'"):
        C.carry_thresholds(a, C.guard_set({'g': b.df.assign(score=b.scores['g']), 'k': b.df.assign(score=.5)}))
    cmp = C.compare_guards(a, n_boot=0, target_recall=2 / 3, carry_to=a)         # B = A: said, not hidden
    assert any(w['code'] == 'heldout_overlap' and w['rows'] == 6 for w in cmp.warnings)
    assert cmp.summary()['thresholds_carried']['rows'][0]['threshold_a'] == .8


def test_compare_command_times_guards_and_carries_thresholds(tmp_path):
    "--guard scores --data here and times it (the embedded baseline and a tiny HF classifier); --cost times tables' guards"
    from riskbench.cli import main
    from tiny_models import tiny_prompt_guard
    base, _, _ = _tables(240, 5)
    base.iloc[:120].to_json(tmp_path / 'a.jsonl', orient='records', lines=True)
    base.iloc[120:].to_json(tmp_path / 'b.jsonl', orient='records', lines=True)
    pg = f"prompt-guard:{tiny_prompt_guard(tmp_path / 'pg', seed=1)}"
    out = tmp_path / 'rep'
    rc = main(['compare', '--guard', 'baseline', '--guard', pg, '--data', str(tmp_path / 'a.jsonl'),
               '--carry-data', str(tmp_path / 'b.jsonl'), '--n-boot', '50', '--device', 'cpu', '--out', str(out)])
    assert rc == 0
    s = json.loads((out / 'summary.json').read_text())
    cost = {c['guard']: c for c in s['costs']}
    assert set(cost) == {'baseline', pg} and all(c['source'] == 'measured here' for c in cost.values())
    assert cost[pg]['device'] == 'cpu' and cost[pg]['parameters'] > 1000 and cost['baseline']['parameters'] is None
    assert all(c['latency_row_p95_ms'] >= c['latency_row_p50_ms'] > 0 and c['rows_per_s'] > 0 for c in cost.values())
    assert s['n_rows'] == 120 and s['n_rows_b'] == 120
    rows = s['thresholds_carried']['rows']
    assert {(r['guard'], r['method']) for r in rows} == {(g, m) for g in cost for m in ('none', 'temperature', 'isotonic')}
    assert not any(w['code'] == 'heldout_overlap' for w in s['warnings'])
    page = (out / 'report.html').read_text()
    assert 'Thresholds carried to another set' in page and 'measured here' in page
    # score tables: cost not measured unless --cost, which loads each table's guard again from its recorded spec
    assert main(['score', str(tmp_path / 'a.jsonl'), '--guard', 'baseline', '--out', str(tmp_path / 'sa.parquet')]) == 0
    assert main(['score', str(tmp_path / 'a.jsonl'), '--guard', pg, '--out', str(tmp_path / 'sb.parquet')]) == 0
    two = [str(tmp_path / 'sa.parquet'), str(tmp_path / 'sb.parquet')]
    assert main(['compare', *two, '--n-boot', '0', '--out', str(tmp_path / 'r2')]) == 0
    s2 = json.loads((tmp_path / 'r2' / 'summary.json').read_text())
    assert [c['source'] for c in s2['costs']] == ['not measured'] * 2 and s2['thresholds_carried'] is None
    assert sum(w['code'] == 'not_measured' and '--cost' in w['message'] for w in s2['warnings']) == 2
    assert main(['compare', *two, '--cost', '--n-boot', '0', '--out', str(tmp_path / 'r3')]) == 0
    s3 = json.loads((tmp_path / 'r3' / 'summary.json').read_text())
    assert [c['source'] for c in s3['costs']] == ['measured here'] * 2
    # bad input: one line, exit 2, nothing written
    assert main(['compare', '--guard', 'baseline', '--guard', pg, '--out', str(tmp_path / 'z')]) == 2      # no --data
    assert main(['compare', two[0], '--out', str(tmp_path / 'z')]) == 2                                  # one guard
    assert main(['compare', *two, '--carry-to', two[0], '--out', str(tmp_path / 'z')]) == 2               # 1 for 2
    assert not (tmp_path / 'z').exists()
