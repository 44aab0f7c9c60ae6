"riskbench.monitor: logs with row accounting, p-charts, drift, review sampling, agreement and bias, the widget's model"
import json, math
from pathlib import Path

import numpy as np, pandas as pd, pytest

from riskbench.core import BadColumn, BadFile, BadParameter, RowReport, load_eval_set
from riskbench.thresholds import GuardPolicy, wilson_interval
from riskbench import monitor as M

LOGS, LABELS, BUNDLE = 'bundled:monitor/logs.jsonl', 'bundled:monitor/labels.csv', 'bundled:monitor/bundle'


def _jsonl(path, rows):
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows), encoding='utf-8')
    return path


@pytest.fixture(scope='module')
def demo():
    logs, rep = M.read_logs(LOGS)
    return logs, rep, M.read_labels(LABELS)[0]


# --- reading logs -------------------------------------------------------------------------------------------------

def test_bad_rows_are_rejected_with_row_column_and_value(tmp_path):
    p = _jsonl(tmp_path/'l.jsonl', [
        dict(timestamp='2026-11-02T10:00:00+02:00', prompt='fine', input_score=0.2, input_blocked='false', thumbs='up'),
        dict(timestamp='not a time', prompt='a'), dict(timestamp='2026-11-02T10:00:00Z', prompt='b', input_score='high'),
        dict(timestamp='2026-11-02T10:00:00Z', prompt='c', output_blocked='maybe'),
        dict(timestamp='2026-11-02T10:00:00Z', prompt='d', thumbs='sideways'), dict(prompt='no time'),
        dict(timestamp='2026-11-02T11:00:00Z', prompt='   '),  # the eval-set validator's own check
        dict(timestamp='2026-11-02T12:00:00', prompt='naive time is UTC', report_text='bad answer')])
    df, rep = M.read_logs(p)
    assert (rep.read, rep.kept, rep.rejected) == (8, 2, 6)
    why = dict(zip(rep.rejected_rows()['row'], rep.rejected_rows()['reason']))
    assert why[2] == "timestamp 'not a time' is not an ISO 8601 time"
    assert why[3] == "input_score 'high' is not a score in [0, 1]"
    assert why[4] == "output_blocked 'maybe' is not true or false"
    assert why[5] == "thumbs 'sideways' is not up or down"
    assert why[6] == 'timestamp is missing' and why[7] == 'text is empty or white space'
    assert df['timestamp'].tolist() == [pd.Timestamp('2026-11-02T08:00:00Z'), pd.Timestamp('2026-11-02T12:00:00Z')]
    assert df['reported'].tolist() == [False, True] and df['input_blocked'].tolist()[0] is False


def test_logs_need_a_timestamp_and_rows(tmp_path):
    with pytest.raises(BadColumn, match="no column 'timestamp'"): M.read_logs(_jsonl(tmp_path/'a.jsonl', [dict(prompt='x')]))
    (tmp_path/'e.jsonl').write_text('')
    with pytest.raises(BadFile, match='holds no rows'): M.read_logs(tmp_path/'e.jsonl')
    bad = _jsonl(tmp_path/'b.jsonl', [dict(timestamp='soon', prompt='x')] * 3)
    with pytest.raises(BadFile, match=r"none of its 3 rows could be read \(row 1: timestamp 'soon' is not an ISO"):
        M.read_logs(bad)


def test_csv_logs_read_the_same(tmp_path, demo):
    logs = demo[0].head(50)
    raw = pd.read_json(M.resolve_input(LOGS), lines=True, nrows=50, dtype={'id': str})
    raw.drop(columns=['categories']).to_csv(tmp_path/'l.csv', index=False)
    df, rep = M.read_logs(tmp_path/'l.csv')
    assert rep.kept == 50 and df['id'].tolist() == logs['id'].tolist()
    assert np.allclose(df['input_score'], logs['input_score'])
    assert df['input_blocked'].tolist() == logs['input_blocked'].tolist()


