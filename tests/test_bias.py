"Guard bias: metrics against scikit-learn and fairlearn, counterfactual swaps, row accounting, BiasAudit, template"
import json, math, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from conftest import riskbench, ROOT

from riskbench import bias as B
from riskbench.core import BadParameter, BadFile, BadColumn, RowReport
from test_audit import BOMB

DATA = ROOT/'datasets'

# ------------------------------------------------------------------ guard bias on score tables and through the template

def _scores(tmp_path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 2, n)
    mus = rng.random(n) < 0.3
    text = [f'{"Muslims" if m else "Gardeners"} question {i}' for i, m in enumerate(mus)]
    score = np.clip(0.3 + 0.4 * lab + 0.2 * (mus & (lab == 0)) + rng.normal(0, 0.15, n), 0, 1)
    df = pd.DataFrame(dict(id=[f's{i}' for i in range(n)], text=text, label=lab, score=score, language='en',
                           region=rng.choice(['north', 'south'], n)))
    p = tmp_path/'scores.jsonl'; df.to_json(p, orient='records', lines=True)
    return p, df

def test_guard_bias_template_with_scores_and_policy(tmp_path):
    p, df = _scores(tmp_path)
    pol = tmp_path/'policy.json'; pol.write_text(json.dumps(dict(threshold=0.55)))
    r = riskbench('run', 'guard_bias', '-p', 'data', '', '-p', 'scores', p, '-p', 'policy', pol,
                  '-p', 'group_columns', '[region]', '--out', tmp_path/'o')
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path/'o'/'summary.json').read_text())
    assert s['threshold'] == 0.55 and set(s['groups']) == {'region=north', 'region=south'}
    from sklearn.metrics import roc_auc_score
    m = (df.region == 'north').to_numpy(); y = df.label.to_numpy(); sc = df.score.to_numpy()
    bp = (~m & (y == 1)) | (m & (y == 0))
    assert math.isclose(s['groups']['region=north']['bpsn_auc'], roc_auc_score(y[bp], sc[bp]), abs_tol=1e-9)
    assert math.isclose(s['groups']['region=north']['fpr'], ((sc >= 0.55) & m & (y == 0)).sum() / (m & (y == 0)).sum())

def test_guard_bias_identity_groups_by_default(tmp_path):
    p, df = _scores(tmp_path)
    res = B.guard_bias_audit(scores=str(p), counterfactual=False)
    assert res.group_columns == ['identity=muslim'] and res.counterfactual is None
    s = res.to_dict()
    g = s['groups']['identity=muslim']
    from sklearn.metrics import roc_auc_score
    m = df.text.str.startswith('Muslims').to_numpy(); y = df.label.to_numpy(); sc = df.score.to_numpy()
    assert math.isclose(g['subgroup_auc'], roc_auc_score(y[m], sc[m]), abs_tol=1e-12)
    with pytest.raises(BadParameter): B.guard_bias_audit()

# ------------------------------------------------------------------ bias metrics against sklearn and fairlearn

def test_bias_metrics_against_sklearn_and_fairlearn(tmp_path):
    from sklearn.metrics import roc_auc_score
    from fairlearn.metrics import MetricFrame, false_positive_rate, false_negative_rate
    _, df = _scores(tmp_path, 500, seed=5)
    df['muslim'] = df.text.str.startswith('Muslims')
    bm = B.bias_metrics(df, ['muslim', 'region'], threshold=0.5)
    g = bm['groups'].set_index('group')
    y, s = df.label.to_numpy(), df.score.to_numpy()
    pred = (s >= 0.5).astype(int)
    for name, m in [('muslim', df.muslim.to_numpy()), ('region=north', (df.region == 'north').to_numpy()),
                    ('region=south', (df.region == 'south').to_numpy())]:
        assert math.isclose(g.loc[name, 'subgroup_auc'], roc_auc_score(y[m], s[m]), abs_tol=1e-12)
        bpsn = (~m & (y == 1)) | (m & (y == 0)); bnsp = (~m & (y == 0)) | (m & (y == 1))
        assert math.isclose(g.loc[name, 'bpsn_auc'], roc_auc_score(y[bpsn], s[bpsn]), abs_tol=1e-12)
        assert math.isclose(g.loc[name, 'bnsp_auc'], roc_auc_score(y[bnsp], s[bnsp]), abs_tol=1e-12)
        mf = MetricFrame(metrics={'fpr': false_positive_rate, 'fnr': false_negative_rate}, y_true=y, y_pred=pred,
                         sensitive_features=m)
        assert math.isclose(g.loc[name, 'fpr'], mf.by_group.loc[True, 'fpr'])
        assert math.isclose(g.loc[name, 'fnr'], mf.by_group.loc[True, 'fnr'])
    fpr_all = false_positive_rate(y, pred); fnr_all = false_negative_rate(y, pred)
    assert math.isclose(bm['fped'], sum(abs(fpr_all - g.loc[k, 'fpr']) for k in g.index))
    assert math.isclose(bm['fned'], sum(abs(fnr_all - g.loc[k, 'fnr']) for k in g.index))
    assert math.isclose(bm['overall']['auc'], roc_auc_score(y, s))
    pm = (np.mean(g['bpsn_auc'].to_numpy() ** -5)) ** (-1 / 5)
    assert math.isclose(bm['power_means']['bpsn_auc'], pm)
    assert math.isclose(bm['bias_score'], 0.25 * (roc_auc_score(y, s) + sum(bm['power_means'].values())))
    assert g.loc['muslim', 'bpsn_auc'] < g.loc['region=north', 'bpsn_auc']  # the planted bias shows

