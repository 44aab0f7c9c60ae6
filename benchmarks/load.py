"""Load and validate a 1,000,000-row JSONL eval set with riskbench, against pandas' unvalidated read.

Prints rows/s for each, the ratio (target: riskbench <= 2x pandas' time), and the peak memory each
adds over its baseline as a multiple of the file size (target: riskbench < 3x). Each reader runs in
its own process so that peak memory is measured cleanly.

    python benchmarks/load.py [--rows N]
"""
import argparse, json, os, subprocess, sys, time, random
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
base = rss()
t0 = time.perf_counter()
if sys.argv[1] == 'pandas': df = pd.read_json(sys.argv[2], lines=True); n = len(df)
else: df, rep = c.load_eval_set(sys.argv[2]); n = rep.kept; assert rep.read == n, rep
dt = time.perf_counter() - t0
print(n, dt, hwm() - base)
'''

def measure(kind, path):
    r = subprocess.run([sys.executable, '-c', CHILD, kind, str(path)], capture_output=True, text=True)
    if r.returncode: sys.exit(f'{kind} failed: {r.stderr[-2000:]}')
    n, dt, mem = r.stdout.split()
    return int(n), float(dt), int(mem)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, default=1_000_000)
    ap.add_argument('--repeat', type=int, default=2)
    a = ap.parse_args()
    data = HERE/'_data'; data.mkdir(exist_ok=True)
    path = data/f'eval_{a.rows}.jsonl'
    if not path.exists():
        t0 = time.perf_counter(); make_file(path, a.rows); print(f'wrote {path} in {time.perf_counter()-t0:.1f}s')
    size = path.stat().st_size
    print(f'file: {a.rows:,} rows, {size/2**20:.1f} MiB; cores: {os.cpu_count()}')
    best = {}
    for kind in ('pandas', 'riskbench'):
        runs = [measure(kind, path) for _ in range(a.repeat)]
        n, dt, mem = min(runs, key=lambda r: r[1])
        best[kind] = (n, dt, max(r[2] for r in runs))
        print(f'{kind:>10}: {n:,} rows in {dt:.2f}s = {n/dt:,.0f} rows/s; peak memory +{mem/2**20:.0f} MiB = {mem/size:.2f}x file size')
    ratio = best['riskbench'][1] / best['pandas'][1]
    memx = best['riskbench'][2] / size
    print(f'ratio riskbench/pandas time: {ratio:.2f}x (target <= 2x) -> {"PASS" if ratio <= 2 else "MISS"}')
    print(f'riskbench peak memory: {memx:.2f}x file size (target < 3x) -> {"PASS" if memx < 3 else "MISS"}')

if __name__ == '__main__': main()