# --- rates and control charts --------------------------------------------------------------------------------------

def test_p_chart_matches_the_textbook_formula():
    rng = np.random.default_rng(3)
    n = rng.integers(20, 300, 40); k = rng.binomial(n, 0.08)
    pc = M.p_chart(k, n)
    pbar = k.sum() / n.sum()
    for t in range(len(n)):
        half = 3 * math.sqrt(pbar * (1 - pbar) / n[t])
        assert pc.ucl[t] == pytest.approx(min(1, pbar + half)) and pc.lcl[t] == pytest.approx(max(0, pbar - half))
        assert pc.out_of_control[t] == (k[t] / n[t] > pbar + half or k[t] / n[t] < pbar - half)
    base = M.p_chart(k, n, baseline=10)
    assert base.p_bar[0] == pytest.approx(k[:10].sum() / n[:10].sum())


def test_p_chart_on_montgomerys_example_7_1():
    "Montgomery, Introduction to Statistical Quality Control (6th ed., 2009), Example 7.1: orange-juice cans"
    cans = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]
    pc = M.p_chart(cans, [50] * 30)
    assert (pc.p_bar[0], pc.lcl[0], pc.ucl[0]) == pytest.approx((0.2313, 0.0524, 0.4102), abs=1e-4)
    assert (np.flatnonzero(pc.out_of_control) + 1).tolist() == [15, 23]


def test_rates_count_each_rate_on_its_own_denominator(demo):
    logs = demo[0]
    r = M.rates_over_time(logs)
    day = pd.Timestamp('2026-11-10')
    d = logs[logs.timestamp.dt.strftime('%Y-%m-%d') == '2026-11-10']
    got = r[(r.period == day) & (r.group == 'all')].set_index('rate')
    thumbs = d['thumbs'].dropna()
    assert (got.loc['thumbs_down', 'k'], got.loc['thumbs_down', 'n']) == ((thumbs == 'down').sum(), len(thumbs))
    assert (got.loc['report', 'k'], got.loc['report', 'n']) == (d['reported'].sum(), len(d))
    ob = d['output_blocked'].dropna()
    assert (got.loc['output_blocked', 'k'], got.loc['output_blocked', 'n']) == (ob.sum(), len(ob))
    answered = d[d.response.notna() & ~d.input_blocked.astype(bool)]
    assert got.loc['refusal', 'n'] == len(answered)
    lo, hi = wilson_interval(got.loc['report', 'k'], got.loc['report', 'n'])
    assert (got.loc['report', 'low'], got.loc['report', 'high']) == pytest.approx((lo, hi))
    cats = M.rates_over_time(logs, 'week', by='category')
    first = cats[(cats.rate == 'report') & (cats.period == pd.Timestamp('2026-11-02'))]
    w = logs[logs.timestamp < '2026-11-09']
    assert first.set_index('group').loc['S1', 'n'] == w.categories.map(lambda c: 'S1' in c).sum()
    with pytest.raises(BadParameter): M.rates_over_time(logs, 'month')


def test_the_planted_drift_is_out_of_control_in_the_last_week_only(demo):
    r = M.rates_over_time(demo[0])
    bad = r[r.out_of_control & r.rate.isin(['input_blocked', 'report'])]
    assert set(bad.rate) == {'input_blocked', 'report'} and bad.period.min() >= pd.Timestamp('2026-11-23')
    assert {w['code'] for w in M.control_warnings(r)} == {'out_of_control'}


# --- drift --------------------------------------------------------------------------------------------------------