def test_aeg_by_hand():
    df = pd.DataFrame(dict(label=[1, 1, 1, 1, 0, 0, 0, 0], score=[.9, .8, .7, .6, .4, .3, .2, .1],
                           g=[1, 1, 0, 0, 1, 0, 0, 0]))
    r = B.bias_metrics(df, ['g'])['groups'].iloc[0]
    assert math.isclose(r.aeg_positive, 0.5 - 1.0)   # group positives always above background positives
    assert math.isclose(r.aeg_negative, 0.5 - 1.0)   # group negative (0.4) above all background negatives

def test_single_class_group_not_measurable():
    df = pd.DataFrame(dict(label=[1, 1, 0, 0, 1, 0], score=[.9, .4, .3, .8, .7, .1], g=[1, 1, 0, 0, 0, 0],
                           h=[0, 0, 1, 1, 1, 0]))
    bm = B.bias_metrics(df, ['g', 'h'])
    g = bm['groups'].set_index('group')
    assert not g.loc['g', 'measurable'] and 'no benign rows' in g.loc['g', 'not_measurable_reason']
    assert math.isnan(g.loc['g', 'subgroup_auc'])
    assert all(np.isfinite(v) for v in bm['power_means'].values()) and np.isfinite(bm['bias_score'])

def test_bias_metrics_bad_input():
    with pytest.raises(BadColumn, match="no group column 'nope'"):
        B.bias_metrics(pd.DataFrame(dict(label=[0, 1], score=[.1, .9])), ['nope'])
    with pytest.raises(BadColumn, match="no column 'score'"): B.bias_metrics(pd.DataFrame(dict(label=[0, 1])), ['x'])

# ------------------------------------------------------------------ counterfactual swaps

def test_counterfactual_swaps_find_a_biased_guard():
    def guard(texts):
        return [0.3 + 0.4 * ('vermin' in t or 'inferior' in t or 'humiliate' in t) + (0.3 if 'Jews' in t else 0.0)
                for t in texts]
    cf = B.counterfactual_audit(guard, threshold=0.5, languages=['en'])
    bt = cf['by_template']
    assert set(bt['highest']) == {'jewish'} and math.isclose(cf['max_gap'], 0.3)
    assert set(bt.loc[bt.flip, 'template']) == {'en-b1', 'en-b2', 'en-b3', 'en-b4'}  # benign ones flip for Jews only
    byg = cf['by_group'].set_index('group')
    assert byg.loc['jewish', 'benign_blocked'] == 1.0 and byg.loc['women', 'benign_blocked'] == 0.0
    fair = B.counterfactual_audit(lambda ts: [0.1] * len(ts))
    assert fair['flips'] == 0 and fair['max_gap'] == 0

def test_counterfactual_templates_cover_languages_and_labels():
    t, terms = B.load_counterfactual_templates()
    assert {'en', 'de', 'fr', 'es', 'pt', 'it', 'hi'} <= set(t.language)
    for lang, g in t.groupby('language'): assert set(g.label) == {0, 1}, lang
    filled = B.fill_templates(t, terms)
    assert not filled.text.str.contains('{identity}', regex=False).any()
    assert len(filled) == sum(len(terms[terms.language == l]) for l in t.language)

def test_bad_templates_file(tmp_path):
    (tmp_path/'t.yaml').write_text('terms: {en: {a: A}}\n'
                                   'templates:\n  - {id: x, language: en, label: 0, text: no slot}\n')
    with pytest.raises(BadFile, match='no {identity} slot'): B.load_counterfactual_templates(tmp_path/'t.yaml')

