"""Guard comparison benchmark (issue 15): one run, figures and ratios measured in the same run.

1. The full comparison of 5 guards on 1,000,000 rows (scores given, synthetic): alignment on row ids, per-guard
   AUC / AP / ECE / Brier, DeLong and McNemar for the 10 pairs, slices by category and language, Holm,
   temperature and isotonic recalibration, cascades for the 20 ordered pairs, disagreeing rows (target <= 10 s on
   2 cores), with the paired bootstrap timed apart (seconds per 100 draws: it scales with --n-boot).
2. DeLong's test in O(n log n) (Sun & Xu midranks) against the O(m n) structural components computed from the
   full pairwise kernel, at 10,000 rows: same AUCs, variance and p-value (asserted), and the ratio.

3. The slices and the isotonic recalibration against the ways they were done before, interleaved in the same run:
   slices by group codes (one stable sort of codes per guard and column) against one boolean mask per slice with the
   guard's sort filtered per slice; isotonic regression from the guard's sort (scipy's PAVA on distinct scores)
   against scikit-learn's IsotonicRegression fit + predict (same predictions, asserted).

Run: .venv/bin/python benchmarks/compare.py [--n 1000000] [--guards 5] [--n-boot 100]
"""
import argparse, math, os, platform, time
import numpy as np
import pandas as pd


def timed(f):
    "(wall seconds, result); the CPU seconds of the call in `timed.cpu` (less sensitive to a shared machine's load)"
    t0, c0 = time.perf_counter(), time.process_time()
    r = f()
    timed.cpu = time.process_time() - c0
    return time.perf_counter() - t0, r


def tables(n, k, seed=0):
    "k synthetic guards of different strength on n rows in 8 languages, unsafe rows in 6 hazard categories"
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < .3).astype(np.int8)
    cats = np.array(['S1', 'S2', 'S3', 'S9', 'S10', 'S11'])
    base = pd.DataFrame(dict(id=np.char.add('r', np.arange(n).astype(str)), label=y,
                             language=rng.choice(['en', 'de', 'fr', 'it', 'pt', 'hi', 'es', 'th'], n),
                             categories=[[c] if v else [] for c, v in zip(cats[rng.integers(0, 6, n)], y)]))
    out = {}
    for g in range(k):
        s = np.clip(rng.normal(.3 + (.15 + .06 * g) * y, .15 + .02 * g), 0, 1)
        out[f'guard{g}'] = pd.DataFrame(dict(id=base['id'], score=s))
    return base, out


def mask_slices(gs, ops, orders, by=('category', 'language')):
    "The previous slice path: a boolean mask per slice, the guard's sort filtered per slice, pairs counted per slice"
    import itertools, riskbench.compare as C
    y, out, benign = gs.df['label'].to_numpy(), [], gs.df['label'].to_numpy() == 0
    masks = []
    ex = gs.df['categories'].explode(); ex = ex[ex.notna() & ~benign[ex.index.to_numpy()]].astype(str)
    for c in sorted(ex.unique()):
        m = benign.copy(); m[ex.index.to_numpy()[(ex == c).to_numpy()]] = True; masks.append(m)
    codes, groups = pd.factorize(gs.df['language'].astype(str), sort=True)
    masks += [codes == j for j in range(len(groups))]
    for mask in masks:
        ix, at = np.flatnonzero(mask), np.cumsum(mask) - 1
        yy = y[ix]
        pl = {n: C.placements(yy, gs.scores[n][ix], at[o[mask[o]]]) for n, o in orders.items()}
        for a, b in itertools.combinations(gs.names, 2):
            out.append((C._delong(pl[a], pl[b])['delong_p'], C.paired_rates(yy, ops[a]['block'][ix], ops[b]['block'][ix])))
    return out


