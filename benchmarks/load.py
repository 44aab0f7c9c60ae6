"""Load and validate a JSONL eval set with riskbench, against polars `read_ndjson` with the same checks.

The strongest alternative a practitioner would pick is polars' multi-threaded NDJSON reader followed by the
same checks riskbench makes, written as polars expressions: text present, a string and not blank; labels
mapped from the same words to 0/1 and rows with unknown or missing labels rejected; ids unique; category
lists upper-cased and stripped; language codes lower-cased and checked against the same pattern. Both count
what they reject. pandas' unvalidated `read_json` is printed for history only.

Prints, for 100k and 1M rows (`--rows` to choose), CPU seconds (all threads) and wall seconds of each, the
ratio riskbench / polars in CPU (target <= 1.0x), peak memory over the baseline as a multiple of the file size
(target <= 3x), and the growth exponent of riskbench's time from the smaller to the larger size. Each reader
runs in its own process, interleaved, best of `--repeat`.

    python benchmarks/load.py [--rows 100000 1000000] [--repeat 3]
"""
import argparse, json, math, os, subprocess, sys, time, random
from pathlib import Path

HERE = Path(__file__).parent
WORDS = ('how do i bake bread tell me about the history of rome write a poem please explain what is best way to '
         'kill a python process make weapon steal car hate group election vote privacy address phone recipe travel').split()
LANGS = ['en'] * 6 + ['de', 'fr', 'it', 'pt', 'hi', 'es', 'th']

def make_file(path:Path, n:int, seed:int=0):
    rng = random.Random(seed)
    with open(path, 'w', encoding='utf-8') as f:
        for i in range(n):
            unsafe = rng.random() < 0.4
            text = ' '.join(rng.choice(WORDS) for _ in range(rng.randint(4, 40)))
            f.write(json.dumps(dict(id=f'r{i}', text=text, label=int(unsafe), categories=['S1'] if unsafe else [],
                                    language=rng.choice(LANGS))) + '\n')

CHILD = r'''
import sys, time
def hwm():
    for l in open('/proc/self/status'):
        if l.startswith('VmHWM'): return int(l.split()[1]) * 1024
def rss():
    for l in open('/proc/self/status'):
        if l.startswith('VmRSS'): return int(l.split()[1]) * 1024
import pandas as pd, pyarrow, pyarrow.json
import riskbench.core as c
if sys.argv[1] == 'polars': import polars as pl
base = rss()
t0, c0 = time.perf_counter(), time.process_time()
if sys.argv[1] == 'pandas': df = pd.read_json(sys.argv[2], lines=True); n = len(df)
elif sys.argv[1] == 'polars':
    words = {k: v for k, v in c.LABEL_WORDS.items()}
    df = pl.read_ndjson(sys.argv[2])
    lab = df['label'].cast(pl.String).str.strip_chars().str.to_lowercase().replace_strict(words, default=None, return_dtype=pl.Int8)
    text = pl.col('text')
    checked = df.with_columns(label=lab,
        categories=pl.col('categories').list.eval(pl.element().cast(pl.String).str.strip_chars().str.to_uppercase()),
        language=pl.col('language').cast(pl.String).str.strip_chars().str.to_lowercase().str.replace_all('_', '-'))
    checked = checked.with_columns(language=pl.when(pl.col('language').str.contains('^' + c.LANGUAGE_CODE.pattern + '$'))
                                   .then(pl.col('language')).otherwise(None))
    bad = (text.is_null() | (text.str.strip_chars().str.len_chars() == 0) | pl.col('label').is_null()
           | pl.col('id').cast(pl.String).is_duplicated())
    kept = checked.filter(~bad); rejected = checked.filter(bad).height
    n = kept.height; assert n + rejected == df.height
    df = kept.to_pandas()  # the eval-set contract is a pandas DataFrame
else: df, rep = c.load_eval_set(sys.argv[2]); n = rep.kept; assert rep.read == n, rep
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
print(n, dt, cpu, hwm() - base)
'''

def measure(kind, path):
    r = subprocess.run([sys.executable, '-c', CHILD, kind, str(path)], capture_output=True, text=True)
    if r.returncode: sys.exit(f'{kind} failed: {r.stderr[-2000:]}')
    n, dt, cpu, mem = r.stdout.split()
    return int(n), float(dt), float(cpu), int(mem)

def one_size(rows:int, repeat:int)->dict:
    data = HERE/'_data'; data.mkdir(exist_ok=True)
    path = data/f'eval_{rows}.jsonl'
    if not path.exists():
        t0 = time.perf_counter(); make_file(path, rows); print(f'wrote {path} in {time.perf_counter()-t0:.1f}s')
    size = path.stat().st_size
    print(f'file: {rows:,} rows, {size/2**20:.1f} MiB; cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}')
    runs = {k: [] for k in ('pandas', 'polars', 'riskbench')}
    for _ in range(repeat):  # interleaved, so that a change in machine load hits every reader alike
        for kind in runs: runs[kind].append(measure(kind, path))
    best = {}
    for kind, rs in runs.items():
        n, dt, cpu, _ = min(rs, key=lambda r: r[2])
        mem = max(r[3] for r in rs)
        best[kind] = dict(n=n, wall=dt, cpu=cpu, mem=mem / size)
        print(f'{kind:>10}: {n:,} rows kept; {cpu:.2f} s CPU, {dt:.2f} s wall = {n/dt:,.0f} rows/s; '
              f'peak memory {mem/size:.2f}x file size')
    assert best['polars']['n'] == best['riskbench']['n'], 'the two readers disagree on the rows kept'
    ratio = best['riskbench']['cpu'] / best['polars']['cpu']
    print(f'riskbench / polars + the same checks, CPU: {ratio:.2f}x (target <= 1.0x) -> {"PASS" if ratio <= 1 else "MISS"}; '
          f'wall: {best["riskbench"]["wall"] / best["polars"]["wall"]:.2f}x')
    print(f'riskbench peak memory: {best["riskbench"]["mem"]:.2f}x file size (target <= 3x) -> '
          f'{"PASS" if best["riskbench"]["mem"] <= 3 else "MISS"}')
    return best

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, nargs='+', default=[100_000, 1_000_000])
    ap.add_argument('--repeat', type=int, default=3)
    a = ap.parse_args()
    res = {n: one_size(n, a.repeat) for n in a.rows}
    if len(res) > 1:
        (n0, r0), (n1, r1) = list(res.items())[0], list(res.items())[-1]
        for kind in ('polars', 'riskbench'):
            g = math.log(r1[kind]['cpu'] / r0[kind]['cpu']) / math.log(n1 / n0)
            print(f'growth exponent of {kind} CPU from {n0:,} to {n1:,} rows: {g:.2f} (1.0 = linear)')

if __name__ == '__main__': main()