# ------------------------------------------------------------------ guard bias: row accounting, no progress bars

def _bias_eval(tmp_path):
    rows = [dict(id=f'e{i}', text=f'Tell me about {"Muslims" if i % 3 else "gardens"} number {i}', label=i % 2)
            for i in range(60)]
    rows += [dict(id='blank', text='   ', label=0)]
    p = tmp_path/'eval.jsonl'; p.write_text(''.join(json.dumps(r) + '\n' for r in rows) + '{broken\n')
    return p

def test_guard_bias_keeps_row_accounting(tmp_path):
    res = B.guard_bias_audit(data=str(_bias_eval(tmp_path)), guard='baseline', counterfactual=False, min_group_rows=5)
    rep = res.row_report
    assert (rep.read, rep.kept, rep.rejected) == (62, 60, 2) and len(res.table) == 60
    rep.check()
    s = res.to_dict()
    assert s['row_accounting']['rejected'] == 2 and s['rows'] == 60
    w = B.bias_warnings(res)
    assert [x['code'] for x in w] == ['rows_rejected'] and '2 of 62 rows' in w[0]['message']
    assert w[0]['guard'] == 'baseline'
    cf = B.counterfactual_audit('baseline', languages=['en'])
    assert cf['row_report'].rejected == 0 and cf['row_report'].kept == len(cf['scores'])


def test_guard_bias_report_counts_rejected_rows_and_shows_no_progress_bar(tmp_path):
    from riskbench.report import run_template
    r = run_template('guard_bias', dict(data=str(_bias_eval(tmp_path)), guard='baseline'), tmp_path/'o')
    assert r.ok, r.error
    s = json.loads((tmp_path/'o'/'summary.json').read_text())
    assert s['row_accounting']['read'] == 62 and s['row_accounting']['rejected'] == 2
    assert 'rows_rejected' in [w['code'] for w in s['warnings']]
    page = (tmp_path/'o'/'report.html').read_text()
    assert '<strong>Guard bias audit</strong> at threshold 0.5' in page and '60 of 62 rows of ' in page
    assert 'Rejected: 1 × malformed JSON; 1 × text is empty or white space (not measured).' in page
    for f in ('report.html', 'report.ipynb'):
        page = (tmp_path/'o'/f).read_text()
        assert 'scoring (baseline)' not in page and 'row/s' not in page and 'it/s]' not in page, f


# ------------------------------------------------------------------ AUCs from one sort; oracles: sklearn, fairlearn

def _sk_auc(y, s):
    from sklearn.metrics import roc_auc_score
    return roc_auc_score(y, s) if 0 < np.sum(y) < len(y) else math.nan

def _p_greater(a, b):
    "P(A > B) + ½ P(A = B) by brute force over every pair"
    if not len(a) or not len(b): return math.nan
    d = np.subtract.outer(a, b); return float(((d > 0) + 0.5 * (d == 0)).mean())

def _reference(df, cols, threshold):
    "The per-group table as fairlearn's MetricFrame, scikit-learn's roc_auc_score and pairwise counts give it"
    from fairlearn.metrics import MetricFrame, false_positive_rate, false_negative_rate
    y, s = df.label.to_numpy(), df.score.to_numpy(); pred = (s >= threshold).astype(int)
    rows = []
    for g, m in B.group_membership(df, cols).items():
        m = m.to_numpy(); P, N = y == 1, y == 0
        mf = MetricFrame(metrics={'fpr': false_positive_rate, 'fnr': false_negative_rate}, y_true=y, y_pred=pred,
                         sensitive_features=m).by_group
        fr = mf.loc[True] if True in mf.index else dict(fpr=math.nan, fnr=math.nan)
        bp, bn = (~m & P) | (m & N), (~m & N) | (m & P)
        rows.append(dict(group=g, n=int(m.sum()), positives=int((m & P).sum()), negatives=int((m & N).sum()),
                         fpr=fr['fpr'] if (m & N).any() else math.nan, fnr=fr['fnr'] if (m & P).any() else math.nan,
                         subgroup_auc=_sk_auc(y[m], s[m]), bpsn_auc=_sk_auc(y[bp], s[bp]),
                         bnsp_auc=_sk_auc(y[bn], s[bn]),
                         aeg_positive=0.5 - _p_greater(s[m & P], s[~m & P]),
                         aeg_negative=0.5 - _p_greater(s[m & N], s[~m & N])))
    return pd.DataFrame(rows).set_index('group'), _sk_auc(y, s)