def brute_delong(y, a, b):
    "DeLong from the full m x n Mann-Whitney kernel: O(m n) time and memory"
    def comps(s):
        x, z = s[y == 1], s[y == 0]
        psi = (x[:, None] > z[None, :]).astype(np.float32) + np.float32(.5) * (x[:, None] == z[None, :])
        return float(psi.mean(dtype=np.float64)), psi.mean(1, dtype=np.float64), psi.mean(0, dtype=np.float64)
    (A, xa, za), (B, xb, zb) = comps(a), comps(b)
    se = math.sqrt(np.var(xa - xb, ddof=1) / len(xa) + np.var(za - zb, ddof=1) / len(za))
    return A, B, se, math.erfc(abs(A - B) / se / math.sqrt(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=1_000_000); ap.add_argument('--guards', type=int, default=5)
    ap.add_argument('--n-boot', type=int, default=100); ap.add_argument('--delong-n', type=int, default=10_000)
    a = ap.parse_args()
    import riskbench.compare as C
    from riskbench.evalsets import same_rows
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}; numpy {np.__version__}")

    base, tabs = tables(a.n, a.guards)
    t_align, gs = timed(lambda: C.guard_set(tabs, base)); c_align = timed.cpu
    t_same, _ = timed(lambda: [same_rows(base, t, ('the eval set', n)) for n, t in tabs.items()])
    y = gs.df['label'].to_numpy()
    ops = C.operating_points(gs)
    import sklearn.isotonic, scipy.stats, scipy.optimize   # imports out of the timings
    parts = {}
    def part(name, f):
        w, r = timed(f); parts[name] = (w, timed.cpu); return r
    orders = part('one sort per guard', lambda: {n: np.argsort(s) for n, s in gs.scores.items()})
    pl = part('DeLong components', lambda: {n: C.placements(y, s, orders[n]) for n, s in gs.scores.items()})
    part('guard table', lambda: C.guard_table(gs, ops, pl, orders=orders))
    part('pairs (DeLong + McNemar)', lambda: C.pair_table(gs, ops, pl, n_boot=0, orders=orders))
    part('slices', lambda: C.slice_table(gs, ops, orders=orders, pl=pl))
    fit = C.fit_split(y)
    part('recalibration', lambda: C.recalibration_table(gs, ops, fit, orders=orders))
    part('cascades', lambda: C.cascade_table(gs, ops, fit, C.cost_table(gs)[0]))
    part('disagreements', lambda: C.disagreements(gs, ops))
    t_full, cmp = timed(lambda: C.compare_guards(gs, n_boot=0)); c_full = timed.cpu
    print(f"[1] {a.guards} guards x {a.n:,} rows, full comparison without the bootstrap: {t_full:.2f} s wall, "
          f"{c_full:.2f} s CPU; + alignment on ids {t_align:.2f} s wall, {c_align:.2f} s CPU (of which "
          f"evalsets.same_rows {t_same:.2f} s wall); total {t_full + t_align:.2f} s wall, {c_full + c_align:.2f} s CPU "
          f"(target <= 10 s); {len(cmp.pairs)} pairs, {len(cmp.slices)} slice rows, {cmp.n_tests} tests in the Holm family")
    print("    parts (wall / CPU s): " + ', '.join(f"{k} {w:.2f} / {c:.2f}" for k, (w, c) in parts.items()))
    t_boot, bt = timed(lambda: C.bootstrap_auc_diffs(y, gs.scores, n_boot=a.n_boot, seed=0, orders=orders))
    print(f"    paired Poisson bootstrap, {a.n_boot} draws of all {a.guards} guards: {t_boot:.2f} s wall, "
          f"{timed.cpu:.2f} s CPU ({100 * timed.cpu / max(a.n_boot, 1):.2f} CPU s per 100 draws)")

    new_s, old_s, new_i, sk_i = [], [], [], []
    s0 = gs.scores[gs.names[0]]; o0 = orders[gs.names[0]]
    for _ in range(2):                                              # interleaved: new, old, new, old
        timed(lambda: C.slice_table(gs, ops, orders=orders, pl=pl)); new_s.append(timed.cpu)
        timed(lambda: mask_slices(gs, ops, orders)); old_s.append(timed.cpu)
        of = o0[fit[o0]]                                            # the fitting rows in the guard's score order
        _, f = timed(lambda: C.CalibrationMap(y[of], s0[of], 'isotonic', np.arange(len(of)))); new_i.append(timed.cpu)
        _, sk = timed(lambda: sklearn.isotonic.IsotonicRegression(y_min=0, y_max=1, out_of_bounds='clip').fit(s0[fit], y[fit]))
        sk_i.append(timed.cpu)
    np.testing.assert_allclose(f(s0[~fit]), sk.predict(s0[~fit]), atol=1e-12)
    print(f"[3] slices (6 categories + 8 languages x {len(cmp.pairs)} pairs): group codes {min(new_s):.2f} CPU s, one mask "
          f"per slice {min(old_s):.2f} CPU s: ratio {min(old_s) / min(new_s):.1f}x; isotonic fit on {fit.sum():,} rows: "
          f"one sort + scipy PAVA {min(new_i):.2f} CPU s, scikit-learn {min(sk_i):.2f} CPU s: ratio "
          f"{min(sk_i) / min(new_i):.1f}x (same predictions)")

    m = a.delong_n
    rng = np.random.default_rng(1)
    yy = (rng.random(m) < .3).astype(np.int8)
    sa = np.clip(rng.normal(.3 + .3 * yy, .15), 0, 1); sb = np.clip(sa + rng.normal(0, .1, m), 0, 1)
    reps = 5
    t_fast = min(timed(lambda: C.delong_test(yy, sa, sb))[0] for _ in range(reps))
    r = C.delong_test(yy, sa, sb)
    t_slow, (A, B, se, p) = min((timed(lambda: brute_delong(yy, sa, sb)) for _ in range(2)), key=lambda r: r[0])
    assert abs(r['auc_a'] - A) < 1e-9 and abs(r['auc_b'] - B) < 1e-9 and abs(r['auc_diff_se'] - se) < 1e-9 * se + 1e-12
    assert abs(r['delong_p'] - p) < 1e-6
    print(f"[2] DeLong at {m:,} rows: O(n log n) midranks {t_fast * 1e3:.2f} ms (best of {reps}), O(m n) kernel "
          f"{t_slow * 1e3:.0f} ms (best of 2): ratio {t_slow / t_fast:.0f}x (same AUCs, variance and p-value)")


if __name__ == '__main__':
    main()
