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


# ------------------------------------------------------------------ the AUC: one implementation (thresholds.auc_roc)

def test_subset_auc_is_auc_roc_and_sklearn():
    from sklearn.metrics import roc_auc_score
    from riskbench.thresholds import auc_roc
    rng = np.random.default_rng(3)
    y, s = rng.integers(0, 2, 200), rng.integers(0, 10, 200) / 10   # many ties
    assert math.isclose(B._subset_auc(y, s), roc_auc_score(y, s), abs_tol=1e-12)
    assert B._subset_auc(y, s) == auc_roc(y, s)
    assert math.isnan(B._subset_auc(np.ones(5), s[:5])) and math.isnan(B._subset_auc(np.zeros(5), s[:5]))
    assert not hasattr(B, 'auc') and not hasattr(B, 'guard_scores')
    from riskbench import audit as A
    assert not hasattr(A, 'auc') and not hasattr(A, 'guard_scores') and not hasattr(A, 'guard_bias_audit')


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