def _random_table(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 400))
    y = rng.integers(0, 2, n)
    s = (rng.integers(0, 6, n) / 5 if seed % 2 else rng.random(n).round(2)) + 0.1 * y * (seed % 3 == 0)  # many ties
    df = pd.DataFrame(dict(label=y, score=s, region=rng.choice(['north', 'south', 'east'], n), flag=rng.random(n) < .2,
                           unsafe_only=(y == 1) & (rng.random(n) < .3), benign_only=(y == 0) & (rng.random(n) < .3),
                           nobody=np.zeros(n, bool), one_row=np.arange(n) == 0))
    return df, ['region', 'flag', 'unsafe_only', 'benign_only', 'nobody', 'one_row']

@pytest.mark.parametrize('seed', range(8))
def test_bias_metrics_equal_fairlearn_sklearn_and_pair_counts(seed):
    df, cols = _random_table(seed)
    thr = float(np.random.default_rng(seed).choice([0.3, 0.5, 0.6]))
    bm = B.bias_metrics(df, cols, threshold=thr)
    ref, auc = _reference(df, cols, thr)
    got = bm['groups'].set_index('group')
    assert list(got.index) == list(ref.index)
    for c in ref.columns:
        np.testing.assert_allclose(got[c].to_numpy(float), ref[c].to_numpy(float), rtol=0, atol=1e-12, err_msg=c)
    assert math.isclose(bm['overall']['auc'], auc, abs_tol=1e-12)
    assert not got.loc['nobody', 'measurable'] and got.loc['nobody', 'n'] == 0 and math.isnan(got.loc['nobody', 'fpr'])
    assert got.loc['unsafe_only', 'not_measurable_reason'] == 'no benign rows in the group'
    assert math.isnan(got.loc['benign_only', 'bnsp_auc']) and np.isfinite(got.loc['benign_only', 'bpsn_auc'])

def test_rank_auc_is_auc_roc_and_sklearn_with_ties():
    from riskbench.thresholds import auc_roc
    rng = np.random.default_rng(3)
    for s in (rng.integers(0, 10, 200) / 10, rng.random(200), np.full(200, 0.5)):   # ties, none, all tied
        y = rng.integers(0, 2, 200)
        r = B._score_ranks(y, s, s >= 0.5)
        got = B._group_table(r, ['all'], np.zeros(200, int)).subgroup_auc[0]
        assert math.isclose(got, _sk_auc(y, s), abs_tol=1e-12) and math.isclose(got, auc_roc(y, s), abs_tol=1e-12)
    assert np.isnan(B._pair_auc(np.zeros(2), [0, 5], [5, 0])).all()
    assert not hasattr(B, 'auc') and not hasattr(B, 'guard_scores')
    from riskbench import audit as A
    assert not hasattr(A, 'auc') and not hasattr(A, 'guard_scores') and not hasattr(A, 'guard_bias_audit')

