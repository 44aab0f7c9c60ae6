"""Threshold tuning benchmark (issue 4): one run, figures and ratios against scikit-learn measured in the same run.

1. 10,000,000 scores: the full sweep + ROC AUC + average precision, against scikit-learn's
   roc_curve + precision_recall_curve + average_precision_score on the same arrays (target: not slower).
2. The metrics at a new threshold from the precomputed sweep at 10M rows (target <= 5 ms).
3. 1,000 stratified bootstrap replicates on 100,000 rows against a loop of scikit-learn calls (target >= 20x):
   (a) every metric at the chosen threshold; (b) the same plus the threshold re-chosen on each replicate.

Run: .venv/bin/python benchmarks/thresholds.py [--n 10000000]
"""
import argparse, time, platform, os
import numpy as np

def timed(f):
    t0 = time.perf_counter(); r = f(); return time.perf_counter() - t0, r

def data(n, dtype, seed=0):
    r = np.random.default_rng(seed)
    y = (r.random(n) < 0.3).astype(np.int8)
    s = np.clip(r.normal(0.3 + 0.35 * y, 0.15), 0, 1).astype(dtype)
    return y, s

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--n', type=int, default=10_000_000); ap.add_argument('--boot-n', type=int, default=100_000)
    ap.add_argument('--reps', type=int, default=1000); a = ap.parse_args()
    from riskbench.thresholds import sweep, auc_roc, average_precision, choose_threshold, bootstrap_metrics, Objective
    from sklearn.metrics import roc_curve, precision_recall_curve, average_precision_score, precision_recall_fscore_support, confusion_matrix
    import sklearn
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; numpy {np.__version__}, scikit-learn {sklearn.__version__}")

    # 1. full sweep + AUC + AP at n rows
    for dtype in (np.float32, np.float64):
        y, s = data(a.n, dtype)
        t_ours, sw = timed(lambda: (lambda sw: (sw, auc_roc(sw), average_precision(sw)))(sweep(y, s)))
        sw, auc, apv = sw
        def sk():
            roc_curve(y, s, drop_intermediate=False); precision_recall_curve(y, s); return average_precision_score(y, s)
        t_sk, ap_sk = timed(sk)
        print(f"[1] {a.n:,} scores ({np.dtype(dtype).name}), {len(sw):,} distinct thresholds: sweep+AUC+AP {t_ours:.2f} s; "
              f"scikit-learn roc_curve+precision_recall_curve+average_precision_score {t_sk:.2f} s; ratio {t_sk / t_ours:.1f}x "
              f"(AP difference {abs(apv - ap_sk):.1e})")

    # 2. metrics at a new threshold from the precomputed sweep (what the tuner's slider does)
    th = sw.threshold.to_numpy(); cols = {c: sw[c].to_numpy() for c in ('tp', 'fp', 'tn', 'fn', 'recall', 'fpr', 'precision', 'f1')}
    ts = np.random.default_rng(1).random(1000)
    t0 = time.perf_counter()
    for t in ts:
        j = int(np.searchsorted(th, t)); m = {c: v[j] for c, v in cols.items()}
    per_np = (time.perf_counter() - t0) / len(ts)
    t0 = time.perf_counter()
    for t in ts[:200]: sw.iloc[int(np.searchsorted(th, t))].to_dict()
    per_pd = (time.perf_counter() - t0) / 200
    t_recount, _ = timed(lambda: ((s >= 0.5) & (y == 1)).sum() + ((s >= 0.5) & (y == 0)).sum())
    print(f"[2] metrics at a new threshold, {a.n:,} rows: {per_np * 1e6:.1f} µs (NumPy lookup), {per_pd * 1e3:.3f} ms (pandas row, "
          f"as ThresholdTuner.row); recounting the rows instead: {t_recount * 1e3:.1f} ms")

    # 3. bootstrap: reps replicates on boot_n rows
    y, s = data(a.boot_n, np.float64, seed=2)
    goal = Objective('max-recall-at-fpr', target_fpr=0.05)
    op = choose_threshold(sweep(y, s), goal); t = op.threshold
    ip, ineg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rng = np.random.default_rng(0)
    t_a, bm = timed(lambda: bootstrap_metrics(y, s, t, n_boot=a.reps, seed=0))
    def loop_a():
        for _ in range(a.reps):
            idx = np.r_[rng.choice(ip, len(ip)), rng.choice(ineg, len(ineg))]
            yb, pb = y[idx], s[idx] >= t
            precision_recall_fscore_support(yb, pb, average='binary', zero_division=1); confusion_matrix(yb, pb)
    t_la, _ = timed(loop_a)
    print(f"[3a] {a.reps:,} stratified bootstrap replicates, {a.boot_n:,} rows, every metric at the threshold: {t_a:.3f} s; "
          f"loop of scikit-learn (precision_recall_fscore_support + confusion_matrix) {t_la:.1f} s; ratio {t_la / t_a:.0f}x")
    t_b, bm = timed(lambda: bootstrap_metrics(y, s, t, n_boot=a.reps, seed=0, objective=goal))
    def loop_b():
        out = []
        for _ in range(a.reps):
            idx = np.r_[rng.choice(ip, len(ip)), rng.choice(ineg, len(ineg))]
            yb, sb = y[idx], s[idx]
            precision_recall_fscore_support(yb, sb >= t, average='binary', zero_division=1); confusion_matrix(yb, sb >= t)
            fpr, tpr, thr = roc_curve(yb, sb, drop_intermediate=False)
            ok = fpr <= 0.05; out.append(thr[ok][np.argmax(tpr[ok])])
        return out
    t_lb, thr = timed(loop_b)
    print(f"[3b] the same plus the threshold re-chosen per replicate: {t_b:.2f} s; loop of scikit-learn (+ roc_curve) {t_lb:.1f} s; "
          f"ratio {t_lb / t_b:.1f}x (threshold 95% interval ours [{bm.loc['threshold', 'low']:.4f}, {bm.loc['threshold', 'high']:.4f}], "
          f"loop [{np.percentile(thr, 2.5):.4f}, {np.percentile(thr, 97.5):.4f}])")

if __name__ == '__main__': main()
