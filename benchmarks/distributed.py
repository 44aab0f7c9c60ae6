"""Ray Data engine benchmark (issue 17), CPU: the same jobs on the local engine and on Ray, same run, same data.

  (1) overhead: `score_file` (local engine) vs `score_distributed` with 1 replica, baseline guard, --rows rows
      (target: Ray <= 1.25x the local time), timed without the cluster's start (a joined cluster is already up; the
      start is printed on its own), cache off;
  (2) scaling: 1 vs 2 CPU replicas (baseline guard), and a tiny transformer guard (a random-weight Prompt Guard of
      the real architecture class, tests/tiny_models.py) local vs 1 replica in rows/s (target: within 10%), end to
      end and marginal (--tiny-rows more rows: the start-up, guard_info and actor start cancel out);
  (3) near duplicates on --near-rows synthetic rows (1% planted near copies): `near_duplicates_ray` time and the
      peak RSS of each Ray worker process (sampled every 0.2 s with psutil), against the local
      `audit.near_duplicates` (time and peak RSS of its process) on the same rows when --near-local is given;
      --near-hash runs it with Ray Data's sort shuffle and with its hash shuffle (the module takes the sort up to
      SORT_SHUFFLE_ROWS rows; interleaved: sort, hash, sort, hash; the driver's CPU seconds next to wall time;
      the same pairs);
Every distributed result is checked against the local one (scores to 1e-6, the same pairs).

Run: .venv/bin/python benchmarks/distributed.py [--rows 100000] [--tiny-rows 2000] [--near-rows 200000] [--near-local]
     [--near-hash] [--skip-scoring]
"""
import argparse, json, os, platform, resource, subprocess, sys, tempfile, threading, time
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT/'tests')]


def timed(f):
    t0 = time.perf_counter(); r = f(); return time.perf_counter() - t0, r


def eval_file(rows:int, folder:Path)->Path:
    "benchmarks/_data/eval_ROWS.jsonl when present, else `rows` prompts sampled from the bundled demo prompts"
    p = ROOT/f'benchmarks/_data/eval_{rows}.jsonl'
    if p.exists(): return p
    base = [json.loads(l) for l in (ROOT/'datasets/demo_prompts.jsonl').read_text().splitlines() if l.strip()]
    r = np.random.default_rng(0)
    out = folder/f'eval_{rows}.jsonl'
    with out.open('w') as f:
        for i in range(rows):
            b = base[int(r.integers(len(base)))]
            f.write(json.dumps(dict(id=f'r{i}', text=f"{b['text']} (case {i})", label=b.get('label', 0))) + '\n')
    return out