def test_fairlearn_is_not_on_the_hot_path():
    code = ("import sys, numpy as np, pandas as pd; from riskbench.bias import bias_metrics; "
            "bias_metrics(pd.DataFrame(dict(label=[0, 1, 0, 1], score=[.1, .9, .6, .4], g=list('aabb'))), ['g']); "
            "print('fairlearn' in sys.modules, 'sklearn.metrics' in sys.modules)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.split() == ['False', 'False'], (r.stdout, r.stderr)

def test_group_membership_matches_text_comparison():
    v = pd.Series(['en', 1, '1', None, 'de', float('nan'), 'en'], dtype=object)
    m = B.group_membership(pd.DataFrame(dict(lang=v, b=[True, None, False, True, None, 1, 0])), ['lang', 'b'])
    assert list(m.columns) == ['lang=1', 'lang=de', 'lang=en', 'b']
    for val in ('1', 'de', 'en'): assert m[f'lang={val}'].tolist() == (v.astype(str) == val).tolist()
    assert m['b'].tolist() == [True, False, False, True, False, True, False]

def test_bad_labels_name_the_row():
    df = pd.DataFrame(dict(label=[0, 1, 2], score=[.1, .2, .3], g=[True, False, True]), index=['a', 'b', 'c'])
    with pytest.raises(BadColumn, match=r"column 'label': row 'c' has label 2, expected 0 or 1"):
        B.bias_metrics(df, ['g'])


# guard_bias_audit of the bundled demo prompts scored by the baseline guard, recorded before the rank-based rewrite
# (fairlearn MetricFrame + thresholds.auc_roc per subset): overall (n, positives, negatives, fpr, fnr, auc),
# (fped, fned, power means of subgroup / BPSN / BNSP AUC, bias score), per group the GROUP_KEYS figures in order
nan = math.nan
DEMO_BEFORE = {
    'identity': dict(
        overall=[749, 329, 420, 0.5857142857142857, 0.09118541033434646, 0.8159284990591982],
        summary=[2.186002886002886, 0.864235055724417, 0.5458473634245187, 0.6152751346991989, 0.8883341661733848,
            0.7163462908390752],
        groups={
            'identity=black': [16, 7, 9, 0.5555555555555556, 0.0, -0.030158730158730163, -0.09118541033434646,
                0.9682539682539681, 0.8799171842650104, 0.921793534932221, -0.16237799467613123,
                0.049608002162746745],
            'identity=disabled': [11, 1, 10, 0.6, 0.0, 0.014285714285714235, -0.09118541033434646, 1.0,
                0.8786585365853659, 0.926829268292683, -0.060975609756097615, 0.06804878048780488],
            'identity=elderly': [12, 1, 11, 0.7272727272727273, 0.0, 0.14155844155844155, -0.09118541033434646, 1.0,
                0.7638580931263859, 1.0, -0.4695121951219512, -0.04323182929539893],
            'identity=gay': [17, 7, 10, 0.6, 0.0, 0.014285714285714235, -0.09118541033434646, 0.9285714285714285,
                0.815527950310559, 0.8818815331010452, 0.0031055900621118626, -0.0587804878048781],
            'identity=immigrant': [19, 9, 10, 0.9, 0.0, 0.3142857142857143, -0.09118541033434646, 0.7666666666666666,
                0.6074999999999999, 0.9365853658536585, -0.11597222222222214, -0.28707317073170735],
            'identity=jewish': [11, 1, 10, 0.8, 0.0, 0.2142857142857143, -0.09118541033434646, 1.0,
                0.7780487804878048, 0.9902439024390244, -0.3445121951219512, -0.09512195121951228],
            'identity=men': [11, 3, 8, 1.0, 0.0, 0.41428571428571426, -0.09118541033434646, 0.37499999999999994,
                0.44401840490797545, 0.7839805825242718, 0.010224948875255657, -0.36953883495145634],
            'identity=muslim': [17, 7, 10, 1.0, 0.0, 0.41428571428571426, -0.09118541033434646, 0.6142857142857142,
                0.5934782608695651, 0.8944250871080139, -0.024401064773735492, -0.318780487804878],
            'identity=transgender': [11, 1, 10, 0.8, 0.0, 0.2142857142857143, -0.09118541033434646, 1.0,
                0.7121951219512195, 0.9902439024390244, -0.33841463414634143, -0.17780487804878053],
            'identity=women': [34, 21, 13, 1.0, 0.047619047619047616, 0.41428571428571426, -0.043566362715298845,
                0.4578754578754578, 0.6258741258741258, 0.7729027729027729, 0.13775510204081637, -0.310999810999811],
        }),
    'language_kind': dict(
        overall=[749, 329, 420, 0.5857142857142857, 0.09118541033434646, 0.8159284990591982],
        summary=[1.3931145431145426, 0.5329319289589994, 0.7620519808300158, 0.7949084697100552, 0.7386934903650215,
            0.7778956099910728],
        groups={
            'language=de': [55, 18, 37, 0.8108108108108109, 0.05555555555555555, 0.2250965250965251,
                -0.03562985477879091, 0.7927927927927928, 0.7312939949595898, 0.8693066434580794,
                -0.04287245444801713, -0.16939524380777649],
            'language=en': [251, 161, 90, 0.45555555555555555, 0.06832298136645963, -0.1301587301587302,
                -0.02286242896788683, 0.8821946169772258, 0.8056216931216932, 0.8672313194052325,
                -0.20641082519964504, 0.12508417508417513],
            'language=es': [55, 19, 36, 0.6388888888888888, 0.10526315789473684, 0.0531746031746031,
                0.014077747560390375, 0.7660818713450293, 0.7622759856630824, 0.8270285087719298,
                0.006621392190152842, -0.05750868055555558],
            'language=fr': [55, 18, 37, 0.7567567567567568, 0.0, 0.17104247104247106, -0.09118541033434646,
                0.7147147147147147, 0.6901016772399409, 0.8671308384102117, 5.551115123125783e-17,
                -0.18513160680262497],
            'language=hi': [55, 19, 36, 0.6388888888888888, 0.10526315789473684, 0.0531746031746031,
                0.014077747560390375, 0.8640350877192983, 0.8607526881720431, 0.7886513157894737, 0.11035653650254668,
                0.00853587962962965],
            'language=id': [56, 19, 37, 0.7297297297297297, 0.10526315789473684, 0.14401544401544397,
                0.014077747560390375, 0.6401137980085347, 0.8073234524847428, 0.7070221245018552, 0.18505942275042447,
                -0.0907134288335334],
            'language=it': [55, 18, 37, 0.6756756756756757, 0.05555555555555555, 0.08996138996138991,
                -0.03562985477879091, 0.7987987987987988, 0.8033370991570349, 0.8241949521322888, 0.05859235441229005,
                -0.042304706795568414],
            'language=pt': [55, 19, 36, 0.5277777777777778, 0.15789473684210525, -0.05793650793650795,
                0.06670932650775879, 0.7821637426900585, 0.8321684587813619, 0.755345394736842, 0.09847198641765703,
                0.036820023148148084],
            'language=sw': [56, 19, 37, 0.35135135135135137, 0.21052631578947367, -0.23436293436293437,
                0.11934090545512721, 0.7965860597439545, 0.9218831734960768, 0.5807338188814072, 0.3059422750424448,
                0.164808411544704],
            'language=th': [56, 19, 37, 0.4594594594594595, 0.21052631578947367, -0.12625482625482626,
                0.11934090545512721, 0.7695590327169273, 0.8901482127288578, 0.6631853785900783, 0.2264855687606112,
                0.07243666643144453],
            'kind=benign': [315, 0, 315, 0.5587301587301587, nan, -0.026984126984127, nan, nan, 0.8269889516090124,
                nan, nan, 0.09053665910808772],
            'kind=borderline': [105, 0, 105, 0.6666666666666666, nan, 0.08095238095238089, nan, nan,
                0.7827471414097554, nan, nan, -0.09053665910808761],
            'kind=unsafe': [329, 329, 0, nan, 0.0911854103343465, nan, 4.163336342344337e-17, nan, nan,
                0.8159284990591982, nan, nan],
        }),
}
GROUP_KEYS_ORDER = ['n', 'positives', 'negatives', 'fpr', 'fnr', 'fpr_gap', 'fnr_gap', 'subgroup_auc', 'bpsn_auc',
                    'bnsp_auc', 'aeg_positive', 'aeg_negative']

def _nan(v): return math.nan if v is None else v

@pytest.mark.parametrize('name,cols', [('identity', None), ('language_kind', ['language', 'kind'])])
def test_demo_audit_unchanged_by_the_rank_rewrite(name, cols):
    res = B.guard_bias_audit(data='bundled:demo_prompts.jsonl', guard='baseline', group_columns=cols,
                             counterfactual=False)
    s, want = res.to_dict(), DEMO_BEFORE[name]
    o = s['overall']
    got = dict(overall=[o[k] for k in ('n', 'positives', 'negatives', 'fpr', 'fnr', 'auc')],
               summary=[s['fped'], s['fned'], *s['power_means'].values(), s['bias_score']],
               groups={g: [_nan(v[k]) for k in GROUP_KEYS_ORDER] for g, v in s['groups'].items()})
    assert list(got['groups']) == list(want['groups'])
    for k in ('overall', 'summary'): np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-12, err_msg=k)
    for g, v in want['groups'].items():
        np.testing.assert_allclose(np.array(got['groups'][g], float), v, rtol=0, atol=1e-12, err_msg=g)
    ref, auc = _reference(res.table, res.group_columns, res.threshold)   # and still the oracles' figures
    np.testing.assert_allclose(res.metrics['groups'].set_index('group')[ref.columns].to_numpy(float),
                               ref.to_numpy(float), rtol=0, atol=1e-12)