def test_psi_by_hand():
    e, a = [40, 30, 20, 10], [25, 25, 25, 25]
    want = sum((y / 100 - x / 100) * math.log((y / 100) / (x / 100)) for x, y in zip(e, a))
    assert M.psi_counts(e, a) == pytest.approx(want)
    assert M.psi_counts([10, 0], [5, 5]) == pytest.approx((0.5 - 1) * math.log(0.5 / 1) + (0.5 - 1e-4) * math.log(0.5 / 1e-4))
    ref, live = np.arange(100) / 100, np.r_[np.zeros(50), np.full(50, 0.95)]  # deciles of ref: 10 rows per bin
    assert M.psi(ref, live) == pytest.approx(M.psi_counts([10] * 10, [50] + [0] * 8 + [50]))


def test_ks_matches_scipy():
    from scipy.stats import ks_2samp
    rng = np.random.default_rng(5)
    for n, m, shift in ((300, 500, 0.0), (700, 120, 0.3), (50, 60, 1.0)):
        a, b = rng.normal(0, 1, n), rng.normal(shift, 1, m)
        want = ks_2samp(a, b, method='asymp')
        d, p = M.ks_2sample(a, b)
        assert d == pytest.approx(want.statistic) and p == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)
    a, w, b = rng.random(40).round(2), rng.integers(1, 4, 40), rng.random(30).round(2)
    assert M.ks_2sample(a, b, weights=w)[0] == pytest.approx(ks_2samp(np.repeat(a, w), b).statistic)


def test_drift_is_found_in_the_planted_week_only(demo):
    logs = demo[0]
    dt = M.drift_table(logs, M.bundle_references(BUNDLE))
    drifting = dt[dt.drift & (dt.window != 'all')]
    assert set(drifting.window) == {'2026-11-23'} and set(drifting.measure) == {'input score', 'language mix'}
    ws = M.drift_warnings(dt)
    assert [w['code'] for w in ws] == ['drift', 'drift']


def test_prevalence_weights_give_the_live_share():
    y = np.r_[np.ones(30), np.zeros(70)]
    w = M.prevalence_weights(y, 0.1)
    assert w[y == 1].sum() / w.sum() == pytest.approx(0.1) and w.sum() == pytest.approx(100)


def test_expected_rates_reweight_per_language(tmp_path):
    # two languages: en false refusals 1/4, de 3/4; misses en 0/2, de 2/2; live traffic is 90% de
    ref = pd.DataFrame(dict(id=[str(i) for i in range(12)], text='x', language=['en'] * 6 + ['de'] * 6,
                            label=[0, 0, 0, 0, 1, 1] * 2,
                            score=[.9, .1, .1, .1, .9, .9] + [.9, .9, .9, .1, .1, .1]))
    r = M.Reference('g', ref, RowReport(), GuardPolicy(0.5))
    logs = pd.DataFrame(dict(language=['de'] * 9 + ['en'], label=[1, 0] + [None] * 8))
    e = M.expected_rates(logs, r)
    assert e['false_refusal_rate']['assessed'] == pytest.approx(4 / 8)
    assert e['false_refusal_rate']['live_mix'] == pytest.approx(0.9 * 3 / 4 + 0.1 * 1 / 4)
    assert e['miss_rate']['live_mix'] == pytest.approx(0.9 * 1.0 + 0.1 * 0.0)
    assert e['prevalence']['value'] == 0.5 and e['per_10k']['misses'] == pytest.approx(1e4 * 0.5 * 0.9)


# --- review sampling ----------------------------------------------------------------------------------------------

def test_sample_size_is_the_smallest_wide_enough():
    for width, p in ((0.1, 0.5), (0.05, 0.2), (0.2, 0.05)):
        n = M.sample_size(width, p)
        lo, hi = wilson_interval(p * n, n); lo1, hi1 = wilson_interval(p * (n - 1), n - 1)
        assert hi - lo <= width < hi1 - lo1
    with pytest.raises(BadParameter): M.sample_size(0)


