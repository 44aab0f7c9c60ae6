"""Monitoring aggregation benchmark (issue 21): events and denominators of five rates per day and hazard category.

`riskbench.monitor.aggregate` (one `pyarrow.Table.group_by`: per key, `sum` of each 0/1 rate column and `count` of
its non-null values) against the strongest alternatives a practitioner would pick, on the same synthetic log rows:

- "polars": `DataFrame.group_by([day, category]).agg(sum, count)` on a polars frame (polars' `count` skips nulls);
- "pandas": `DataFrame.groupby([day, category], observed=True).agg(['sum', 'count'])` (NaN for not-in-denominator).

Each side starts from its own native table, built before the clock starts (Arrow table, polars frame, pandas frame);
"riskbench from pandas" also times the pandas -> Arrow conversion that `aggregate` does when given a DataFrame (what
`rates_over_time` pays). Every result is checked equal to riskbench's. Runs are interleaved, best of `--reps`.
Target: 10M rows in <= 30 s on 2 cores.

Run: .venv/bin/python benchmarks/monitor.py [--rows 10000000] [--reps 3]
"""
import argparse, os, platform, time
import numpy as np, pandas as pd, pyarrow as pa

RATES = ['report', 'thumbs_down', 'input_blocked', 'output_blocked', 'refusal']
CATS = [f'S{i}' for i in range(1, 15)] + ['(none)']


def data(n:int, seed:int=0)->pa.Table:
    "n log rows over 90 days: day, category, and five 0/1 rate columns with nulls where a row is not in the denominator"
    r = np.random.default_rng(seed)
    cols = {'day': pa.array((np.datetime64('2026-09-01') + r.integers(0, 90, n)).astype('datetime64[D]')),
            'category': pa.DictionaryArray.from_arrays(pa.array(r.integers(0, len(CATS), n).astype(np.int32)),
                                                       pa.array(CATS))}
    share = dict(report=1.0, thumbs_down=0.3, input_blocked=1.0, output_blocked=0.8, refusal=0.8)
    for k, p in share.items():
        v = (r.random(n) < 0.1).astype(np.float64)
        cols[k] = pa.array(v, mask=r.random(n) >= p) if p < 1 else pa.array(v)
    return pa.table(cols)


def run_riskbench(t):
    from riskbench.monitor import aggregate
    return aggregate(t, ['day', 'category'], RATES)


def run_polars(df):
    import polars as pl
    g = df.group_by(['day', 'category']).agg([pl.col(r).sum().alias(f'{r}_k') for r in RATES] +
                                            [pl.col(r).count().alias(f'{r}_n') for r in RATES])
    return g.sort(['day', 'category'])


def run_pandas(df):
    g = df.groupby(['day', 'category'], observed=True)[RATES].agg(['sum', 'count'])
    g.columns = [f"{r}_{'k' if s == 'sum' else 'n'}" for r, s in g.columns]
    return g.reset_index()


def canonical(df:pd.DataFrame)->pd.DataFrame:
    d = df.assign(day=pd.to_datetime(df['day']).dt.strftime('%Y-%m-%d'), category=df['category'].astype(str))
    cols = ['day', 'category'] + [f'{r}_{x}' for r in RATES for x in 'kn']
    d = d[cols].sort_values(['day', 'category'], ignore_index=True)
    for c in cols[2:]: d[c] = d[c].astype(np.float64)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=10_000_000)
    ap.add_argument('--reps', type=int, default=3)
    a = ap.parse_args()
    import polars as pl
    t0 = time.perf_counter(); t = data(a.rows); build = time.perf_counter() - t0
    pdf = t.to_pandas()
    pdf['category'] = pdf['category'].astype('category')
    pldf = pl.from_arrow(t)
    sides = {'riskbench (Arrow group-by)': lambda: run_riskbench(t),
             'riskbench from pandas': lambda: run_riskbench(pdf),
             'polars': lambda: run_polars(pldf).to_pandas(),
             'pandas': lambda: run_pandas(pdf)}
    small = t.slice(0, 1000)  # warm up: imports and first-call costs stay out of the timings
    run_riskbench(small); run_riskbench(small.to_pandas()); run_polars(pl.from_arrow(small)); run_pandas(pdf.head(1000))
    best, out = {k: float('inf') for k in sides}, {}
    for _ in range(a.reps):
        for k, f in sides.items():
            t1 = time.perf_counter(); out[k] = f(); best[k] = min(best[k], time.perf_counter() - t1)
    ref = canonical(out['riskbench (Arrow group-by)'])
    for k, v in out.items():
        pd.testing.assert_frame_equal(canonical(v), ref, check_dtype=False)
    print(f"{a.rows:,} rows, {len(ref):,} (day, category) groups, 5 rates; data built in {build:.1f}s; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {platform.python_version()}, "
          f"pyarrow {pa.__version__}, polars {pl.__version__}, pandas {pd.__version__}; best of {a.reps}")
    rb = best['riskbench (Arrow group-by)']
    for k, s in best.items():
        print(f"  {k:<28} {s:7.2f} s   {s / rb:5.2f}x riskbench's time   {a.rows / s / 1e6:6.1f} M rows/s")
    print(f"riskbench / fastest alternative: {rb / min(best['polars'], best['pandas']):.2f}x; "
          f"target <= 30 s: {'met' if rb <= 30 else 'NOT met'} ({rb:.2f} s)")


if __name__ == '__main__': main()