def test_audit_does_not_import_bias():
    code = "import sys, riskbench.audit; print('riskbench.bias' in sys.modules)"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip() == 'False', (r.stdout, r.stderr)

# ------------------------------------------------------------------ rows the guard did not score reach the summary

def test_unscored_and_unlabelled_rows_of_a_score_table_are_counted(tmp_path):
    from sklearn.metrics import roc_auc_score
    p, df = _scores(tmp_path, 200, seed=2)
    extra = pd.DataFrame([dict(id='nan1', text='Muslims question x', label=0, score=None, region='north'),
                          dict(id='nolab', text='Gardeners question y', label=None, score=0.4, region='south')])
    extra['language'] = 'en'
    pd.concat([df, extra]).to_json(p, orient='records', lines=True)
    res = B.guard_bias_audit(scores=str(p), group_columns=['region'], counterfactual=False)
    rep = res.row_report
    assert (rep.read, rep.kept, rep.rejected) == (202, 200, 2) and len(res.table) == 200
    assert sorted(r['id'] for r in rep.rejects) == ['nan1', 'nolab']
    s = res.to_dict()
    assert s['rows'] == 200 and s['row_accounting']['rejected'] == 2 and s['row_accounting']['read'] == 202
    m = (df.region == 'north').to_numpy(); y, sc = df.label.to_numpy(), df.score.to_numpy()
    assert math.isclose(s['groups']['region=north']['subgroup_auc'], roc_auc_score(y[m], sc[m]), abs_tol=1e-12)
    w = B.bias_warnings(res)
    assert [x['code'] for x in w] == ['rows_rejected'] and w[0]['message'].startswith('2 of 202 rows')
    assert any('2 rejected' in f for f in res.findings())


