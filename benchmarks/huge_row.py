"""Peak memory of scoring a file that holds one huge row (issue 12 item 10), with the baseline guard.

Scores two files in separate processes, each with `riskbench.guards.score_file` and the baseline guard (no cache):
the same 200 ordinary rows, with and without one extra row of `--mb` megabytes (default 50). Prints each process's
peak resident memory (VmHWM) and the memory the huge row adds, against the file size. With `max_score_chars`
(default 20,000) the guard sees only that much of the huge row, so what it adds is about the row itself (read,
kept in the table, hashed), not the guard's n-gram matrix of 50 MB of text (11.6 GB before the bound).
`--max-chars 0` scores with no bound (a bound above the row's length): expect many GB and minutes.

    python benchmarks/huge_row.py [--mb 50] [--max-chars N]
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

WORDS = 'how do i bake bread tell me about the history of rome write a poem please explain steal a car'.split()

def make_file(path:Path, huge_mb:float):
    with open(path, 'w', encoding='utf-8') as f:
        for i in range(200):
            text = ' '.join(WORDS[(i + j) % len(WORDS)] for j in range(5 + i % 30))
            f.write(json.dumps(dict(id=f'r{i}', text=text)) + '\n')
        if huge_mb:
            n = int(huge_mb * 1e6)
            f.write(json.dumps(dict(id='huge', text=((' '.join(WORDS) + ' ') * (n // 90 + 1))[:n])) + '\n')

CHILD = r'''
import sys, time
def hwm():
    for l in open('/proc/self/status'):
        if l.startswith('VmHWM'): return int(l.split()[1]) * 1024
from riskbench import guards
guards.load_guard('baseline')                     # the fit is not what is measured
base = hwm(); t0 = time.perf_counter()
mc = int(sys.argv[2]) or None
df, rep = guards.score_file(sys.argv[1], 'baseline', cache=False, progress=False, max_chars=mc)
print(base, hwm(), time.perf_counter() - t0, len(df), int(df['truncated_for_scoring'].sum()))
'''

def run(path:Path, max_chars:int)->tuple:
    r = subprocess.run([sys.executable, '-c', CHILD, str(path), str(max_chars)], capture_output=True, text=True)
    if r.returncode: sys.exit(f"scoring {path} failed:\n{r.stderr}")
    base, peak, sec, rows, cut = r.stdout.split()
    return int(base), int(peak), float(sec), int(rows), int(cut)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--mb', type=float, default=50, help='size of the huge row in MB')
    ap.add_argument('--max-chars', type=int, default=20_000, help='max_score_chars (0: above the row length, no bound)')
    a = ap.parse_args()
    mc = a.max_chars or int(a.mb * 1e6) + 100
    with tempfile.TemporaryDirectory() as d:
        small, huge = Path(d)/'small.jsonl', Path(d)/'huge.jsonl'
        make_file(small, 0); make_file(huge, a.mb)
        rs, rh = run(small, mc), run(huge, mc)
        mb = huge.stat().st_size / 1e6
    gib = 1 << 30
    print(f"max_score_chars = {mc:,}")
    for name, (base, peak, sec, rows, cut) in (('without the huge row', rs), (f'with one {a.mb:g} MB row', rh)):
        print(f"  {name:<24} peak {peak / gib:6.2f} GiB (scoring added {(peak - base) / gib:6.2f} GiB) "
              f"in {sec:6.1f}s; {rows} rows scored, {cut} truncated for scoring")
    extra = (rh[1] - rh[0]) - (rs[1] - rs[0])
    print(f"the huge row adds {extra / gib:.2f} GiB of peak memory = {extra / 1e6 / mb:.1f}x its size "
          f"({mb:.0f} MB file)")

if __name__ == '__main__': main()
