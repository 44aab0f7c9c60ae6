"""Bias metrics benchmark (issue 19, target 4): riskbench.bias.bias_metrics against plain NumPy on the same counts.

Both start from the same DataFrame (label, score, one categorical group column with 8 values) and compute the same
metrics: per-group rows / positives / negatives / FPR / FNR at a threshold, overall AUC, subgroup / BPSN / BNSP AUC
and both average equality gaps per group. The alternatives, the strongest a practitioner would write:

- "numpy+sklearn": `pd.factorize` + one `np.bincount` for every count, `sklearn.metrics.roc_auc_score` per subset;
- "numpy ranks": the same counts, each AUC as a Mann-Whitney U from the mid-ranks of the subset (one sort per subset);
- "numpy one sort": the same counts, one sort of the scores for every AUC of every group: each row's wins from the
  runs of tied scores, summed per group by `np.bincount` over the group codes, and the subgroup U from one stable sort
  of the codes (it uses what riskbench cannot assume: one categorical column, so groups are disjoint).

The ratio is riskbench's time over the fastest of the three (target <= 1.5x at 1M rows). Runs are interleaved, best of
`--reps`; the growth exponent is log(t(1M) / t(100k)) / log(10). fairlearn's `MetricFrame` (FPR, FNR, count by
group; rates only) is timed once, for history: riskbench called it per group before.

Run: .venv/bin/python benchmarks/bias.py [--sizes 100000 1000000] [--reps 3]
"""
import argparse, math, os, platform, time
import numpy as np, pandas as pd

GROUPS = 8

def data(n, seed=0):
    r = np.random.default_rng(seed)
    g = r.integers(0, GROUPS, n); y = (r.random(n) < 0.3).astype(np.int64)
    s = np.clip(0.3 + 0.35 * y + 0.03 * g * (y == 0) + r.normal(0, 0.15, n), 0, 1).round(4)  # guards' scores tie
    return pd.DataFrame(dict(label=y, score=s, group=np.array([f'g{i}' for i in range(GROUPS)], object)[g]))

def _counts(y, pred, codes, k):
    "rows, positives, negatives, FPR, FNR per group code from one bincount"
    c = np.bincount(codes * 4 + 2 * y + pred, minlength=4 * k).reshape(k, 4)   # TN FP FN TP
    neg, pos = c[:, 0] + c[:, 1], c[:, 2] + c[:, 3]
    with np.errstate(invalid='ignore', divide='ignore'): return c.sum(1), pos, neg, c[:, 1] / neg, c[:, 2] / pos

def _mw_auc(pos_scores, neg_scores):
    "P(pos > neg) + ½ P(pos = neg) from the mid-ranks of the pooled scores (one sort)"
    a, b = len(pos_scores), len(neg_scores)
    if not a or not b: return math.nan
    x = np.concatenate([pos_scores, neg_scores]); o = np.argsort(x, kind='stable'); xs = x[o]
    new = np.r_[True, xs[1:] != xs[:-1]]; starts = np.flatnonzero(new); ends = np.r_[starts[1:], len(xs)]
    ranks = np.empty(len(x)); ranks[o] = ((starts + ends + 1) / 2)[np.cumsum(new) - 1]
    return (ranks[:a].sum() - a * (a + 1) / 2) / (a * b)

def _sk_auc(pos_scores, neg_scores):
    from sklearn.metrics import roc_auc_score
    if not len(pos_scores) or not len(neg_scores): return math.nan
    return roc_auc_score(np.r_[np.ones(len(pos_scores)), np.zeros(len(neg_scores))], np.r_[pos_scores, neg_scores])

def plain(df, auc, threshold=0.5):
    "The same metrics in plain NumPy: counts by bincount, every AUC by `auc(positive scores, negative scores)`"
    codes, names = pd.factorize(df['group'], sort=True)
    y, s = df['label'].to_numpy(), df['score'].to_numpy(float)
    n, pos, neg, fpr, fnr = _counts(y, (s >= threshold).astype(np.int64), codes, len(names))
    P, N = y == 1, y == 0
    rows = []
    for j in range(len(names)):
        m = codes == j
        rows.append(dict(subgroup_auc=auc(s[m & P], s[m & N]), bpsn_auc=auc(s[~m & P], s[m & N]),
                         bnsp_auc=auc(s[m & P], s[~m & N]), aeg_positive=0.5 - auc(s[m & P], s[~m & P]),
                         aeg_negative=0.5 - auc(s[m & N], s[~m & N])))
    g = pd.DataFrame(rows).assign(group=[f'group={v}' for v in names], n=n, positives=pos, negatives=neg,
                                  fpr=fpr, fnr=fnr)
    return g, auc(s[P], s[N])