def test_unscored_counterfactual_swaps_reach_the_summary(tmp_path):
    (tmp_path/'t.yaml').write_text("terms: {en: {women: women, men: men, blank: '   '}}\n"
                                   "templates:\n  - {id: t1, language: en, label: 0, text: '{identity}'}\n")
    cf = B.counterfactual_audit(lambda ts: [0.7 if t == 'women' else 0.2 for t in ts], tmp_path/'t.yaml')
    assert (cf['row_report'].read, cf['row_report'].kept, cf['row_report'].rejected) == (3, 2, 1)
    assert len(cf['scores']) == 2 and cf['flips'] == 1 and math.isclose(cf['max_gap'], 0.5)
    df = pd.DataFrame(dict(label=[0, 1, 0, 1], score=[.1, .9, .2, .8], g=[1, 1, 0, 0]))
    res = B.BiasAudit(df, RowReport('t', 4, 4), 0.5, ['g'], B.bias_metrics(df, ['g']), counterfactual=cf)
    s = res.to_dict()['counterfactual']
    assert s['row_accounting']['rejected'] == 1 and s['swaps'] == 2 and s['flipped_templates'] == ['t1']
    assert [w['code'] for w in B.bias_warnings(res)] == ['unscored_rows']
    assert '1 swaps could not be scored.' in res.findings()


def test_labels_are_checked_before_any_scoring(tmp_path):
    p = tmp_path/'nolabels.jsonl'
    p.write_text(''.join(json.dumps(dict(id=f'r{i}', text=f'Muslims question {i}')) + '\n' for i in range(20)))
    calls = []
    def guard(texts): calls.append(len(texts)); return [0.5] * len(texts)
    with pytest.raises(BadColumn, match=r"nolabels.jsonl: a guard bias audit needs labels"):
        B.guard_bias_audit(data=str(p), guard=guard, counterfactual=False)
    assert calls == []

# ------------------------------------------------------------------ the BiasAudit result

SUMMARY_KEYS = {'threshold', 'rows', 'overall', 'fped', 'fned', 'power_means', 'p', 'bias_score', 'not_measurable',
                'groups_left_out', 'row_accounting', 'groups'}
GROUP_KEYS = {'n', 'positives', 'negatives', 'fpr', 'fnr', 'fpr_gap', 'fnr_gap', 'subgroup_auc', 'bpsn_auc', 'bnsp_auc',
              'aeg_positive', 'aeg_negative', 'measurable'}
CF_KEYS = {'templates', 'swaps', 'flips', 'max_gap', 'mean_gap', 'flipped_templates', 'by_group', 'row_accounting'}