def synthetic_texts(n:int, seed:int=0)->pd.DataFrame:
    "n texts of 20-60 words from a 20k-word vocabulary, 1% of them near copies (one word changed) of an earlier text"
    r = np.random.default_rng(seed)
    vocab = np.array([f'w{i}' for i in range(20000)], dtype=object)
    lens = r.integers(20, 61, n)
    texts = [' '.join(vocab[r.integers(0, len(vocab), L)]) for L in lens]
    for i in r.choice(np.arange(1, n), n // 100, replace=False):
        w = texts[int(r.integers(0, i))].split(); w[int(r.integers(len(w)))] = 'changed'; texts[i] = ' '.join(w)
    return pd.DataFrame({'id': [f'n{i}' for i in range(n)], 'text': texts})


class PeakRSS(threading.Thread):
    "Peak resident memory of each Ray worker process (ray::... command lines), sampled until stopped"
    def __init__(self, every:float=0.2):
        super().__init__(daemon=True); self.every, self.peak, self.stop = every, {}, threading.Event()
    def run(self):
        import psutil
        while not self.stop.is_set():
            for p in psutil.process_iter(['pid', 'name', 'cmdline', 'memory_info']):
                try:
                    name = ' '.join(p.info['cmdline'] or [])[:60]
                    if name.startswith('ray::') and p.info['memory_info']:
                        self.peak[p.info['pid']] = max(self.peak.get(p.info['pid'], 0), p.info['memory_info'].rss)
                except Exception: pass
            self.stop.wait(self.every)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=100_000); ap.add_argument('--tiny-rows', type=int, default=2000)
    ap.add_argument('--near-rows', type=int, default=200_000); ap.add_argument('--near-local', action='store_true')
    ap.add_argument('--near-hash', action='store_true')
    ap.add_argument('--skip-scoring', action='store_true')
    a = ap.parse_args()
    if 2 * a.tiny_rows > a.rows: ap.error('--tiny-rows: at most half of --rows')
    from riskbench import guards as G, audit as A, distributed as D
    from riskbench.core import load_eval_set
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    t_start, _ = timed(lambda: D.start_local(num_cpus=2))
    print(f"local Ray cluster (2 CPUs) started in {t_start:.1f}s (not counted below)")
    tmp = Path(tempfile.mkdtemp())
    if not a.skip_scoring:
        data = eval_file(a.rows, tmp)
        G.load_guard('baseline')  # the fitted baseline is cached per process: fit it once outside the timings
        t_loc, (loc, _) = timed(lambda: G.score_file(data, 'baseline', cache=False, progress=False))
        t_r1, (r1, _) = timed(lambda: D.score_distributed(data, 'baseline', cache=False, replicas=1))
        t_r2, (r2, _) = timed(lambda: D.score_distributed(data, 'baseline', cache=False, replicas=2))
        for r in (r1, r2): np.testing.assert_allclose(r['score'], loc['score'], atol=1e-6)
        print(f"baseline, {len(loc):,} rows: local {t_loc:.1f}s ({len(loc)/t_loc:,.0f} rows/s); Ray 1 replica {t_r1:.1f}s "
              f"= {t_r1/t_loc:.2f}x local (target <= 1.25x); Ray 2 replicas {t_r2:.1f}s = {t_r1/t_r2:.2f}x 1 replica")
        from tiny_models import tiny_prompt_guard, PG1_LABELS
        spec = f"prompt-guard:{tiny_prompt_guard(tmp/'pg', PG1_LABELS, seed=3)}"
        full, _ = load_eval_set(data, missing_label='keep')
        df, df2 = (full.iloc[:k].reset_index(drop=True) for k in (a.tiny_rows, 2 * a.tiny_rows))
        G.load_guard(spec)
        t_info, _ = timed(lambda: D.guard_info(spec, {}))  # the driver's look at the guard: a worker loads it once
        t_tl, (tl, _) = timed(lambda: G.score_table(df, spec, cache=False, progress=False))
        t_tr, (tr, _) = timed(lambda: D.score_table_ray(df, spec, cache=False, replicas=1))
        t_tl2, _ = timed(lambda: G.score_table(df2, spec, cache=False, progress=False))
        t_tr2, _ = timed(lambda: D.score_table_ray(df2, spec, cache=False, replicas=1))
        t_trr, (trr, _) = timed(lambda: D.score_table_ray(df, spec, cache=False, replicas=2))
        np.testing.assert_allclose(tr['score'], tl['score'], atol=1e-6)
        np.testing.assert_allclose(trr['score'], tl['score'], atol=1e-6)
        n = len(df)
        print(f"tiny transformer, {n:,} rows: local {n/t_tl:,.0f} rows/s; Ray 1 replica {n/t_tr:,.0f} rows/s end to end "
              f"({t_tl/t_tr:.2f}x local's rate; guard_info alone {t_info:.1f}s); 2 replicas {n/t_trr:,.0f} rows/s")
        print(f"  marginal rate ({n:,} more rows, start-up cancelled): local {n/(t_tl2 - t_tl):,.0f} rows/s, "
              f"Ray 1 replica {n/(t_tr2 - t_tr):,.0f} rows/s = {(t_tl2 - t_tl)/(t_tr2 - t_tr):.2f}x (target >= 0.90x); "
              f"fixed cost of a Ray job {2 * t_tr - t_tr2:.1f}s (local: {2 * t_tl - t_tl2:.1f}s); load "
              f"{os.getloadavg()[0]:.1f}")
    if a.near_rows:
        nd = synthetic_texts(a.near_rows)
        mon = PeakRSS(); mon.start()
        t_nr, pr = timed(lambda: D.near_duplicates_ray(nd))
        mon.stop.set(); mon.join()
        peaks = sorted(mon.peak.values(), reverse=True)
        print(f"near duplicates, {len(nd):,} rows on Ray (2 CPUs): {t_nr:.1f}s, {len(pr):,} pairs; peak RSS per worker "
              f"process: max {peaks[0]/2**30:.2f} GB, median {np.median(peaks)/2**30:.2f} GB over {len(peaks)} workers")
        if a.near_local:
            t_nl, pl = timed(lambda: A.near_duplicates(nd))
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            same = pl[['id_a', 'id_b']].equals(pr[['id_a', 'id_b']])
            print(f"  local audit.near_duplicates: {t_nl:.1f}s, {len(pl):,} pairs (same pairs: {same}); "
                  f"this process's peak RSS {rss:.2f} GB (driver + local run)")
        if a.near_hash:
            limit, res = D.SORT_SHUFFLE_ROWS, {}
            for side in ('sort', 'hash', 'sort', 'hash'):
                D.SORT_SHUFFLE_ROWS = float('inf') if side == 'sort' else -1
                c0 = time.process_time(); t, p = timed(lambda: D.near_duplicates_ray(nd))
                res.setdefault(side, []).append((t, time.process_time() - c0, os.getloadavg()[0]))
                assert p[['id_a', 'id_b']].equals(pr[['id_a', 'id_b']])
            D.SORT_SHUFFLE_ROWS = limit
            f = lambda side: ', '.join(f"{t:.1f}s (driver CPU {c:.1f}s, load {l:.1f})" for t, c, l in res[side])
            print(f"  shuffle, {len(nd):,} rows: sort {f('sort')}; hash {f('hash')}; hash/sort wall "
                  f"{np.median([t for t, _, _ in res['hash']]) / np.median([t for t, _, _ in res['sort']]):.2f}x; "
                  f"same pairs")
    import ray; ray.shutdown()


if __name__ == '__main__':
    main()