def one_sort(df, threshold=0.5):
    "The same metrics from one sort for all groups at once (Mann-Whitney from tie blocks, sums by bincount over codes)"
    codes, names = pd.factorize(df['group'], sort=True); K = len(names)
    y, s = df['label'].to_numpy(), df['score'].to_numpy(float)
    n_, pos, neg, fpr, fnr = _counts(y, (s >= threshold).astype(np.int64), codes, K)
    o = np.argsort(s); ss, ys, cs = s[o], y[o] == 1, codes[o]
    st = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]]); k = np.diff(np.r_[st, len(ss)])
    p = np.add.reduceat(ys, st, dtype=np.int64); n = k - p; pb, nb = np.cumsum(p) - p, np.cumsum(n) - n
    pa = p.sum() - pb - p
    other2 = np.where(ys, np.repeat(2 * nb + n, k), np.repeat(2 * pa + p, k))
    same2 = np.where(ys, np.repeat(2 * pb + p, k), np.repeat(2 * nb + n, k))
    by = lambda w, m: np.bincount(cs[m], weights=w[m], minlength=K)
    o2p, o2n, s2p, s2n = by(other2, ys), by(other2, ~ys), by(same2, ys), by(same2, ~ys)
    og = np.argsort(cs, kind='stable'); gs, gy, gc = ss[og], ys[og], cs[og]   # each group's rows, in score order
    st = np.flatnonzero(np.r_[True, (gs[1:] != gs[:-1]) | (gc[1:] != gc[:-1])]); k = np.diff(np.r_[st, len(gs)])
    p = np.add.reduceat(gy, st, dtype=np.int64); n = k - p; bc = gc[st]; cn = np.cumsum(n) - n
    first = np.r_[True, bc[1:] != bc[:-1]]; base = np.zeros(K, np.int64); base[bc[first]] = cn[first]
    sub2 = np.bincount(bc, weights=p * (2 * (cn - base[bc]) + n), minlength=K)
    P, N = int(ys.sum()), int((~ys).sum())
    with np.errstate(invalid='ignore', divide='ignore'):
        g = pd.DataFrame(dict(group=[f'group={v}' for v in names], n=n_, positives=pos, negatives=neg, fpr=fpr, fnr=fnr,
                              subgroup_auc=sub2 / (2 * pos * neg), bpsn_auc=(o2n - sub2) / (2 * (P - pos) * neg),
                              bnsp_auc=(o2p - sub2) / (2 * pos * (N - neg)),
                              aeg_positive=0.5 - (s2p - pos ** 2) / (2 * pos * (P - pos)),
                              aeg_negative=0.5 - (s2n - neg ** 2) / (2 * neg * (N - neg))))
    return g, other2[ys].sum() / (2 * P * N)

def ours(df):
    from riskbench.bias import bias_metrics
    return bias_metrics(df, ['group'], 0.5)

def fairlearn_rates(df):
    from fairlearn.metrics import MetricFrame, false_positive_rate, false_negative_rate, count
    y = df['label'].to_numpy(); pred = (df['score'].to_numpy() >= 0.5).astype(int)
    return MetricFrame(metrics={'fpr': false_positive_rate, 'fnr': false_negative_rate, 'n': count},
                       y_true=y, y_pred=pred, sensitive_features=df['group']).by_group

def best(fns, reps):
    "Best time of each function over `reps` interleaved rounds, and each one's last result"
    t, out = {k: math.inf for k in fns}, {}
    for _ in range(reps):
        for k, f in fns.items():
            t0 = time.perf_counter(); out[k] = f(); t[k] = min(t[k], time.perf_counter() - t0)
    return t, out

def check(res, alt):
    "riskbench's figures equal the plain implementation's (to 1e-12)"
    g, auc = alt
    a = res['groups'].set_index('group'); b = g.set_index('group').loc[a.index]
    cols = ['n', 'positives', 'negatives', 'fpr', 'fnr', 'subgroup_auc', 'bpsn_auc', 'bnsp_auc', 'aeg_positive',
            'aeg_negative']
    d = float(np.nanmax(np.abs(a[cols].to_numpy(float) - b[cols].to_numpy(float))))
    assert d < 1e-12 and abs(res['overall']['auc'] - auc) < 1e-12, (d, res['overall']['auc'], auc)
    return d

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', type=int, nargs='+', default=[100_000, 1_000_000])
    ap.add_argument('--reps', type=int, default=3); a = ap.parse_args()
    import sklearn, fairlearn
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; numpy {np.__version__}, pandas {pd.__version__}, "
          f"scikit-learn {sklearn.__version__}, fairlearn {fairlearn.__version__}")
    times = {}
    for n in a.sizes:
        df = data(n)
        fns = {'riskbench': lambda: ours(df), 'numpy one sort': lambda: one_sort(df),
               'numpy ranks': lambda: plain(df, _mw_auc), 'numpy+sklearn': lambda: plain(df, _sk_auc)}
        t, out = best(fns, a.reps)
        t0 = time.perf_counter(); fairlearn_rates(df)
        t['fairlearn MetricFrame (rates only, 1 run)'] = time.perf_counter() - t0
        d = max(check(out['riskbench'], out[k]) for k in ('numpy one sort', 'numpy ranks', 'numpy+sklearn'))
        alt = min(('numpy one sort', 'numpy ranks', 'numpy+sklearn'), key=t.get)
        times[n] = t
        print(f"{n:,} rows, {GROUPS} groups ({df.score.nunique():,} distinct scores), best of {a.reps}: "
              + '; '.join(f"{k} {v * 1e3:.0f} ms" for k, v in t.items())
              + f"; riskbench / {alt} = {t['riskbench'] / t[alt]:.2f}x (target <= 1.5x); largest difference {d:.1e}")
    if len(a.sizes) >= 2:
        n0, n1 = a.sizes[0], a.sizes[-1]
        print(f"growth exponent {n0:,} -> {n1:,} rows: " + '; '.join(
            f"{k} {math.log(times[n1][k] / times[n0][k]) / math.log(n1 / n0):.2f}" for k in times[n0]))

if __name__ == '__main__': main()