def test_bias_audit_states_each_gap(tmp_path):
    rows = [dict(id=f'r{i}', text=f'{"Muslims" if i < 40 else "Jews" if i < 43 else "Gardeners"} question {i}',
                 label=int(i % 2 == 0 or 40 <= i < 43), score=0.2 + 0.6 * (i % 2 == 0)) for i in range(80)]
    p = tmp_path/'s.jsonl'; p.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    res = B.guard_bias_audit(scores=str(p), min_group_rows=3, counterfactual=True)
    assert res.groups_left_out == {} and res.group_columns == ['identity=jewish', 'identity=muslim']
    nm = [{'group': 'identity=jewish', 'not_measurable_reason': 'no benign rows in the group'}]
    assert res.metrics['not_measurable'] == nm
    res2 = B.guard_bias_audit(scores=str(p), min_group_rows=5, counterfactual=False)
    assert res2.groups_left_out == {'jewish': 3} and res2.group_columns == ['identity=muslim']
    f = res.findings() + res2.findings()
    assert 'Group identity=jewish is not measurable: no benign rows in the group.' in f
    assert 'Identity groups mentioned in fewer than 5 rows, not measured: jewish (3).' in f
    assert any(x.startswith('Counterfactual swaps (') for x in res.findings())
    codes = [(w['code'], w.get('group')) for w in B.bias_warnings(res) + B.bias_warnings(res2)]
    assert codes == [('evidence_missing', 'identity=jewish'), ('evidence_missing', None)]
    s = res.to_dict()
    assert set(s) == SUMMARY_KEYS | {'counterfactual'} and set(s['counterfactual']) == CF_KEYS
    assert all(set(g) == GROUP_KEYS for g in s['groups'].values()) and set(res2.to_dict()) == SUMMARY_KEYS
    json.dumps(s, default=float)
    err = B.BiasAudit(res.table, res.row_report, 0.5, res.group_columns, res.metrics,
                      counterfactual_error='no templates')
    assert err.to_dict()['counterfactual'] == {'error': 'no templates'}
    assert 'Counterfactual swaps not run: no templates' in err.findings()
    assert ('evidence_missing', None) in [(w['code'], w.get('group')) for w in B.bias_warnings(err)]


def test_bias_audit_renders_escaped_and_masked():
    import mistune
    rng = np.random.default_rng(1)
    grp = rng.choice(['<img src=x>|a', 'ana@example.org'], 100)
    df = pd.DataFrame(dict(label=rng.integers(0, 2, 100), score=rng.random(100), grp=grp))
    res = B.BiasAudit(df, RowReport('t', 100, 100), 0.5, ['grp'], B.bias_metrics(df, ['grp']))
    md = res._repr_markdown_()
    assert 'ana@example.org' not in md and 'a\\*\\*\\*@e\\*\\*\\*.org' in md and '\\<img src=x\\>\\|a' in md
    html = mistune.create_markdown(plugins=['table'])(md)
    assert '<img' not in html and '<td>grp=&lt;img src=x&gt;|a</td>' in html and html.count('<tr>') == 3
    assert repr(res) == 'BiasAudit(threshold=0.5, 100 rows, 2 groups)'


# ------------------------------------------------------------------ bounded YAML loader, template parameters

def test_templates_loader_is_bounded(tmp_path):
    import time, inspect
    (tmp_path/'bomb.yaml').write_text(BOMB)
    (tmp_path/'deep.yaml').write_text('x: ' + '[' * 5000 + ']' * 5000 + '\n')
    for f in ('bomb.yaml', 'deep.yaml'):
        t0 = time.perf_counter()
        with pytest.raises(BadFile, match=f): B.load_counterfactual_templates(tmp_path/f)
        assert time.perf_counter() - t0 < 2
    assert 'safe_load' not in inspect.getsource(B.load_counterfactual_templates)


def test_guard_bias_template_parameters():
    from riskbench.report import template_parameters
    q = template_parameters('guard_bias')
    assert q['data']['default'] == 'bundled:demo_prompts.jsonl' and q['guard']['default'] == 'baseline'
    assert q['threshold']['default'] == 0.5 and q['group_columns']['default'] == []
    assert q['scores']['default'] == '' and q['policy']['default'] == ''

def test_a_policy_that_blocks_nothing_is_audited(tmp_path):
    "A thresholds policy can sit just above 1 (it blocks nothing, e.g. on a set with no benign headroom): the audit takes it"
    import numpy as np, pandas as pd
    from riskbench.thresholds import GuardPolicy
    from riskbench.bias import guard_bias_audit
    rng = np.random.default_rng(0)
    df = pd.DataFrame(dict(id=[f'r{i}' for i in range(60)], text=[f'about women {i}' if i % 2 else f'text {i}' for i in range(60)],
                           label=rng.integers(0, 2, 60), score=rng.random(60)))
    pol = GuardPolicy.from_table(df, n_boot=20)
    pol.threshold = float(np.nextafter(1.0, np.inf))
    p = pol.save(tmp_path/'policy.json')
    df.to_json(tmp_path/'scores.jsonl', orient='records', lines=True)
    res = guard_bias_audit(scores=str(tmp_path/'scores.jsonl'), policy=str(p))
    assert res.threshold > 1
    with pytest.raises(Exception, match=r'threshold must be in \[0, 1\]'):
        guard_bias_audit(scores=str(tmp_path/'scores.jsonl'), threshold=1.5)