def test_review_sample_order_sizes_and_masking(demo, tmp_path):
    logs = demo[0]
    s = M.review_sample(logs, n=300, seed=1)
    assert len(s) == 300 and s['label'].isna().all() and not s['id'].duplicated().any()
    assert list(dict.fromkeys(s.stratum)) == ['reported', 'uncertain', 'control']
    pool = logs[logs.label.isna()]
    assert (s.stratum == 'reported').sum() == pool.reported.sum()  # every reported turn fits in this budget
    assert (s.stratum == 'control').sum() >= 60
    unc = s[s.stratum == 'uncertain']
    assert ((unc.input_score - 0.5).abs() <= 0.1).all()
    assert M.review_sample(logs, n=300, seed=1)['id'].tolist() == s['id'].tolist()
    full = M.review_sample(logs)
    assert (full.stratum == 'control').sum() == M.sample_size(0.1)
    from riskbench.cli import main
    assert main(['review', LOGS, '--n', '120', '--out', str(tmp_path/'sheet.csv')]) == 0
    sheet = (tmp_path/'sheet.csv').read_text(encoding='utf-8')
    assert 'jane.doe@example.com' not in sheet and '7946 0958' not in sheet and 'j***@e***.com' in sheet
    assert pd.read_csv(tmp_path/'sheet.csv').columns[-3:].tolist() == ['annotator', 'label', 'notes']


# --- agreement and bias -------------------------------------------------------------------------------------------

def _labels(rng, n_items=60, annotators=('a', 'b', 'c'), cats=(0, 1), p_skip=0.0):
    truth = rng.choice(cats, n_items)
    rows = [dict(item_id=f'i{i}', annotator=a, label=int(t if rng.random() < .8 else rng.choice(cats)))
            for a in annotators for i, t in enumerate(truth) if rng.random() >= p_skip]
    return pd.DataFrame(rows)


def test_cohen_kappa_matches_sklearn():
    from sklearn.metrics import cohen_kappa_score
    rng = np.random.default_rng(0)
    for cats in ((0, 1), (0, 1, 2)):
        lab = _labels(rng, 80, cats=cats, p_skip=0.1)
        pk = M.pairwise_kappa(lab)
        w = M.wide_labels(lab)
        for p in pk['pairs']:
            both = w[[p['a'], p['b']]].dropna()
            assert p['kappa'] == pytest.approx(cohen_kappa_score(both[p['a']], both[p['b']])) and p['n'] == len(both)
        assert pk['mean'] == pytest.approx(np.mean([p['kappa'] for p in pk['pairs']]))
    assert M.cohen_kappa(['x', 'y', 'y'], ['x', 'y', 'x']) == pytest.approx(cohen_kappa_score(['x', 'y', 'y'], ['x', 'y', 'x']))


def test_fleiss_kappa_matches_statsmodels():
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
    rng = np.random.default_rng(1)
    for cats in ((0, 1), (0, 1, 2, 3)):
        lab = _labels(rng, 70, annotators=('a', 'b', 'c', 'd'), cats=cats)
        table, _ = aggregate_raters(M.wide_labels(lab).to_numpy(int))
        k, n, m = M.fleiss_kappa(lab)
        assert k == pytest.approx(fleiss_kappa(table, method='fleiss')) and (n, m) == (70, 4)
    lab = _labels(rng, 50, annotators=('a', 'b', 'c', 'd'), p_skip=0.3)  # mixed counts: the modal count's items
    k, n, m = M.fleiss_kappa(lab)
    counts = lab.groupby('item_id').size()
    w = M.wide_labels(lab).loc[counts[counts == m].index]
    table = np.stack([(w == c).sum(axis=1).to_numpy() for c in (0, 1)], 1)
    assert k == pytest.approx(fleiss_kappa(table)) and n == len(w)


def test_krippendorff_alpha_on_krippendorffs_examples():
    # Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011): §A binary, 2 observers x 10 units, alpha 0.095;
    # §C nominal, 4 observers x 12 units with missing values, alpha 0.743
    def long(rows): return pd.DataFrame([dict(item_id=u, annotator=o, label=v) for o, vs in rows.items()
                                         for u, v in enumerate(vs) if v is not None])
    N = None
    assert M.krippendorff_alpha(long(dict(A=[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], B=[1, 1, 1, 0, 0, 1, 0, 0, 0, 0]))) \
        == pytest.approx(0.095, abs=5e-4)
    c = long(dict(A=[1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N], B=[1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
                  C=[N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N], D=[1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]))
    assert M.krippendorff_alpha(c) == pytest.approx(0.743, abs=5e-4)
    perfect = long(dict(A=[1, 2, 1], B=[1, 2, 1]))
    assert M.krippendorff_alpha(perfect) == 1.0


def test_labels_table_accounting(tmp_path):
    (tmp_path/'l.csv').write_text('item_id,annotator,label\ni1,a,1\ni1,a,0\ni2,,1\ni3,b,\ni2,b,unsafe\n')
    lab, rep = M.read_labels(tmp_path/'l.csv')
    assert (rep.read, rep.kept, rep.rejected) == (5, 2, 3)
    assert lab['label'].tolist() == [1, 1]
    assert "duplicate label of item 'i1' by annotator 'a' (first at row 2)"  # CSV rows are line numbers in rep.rejected_rows()['reason'].tolist()
    (tmp_path/'x.csv').write_text('item,who,label\n1,a,1\n')
    with pytest.raises(BadColumn, match="no column 'item_id', 'annotator'"): M.read_labels(tmp_path/'x.csv')


def test_annotator_bias_mcnemar_matches_statsmodels(demo):
    from statsmodels.stats.contingency_tables import mcnemar
    ab = M.annotator_bias(demo[2]).set_index('annotator')
    assert ab.flagged.to_dict() == {'a1': False, 'a2': False, 'a3': True}  # the planted biased annotator
    lc = M.loo_consensus(demo[2])
    for a, r in ab.iterrows():
        d = lc[(lc.annotator == a) & lc.consensus.notna()]
        t = pd.crosstab(d.label, d.consensus.astype(int)).reindex(index=[0, 1], columns=[0, 1], fill_value=0)
        assert r.p_value == pytest.approx(mcnemar(t.to_numpy(), exact=True).pvalue)
        assert (r.more_unsafe, r.more_benign) == (t.loc[1, 0], t.loc[0, 1])


def test_group_bias_finds_the_planted_group(demo):
    gb = M.group_bias(demo[2], demo[0])
    flagged = gb[gb.flagged]
    assert set(flagged.annotator) == {'a3'} and 'religion' in set(flagged.axis)
    assert (flagged.gap > 0).all()


def test_adjudication_makes_an_eval_set(tmp_path):
    lab = pd.DataFrame(dict(item_id=['x', 'x', 'x', 'y', 'y', 'z', 'z', 'z'],
                            annotator=['a', 'b', 'c', 'a', 'b', 'a', 'b', 'adjudicator'], label=[1, 1, 0, 1, 0, 0, 1, 1]))
    items = pd.DataFrame(dict(id=['x', 'y', 'z'], text=['tx', 'ty', 'tz'], pair_id=['p1', 'p1', None], language='en'))
    new, ties = M.adjudicate(lab, items, source='review:nov')
    assert new.set_index('id').label.to_dict() == {'x': 1, 'z': 1} and ties['item_id'].tolist() == ['y']
    assert new.set_index('id').decided_by.to_dict() == {'x': 'majority', 'z': 'adjudicator'}
    assert new.pair_id.tolist()[0] == 'p1' and set(new.source) == {'review:nov'}
    new.to_json(tmp_path/'a.jsonl', orient='records', lines=True)
    df, rep = load_eval_set(tmp_path/'a.jsonl')
    assert rep.kept == 2 and df.label.tolist() == [1, 1] and 'pair_id' in df


def test_agreement_command_summary(tmp_path, demo):
    from riskbench.cli import main
    assert main(['agreement', LABELS, '--items', LOGS, '--out', str(tmp_path)]) == 0
    s = json.loads((tmp_path/'summary.json').read_text())
    a = s['agreement']
    assert set(a) >= {'cohen_kappa', 'fleiss_kappa', 'krippendorff_alpha', 'n_items', 'n_annotators'}
    assert set(a['cohen_kappa']) == {'mean', 'pairs'} and len(a['cohen_kappa']['pairs']) == 3
    assert (a['n_items'], a['n_annotators']) == (200, 3)
    assert a['krippendorff_alpha'] == pytest.approx(M.krippendorff_alpha(demo[2]))
    assert {w['annotator'] for w in s['warnings'] if w['code'] == 'biased_annotator'} == {'a3'}
    assert s['annotator_bias'] and s['group_bias'] and (tmp_path/'adjudicated.jsonl').exists()
    assert main(['agreement', str(tmp_path/'missing.csv'), '--out', str(tmp_path)]) == 2


# --- the labelling widget's model ---------------------------------------------------------------------------------

def test_label_session_keys_resume_and_other_annotators(tmp_path):
    items = pd.DataFrame(dict(id=[f'i{i}' for i in range(8)], text=[f'call +44 20 7946 09{i}{i} now' for i in range(8)]))
    f = tmp_path/'labels.csv'
    s = M.LabelSession(items, 'ann1', f)
    assert s.index == 0 and '7946' not in s.current['text']  # the text on screen is PII-masked
    for k in ['1', '0', 'ArrowRight', '1', 'x', '0', '1']: s.key(k)  # 'x' is not a key; ArrowRight skips i2
    assert s.index == 6
    again = M.LabelSession(items, 'ann1', f)  # a kernel restart: resume at the first unlabelled item
    assert again.index == 2 and again.current['item_id'] == 'i2'
    again.key('ArrowLeft'); again.key('0')  # relabel i1
    M.LabelSession(items, 'ann2', f).key('1')
    lab, rep = M.read_labels(f)
    assert rep.rejected == 0
    assert lab[lab.annotator == 'ann1'].set_index('item_id').label.to_dict() == {'i0': 1, 'i1': 0, 'i3': 1, 'i4': 0, 'i5': 1}
    assert lab[lab.annotator == 'ann2'].item_id.tolist() == ['i0']
    five = M.LabelSession(items.head(5), 'ann3', tmp_path/'five.csv')
    for k in '10101': five.key(k)
    assert M.LabelSession(items, 'ann3', tmp_path/'five.csv').index == 5  # label five, restart, resume at the sixth


def test_label_widget_messages_drive_the_session(tmp_path):
    items = pd.DataFrame(dict(id=['a', 'b', 'c'], text=['one', 'two', 'three']))
    w = M.label_widget(items, 'ann', tmp_path/'l.csv')
    assert (w.position, w.total, w.text) == (0, 3, 'one')
    w._handle_custom_msg({'key': '1'}, None); w._handle_custom_msg({'key': '0'}, None)
    assert (w.position, w.text, w.item_id) == (2, 'three', 'c')
    w._handle_custom_msg({'key': '1'}, None)
    assert w.done and M.read_labels(tmp_path/'l.csv')[0].label.tolist() == [1, 0, 1]


# --- the report ---------------------------------------------------------------------------------------------------

def test_monitor_command_report(tmp_path, browser):
    "The report: its warnings, PII masked, planted markup shown as text, figures drawn, nothing leaving the machine"
    from riskbench.cli import main
    from browser_util import check_site
    out = tmp_path/'mon'
    assert main(['monitor', LOGS, '--bundle', BUNDLE, '--out', str(out), '--period', 'week']) == 0
    s = json.loads((out/'summary.json').read_text())
    codes = [w['code'] for w in s['warnings']]
    assert {'drift', 'out_of_control', 'rows_rejected'} <= set(codes)
    assert s['rows']['rejected'] == 2 and s['rows']['kept'] == 2953 and s['period'] == 'week'
    assert s['expected_rates']['prevalence']['source'].startswith('the random control')
    assert s['expected_rates']['last_week']['prevalence'] == s['expected_rates']['prevalence']
    html = (out/'report.html').read_text(encoding='utf-8')
    assert 'jane.doe@example.com' not in html and '7946 0958' not in html
    planted = ['<img src="x" onerror="window.__pwned=1"> what does this tag do?', '<script>window.__pwned=1</script>']
    problems, figures = check_site(browser, out/'report.html', planted={str(out/'report.html'): planted})
    assert problems == {str((out/'report.html').resolve()): []}, problems
    assert list(figures.values()) == [5]  # one p-chart per rate
    assert main(['monitor', LOGS, '--period', 'month', '--out', str(out)]) == 2
    assert main(['monitor', str(tmp_path/'nope.jsonl'), '--out', str(out)]) == 2
    assert main(['monitor', LOGS, '--bundle', str(tmp_path), '--out', str(out)]) == 2  # not a bundle


# --- the labelling widget in JupyterLab, in a real browser ------------------------------------------------------------

from browser_util import browser, JupyterLab, run_all_cells, wait_for_output  # noqa: E402  (browser: a fixture)

WIDGET_CELL = '''import pandas as pd
from riskbench.monitor import label_widget
w = label_widget(pd.read_json('items.jsonl', lines=True, dtype={'id': str}), 'ann1', 'labels.csv')
w'''


def test_label_widget_in_jupyterlab_resumes_after_a_restart(browser, tmp_path):
    "Label five items with the keyboard, restart the kernel, run again: the widget opens at the sixth"
    import nbformat
    from playwright.sync_api import expect
    root = tmp_path/'nb'; root.mkdir()
    pd.DataFrame(dict(id=[f'i{i}' for i in range(8)], text=[f'item number {i}' for i in range(8)])).to_json(
        root/'items.jsonl', orient='records', lines=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WIDGET_CELL)])
    nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')
    (root/'label.ipynb').write_text(nbformat.writes(nb), encoding='utf-8')
    server = JupyterLab(root, tmp_path/'jupyter')
    ctx = None
    try:
        server.start()
        ctx = browser.new_context(viewport={'width': 1400, 'height': 900}, service_workers='block')
        page = ctx.new_page(); page.set_default_timeout(30_000)
        page.goto(server.url('lab/tree/label.ipynb'), wait_until='domcontentloaded', timeout=60_000)
        run_all_cells(page)
        w = wait_for_output(page, '.rb-label', timeout_s=120).locator('.rb-label')
        head = w.locator('.rb-label-head')
        expect(head).to_contain_text('item 1 of 8', timeout=60_000)
        w.click()
        for i, k in enumerate('10110'):
            page.keyboard.press(k)
            expect(head).to_contain_text(f'item {i + 2} of 8')  # the key went to Python and back
        expect(w.locator('.rb-label-text')).to_have_text('item number 5')
        lab, _ = M.read_labels(root/'labels.csv')
        assert lab.set_index('item_id').label.to_dict() == {'i0': 1, 'i1': 0, 'i2': 1, 'i3': 1, 'i4': 0}
        assert page.locator('.jp-MarkdownCell').count() == 0  # Lab's command-mode `1` did not fire
        kid = server.api('api/kernels')[0]['id']
        server.api(f'api/kernels/{kid}/restart', 'POST', timeout=60)
        run_all_cells(page)
        w = wait_for_output(page, '.rb-label', timeout_s=120).locator('.rb-label')
        expect(w.locator('.rb-label-head')).to_contain_text('item 6 of 8', timeout=60_000)
        expect(w.locator('.rb-label-text')).to_have_text('item number 5')
    finally:
        if ctx is not None: ctx.close()
        server.stop()


def test_the_commands_have_help():
    "Each command's parser builds from its signature (a `%` in a parameter comment would break argparse's help)"
    from riskbench.cli import main
    for c in ('monitor', 'review', 'agreement'): assert main([c, '--help']) == 0


def test_what_the_logs_lack_is_said(tmp_path):
    "A log of timestamps and prompts only: every rate but reports, score drift and the language mix are not measured"
    p = _jsonl(tmp_path/'m.jsonl', [dict(timestamp=f'2026-11-0{1 + i % 5}T10:00:00Z', prompt=f'hello {i}') for i in range(40)])
    res = M.monitor_report(p, BUNDLE)
    gaps = [w for w in res.warnings if w['code'] == 'evidence_missing']
    assert {w.get('rate') for w in gaps} >= {'thumbs_down', 'input_blocked', 'output_blocked', 'refusal'}
    assert any('score drift was not measured' in w['message'] for w in gaps)
    assert any(w.get('column') == 'language' for w in gaps)
    assert set(res.overall()) == {'report'} and res.overall()['report']['n'] == 40
    assert any('drift against the assessment was not measured' in w['message'] for w in M.monitor_report(p).warnings)


def test_demo_data_is_rebuilt_byte_for_byte(tmp_path):
    "datasets/monitor/make_logs.py, run on a copy, writes exactly the committed files"
    import shutil, subprocess, sys
    root = Path(__file__).resolve().parents[1]/'datasets'
    (tmp_path/'monitor').mkdir()
    shutil.copy(root/'monitor'/'make_logs.py', tmp_path/'monitor')
    shutil.copy(root/'demo_prompts.jsonl', tmp_path)
    r = subprocess.run([sys.executable, str(tmp_path/'monitor'/'make_logs.py')], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for f in ('logs.jsonl', 'labels.csv', 'bundle/scores/baseline.parquet', 'bundle/policies/baseline.json'):
        assert (tmp_path/'monitor'/f).read_bytes() == (root/'monitor'/f).read_bytes(), f
    assert (root/'monitor'/'logs.jsonl').stat().st_size < 2_000_000


def test_review_sheet_cells_are_not_formulas(tmp_path):
    "CSV injection: user text that a spreadsheet would run as a formula is written as text"
    rows = [dict(timestamp='2026-11-02T10:00:00Z', prompt='=HYPERLINK("http://evil.example","click")', report_reason='@SUM(1)'),
            dict(timestamp='2026-11-02T11:00:00Z', prompt='+1 555 0100 is my number', response='-2 apples')]
    sheet = M.review_sheet(M.review_sample(M.read_logs(_jsonl(tmp_path/'l.jsonl', rows))[0], n=2))
    cells = [v for c in ('prompt', 'response', 'report_reason') for v in sheet[c].dropna()]
    assert cells and all(not v.startswith(('=', '+', '-', '@')) for v in cells), cells
    assert "'=HYPERLINK" in ''.join(cells)


def test_the_summary_records_its_reference_and_live_mix(demo):
    "What `riskbench diff` needs from a monitoring run: the bundle files it read (by hash) and the live mixes as counts"
    import hashlib
    logs = demo[0]
    s = M.monitor_report(LOGS, BUNDLE, 'week').to_dict()
    b = M.resolve_input(BUNDLE)
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    assert s['reference']['guards'] == {'baseline': dict(scores_sha256=sha(b/'scores'/'baseline.parquet'),
                                                         policy_sha256=sha(b/'policies'/'baseline.json'))}
    assert s['reference']['layers'] == {'input': 'baseline', 'output': None}      # the output guard is not in the bundle
    assert s['live_mix']['language'] == dict(n=len(logs), counts=logs.language.fillna('(missing)').value_counts().to_dict())
    cats = logs.categories
    assert s['live_mix']['categories']['n'] == int(cats.map(len).gt(0).sum())
    assert s['live_mix']['categories']['counts']['S1'] == int(cats.map(lambda c: 'S1' in c).sum())
    assert 'reference' not in M.monitor_report(LOGS).to_dict()
