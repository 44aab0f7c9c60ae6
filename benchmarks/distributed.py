"""Ray Data engine benchmark (issue 17), CPU: the same jobs on the local engine and on Ray, same run, same data.

  (1) overhead: `score_file` (local engine) vs `score_distributed` with 1 replica, baseline guard, --rows rows
      (target: Ray <= 1.25x the local time), timed without the cluster's start (a joined cluster is already up; the
      start is printed on its own), cache off, each side fitting the baseline in its timing; once from a table in
      memory, once streamed (file in, Parquet out, against the local engine writing the same file); --repeats runs of
      each, interleaved, and their medians compared;
  (2) scaling: 1 vs 2 CPU replicas (baseline guard), and a tiny transformer guard (a random-weight Prompt Guard of
      the real architecture class, tests/tiny_models.py) local vs 1 replica in rows/s (target: within 10%), end to
      end and steady (rows/s between the first and the last scored batch reaching the driver, --tiny-batch rows a
      batch: the replica's start and model load are outside it);
  (3) near duplicates on --near-rows synthetic rows (1% planted near copies): `near_duplicates_ray` time and the
      peak RSS of each Ray worker process (sampled every 0.2 s with psutil), against the local
      `audit.near_duplicates` (time and peak RSS of its process) on the same rows when --near-local is given;
      --near-hash runs it with Ray Data's sort shuffle and with its hash shuffle (the module takes the sort up to
      SORT_SHUFFLE_ROWS rows; interleaved: sort, hash, sort, hash; the driver's CPU seconds next to wall time;
      the same pairs);
--full-workers: the local cluster's workers import jsonschema's optional IRI checker (`start_local(lean=False)`); by
default they do without it, as `start_local` starts them.
Every distributed result is checked against the local one (scores to 1e-6, the same pairs).

Run: .venv/bin/python benchmarks/distributed.py [--full-workers] [--rows 100000] [--repeats 3] [--tiny-rows 50000] [--tiny-batch 4096] [--near-rows 200000] [--near-local]
     [--near-hash] [--skip-scoring] [--near-stream 10000000]
"""
import argparse, contextlib, json, os, platform, resource, subprocess, sys, tempfile, threading, time
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


def steady(D, f, times:bool=False):
    """(seconds, f(), steady rows/s[, arrivals]): the rate between the first and the last scored batch reaching the
    driver (`D._collect`), so the replicas' start and model load are outside it"""
    seen, collect = [], D._collect
    D._collect = lambda rs, b: (seen.append((time.perf_counter(), len(b))), collect(rs, b))
    try: t, r = timed(f)
    finally: D._collect = collect
    rate = sum(k for _, k in seen[1:]) / (seen[-1][0] - seen[0][0]) if len(seen) > 2 else float('nan')
    return (t, r, rate, seen) if times else (t, r, rate)


def synthetic_texts(n:int, seed:int=0)->pd.DataFrame:
    "n texts of 20-60 words from a 20k-word vocabulary, 1% of them near copies (one word changed) of an earlier text"
    r = np.random.default_rng(seed)
    vocab = np.array([f'w{i}' for i in range(20000)], dtype=object)
    lens = r.integers(20, 61, n)
    texts = [' '.join(vocab[r.integers(0, len(vocab), L)]) for L in lens]
    for i in r.choice(np.arange(1, n), n // 100, replace=False):
        w = texts[int(r.integers(0, i))].split(); w[int(r.integers(len(w)))] = 'changed'; texts[i] = ' '.join(w)
    return pd.DataFrame({'id': [f'n{i}' for i in range(n)], 'text': texts})


def synthetic_file(path:str, start:int, n:int, seed:int)->np.ndarray:
    """Rows start..start+n-1 of the synthetic table (as `synthetic_texts`, copies inside the file) as one Parquet file;
    returns the planted pairs (original, copy) as global positions"""
    r = np.random.default_rng(seed)
    vocab = np.array([f'w{i}' for i in range(20000)], dtype=object)
    lens = r.integers(20, 61, n)
    words = vocab[r.integers(0, len(vocab), int(lens.sum()))]
    cuts = np.concatenate([[0], np.cumsum(lens)])
    texts = [' '.join(words[cuts[i]:cuts[i + 1]]) for i in range(n)]
    copies = np.sort(r.choice(np.arange(1, n), n // 100, replace=False))
    src = np.array([int(r.integers(0, i)) for i in copies], np.int64)
    for i, j in zip(copies, src):
        w = texts[j].split(); w[int(r.integers(len(w)))] = 'changed'; texts[i] = ' '.join(w)
    pd.DataFrame({'id': [f'n{start + i}' for i in range(n)], 'text': texts}).to_parquet(path, row_group_size=n)
    differ = np.array([texts[i] != texts[j] for i, j in zip(copies, src)], bool)  # a copy of a copy can equal it
    return np.stack([src + start, copies + start], 1)[differ]


def anonymous(pid:int)->int:
    "Bytes of a process's anonymous memory (its heap: not the object store's shared pages, which RSS also counts)"
    with open(f'/proc/{pid}/smaps_rollup') as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith('Anonymous:'))


class PeakRSS(threading.Thread):
    """Peak resident memory of each Ray worker process (ray::... command lines), sampled until stopped; `uss`: also
    the peak of its anonymous memory (RSS less the object store's shared pages it wrote or read)"""
    def __init__(self, every:float=0.2, uss:bool=False):
        super().__init__(daemon=True); self.every, self.peak, self.stop = every, {}, threading.Event()
        self.uss, self.peak_uss, self.names = uss, {}, {}
    def run(self):
        import psutil
        while not self.stop.is_set():
            for p in psutil.process_iter(['pid', 'name', 'cmdline', 'memory_info']):
                try:
                    name = ' '.join(p.info['cmdline'] or [])[:60]
                    if name.startswith('ray::') and p.info['memory_info']:
                        if p.info['memory_info'].rss > self.peak.get(p.info['pid'], 0): self.names[p.pid] = name
                        self.peak[p.info['pid']] = max(self.peak.get(p.info['pid'], 0), p.info['memory_info'].rss)
                        if self.uss:
                            self.peak_uss[p.pid] = max(self.peak_uss.get(p.pid, 0), anonymous(p.pid))
                except Exception: pass
            self.stop.wait(self.every)


def worker_import_ray(lean:bool)->float:
    "Seconds a fresh Python takes to import ray, in the environment of the local cluster's workers (`lean` or not)"
    from riskbench import distributed as D
    code = "import time; t = time.perf_counter(); import ray; print(time.perf_counter() - t)"
    with D.env_path(D.lean_path()) if lean else contextlib.nullcontext():
        return float(subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=100_000); ap.add_argument('--tiny-rows', type=int, default=50_000)
    ap.add_argument('--tiny-batch', type=int, default=4096)
    ap.add_argument('--near-rows', type=int, default=200_000); ap.add_argument('--near-local', action='store_true')
    ap.add_argument('--near-hash', action='store_true')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--skip-scoring', action='store_true'); ap.add_argument('--skip-tiny', action='store_true')
    ap.add_argument('--near-stream', type=int, default=0); ap.add_argument('--files', type=int, default=64)
    ap.add_argument('--full-workers', action='store_true')
    a = ap.parse_args()
    if a.tiny_rows > a.rows: ap.error('--tiny-rows: at most --rows')
    from riskbench import guards as G, audit as A, distributed as D
    from riskbench.core import load_eval_set
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    t_start, _ = timed(lambda: D.start_local(num_cpus=2, lean=not a.full_workers))
    print(f"local Ray cluster (2 CPUs) started in {t_start:.1f}s (not counted below)")
    ray = D.require_ray()
    loaded = ray.get(ray.remote(lambda: 'rfc3987_syntax' in sys.modules).remote())
    assert loaded == a.full_workers, f'rfc3987-syntax loaded on a worker: {loaded}'
    print(f"  workers {'with' if loaded else 'without'} rfc3987-syntax (--full-workers: with): `import ray` in their "
          f"environment {worker_import_ray(not a.full_workers):.2f}s, {worker_import_ray(a.full_workers):.2f}s "
          f"{'without' if loaded else 'with'} it")
    # Ray Data starts its cluster-wide actors (stats, autoscaling coordinator, actor locations) at a cluster's first
    # job and keeps them, and the baseline's tasks import Ray Data and riskbench once in each worker process: a joined
    # cluster has done both; here a 4-row job does them, outside the timings (its time is printed)
    t_warm, _ = timed(lambda: D.score_table_ray(pd.DataFrame({'id': list('abcd'), 'text': list('abcd')}), 'baseline',
                                                cache=False))
    print(f"Ray Data's first job (its cluster-wide actors, the workers' imports), 4 rows: {t_warm:.1f}s (not counted "
          f"below)")
    tmp = Path(tempfile.mkdtemp())
    if not a.skip_scoring:
        data = eval_file(a.rows, tmp)
        # each side loads (fits) the baseline in its own timing, as a fresh run does (on Ray: the driver fits it once
        # and sends it to the replicas); the sides are interleaved, --repeats times, and medians compared, so that a
        # slow minute of the machine falls on every side
        refit = lambda f: (G._BASELINE_FITS.clear(), f())[1]
        runs, rates = {k: [] for k in ('local', 'r1', 'r2', 'lw', 's1', 's2')}, {'r1': [], 'r2': []}
        for _ in range(a.repeats):
            t, (loc, _) = timed(lambda: refit(lambda: G.score_file(data, 'baseline', cache=False, progress=False)))
            runs['local'].append(t)
            for k, n in (('r1', 1), ('r2', 2)):
                t, (r, _), st = steady(D, lambda: refit(lambda: D.score_distributed(data, 'baseline', cache=False,
                                                                                    replicas=n)))
                np.testing.assert_allclose(r['score'], loc['score'], atol=1e-6)
                runs[k].append(t); rates[k].append(st)
        for _ in range(a.repeats):  # streamed: file in, Parquet table out, against the local engine writing the same
            runs['lw'].append(timed(lambda: refit(lambda: G.score_file(data, 'baseline', out=tmp/'local.parquet',
                                                                       cache=False, progress=False)))[0])
            for k, n in (('s1', 1), ('s2', 2)):
                runs[k].append(timed(lambda: refit(lambda: D.score_distributed(data, 'baseline', out=tmp/f'{k}.parquet',
                                                                               cache=False, replicas=n)))[0])
                assert pd.read_parquet(tmp/f'{k}.parquet').drop(columns='score').equals(
                    pd.read_parquet(tmp/'local.parquet').drop(columns='score'))
        m = {k: float(np.median(v)) for k, v in runs.items()}
        each = lambda k: ', '.join(f'{t:.1f}' for t in runs[k])
        print(f"baseline, {len(loc):,} rows, medians of {a.repeats} interleaved runs: local {m['local']:.1f}s "
              f"({each('local')}; {len(loc)/m['local']:,.0f} rows/s); Ray 1 replica {m['r1']:.1f}s ({each('r1')}) = "
              f"{m['r1']/m['local']:.2f}x local (target <= 1.25x); Ray 2 replicas {m['r2']:.1f}s ({each('r2')}) = "
              f"{m['r1']/m['r2']:.2f}x 1 replica")
        print(f"  steady rate (scored batches reaching the driver): 1 replica {np.median(rates['r1']):,.0f} rows/s, "
              f"2 replicas {np.median(rates['r2']):,.0f} rows/s = {np.median(rates['r2'])/np.median(rates['r1']):.2f}x; "
              f"load {os.getloadavg()[0]:.1f}")
        print(f"  streamed (file -> Parquet table): local {m['lw']:.1f}s ({each('lw')}); Ray 1 replica {m['s1']:.1f}s "
              f"({each('s1')}) = {m['s1']/m['lw']:.2f}x local; 2 replicas {m['s2']:.1f}s ({each('s2')}) = "
              f"{m['s1']/m['s2']:.2f}x 1 replica; same tables; load {os.getloadavg()[0]:.1f}")
    if not a.skip_scoring and not a.skip_tiny:
        from tiny_models import tiny_prompt_guard, PG1_LABELS
        spec = f"prompt-guard:{tiny_prompt_guard(tmp/'pg', PG1_LABELS, seed=3)}"
        full, _ = load_eval_set(data, missing_label='keep')
        df = full.iloc[:a.tiny_rows].reset_index(drop=True)
        G.load_guard(spec)
        t_info, _ = timed(lambda: D.guard_info(spec, {}))  # the driver's look at the guard: a worker loads it once
        t_tl, (tl, _) = timed(lambda: G.score_table(df, spec, cache=False, progress=False))
        df.to_parquet(tmp/'tiny.parquet')  # a fresh local process: imports, model load and scoring, as a CLI run
        cold = (f"import time; t0 = time.perf_counter(); import pandas as pd; from riskbench import guards as G; "
                f"G.score_table(pd.read_parquet({str(tmp/'tiny.parquet')!r}), {spec!r}, cache=False, progress=False); "
                f"print(time.perf_counter() - t0)")
        t_cold = float(subprocess.run([sys.executable, '-c', cold], capture_output=True, text=True, check=True,
                                      cwd=ROOT).stdout.split()[-1])
        t_tr, (tr, _), steady_r, seen = steady(D, lambda: D.score_table_ray(df, spec, cache=False, replicas=1,
                                                                            batch_rows=a.tiny_batch), times=True)
        t_trr, (trr, _) = timed(lambda: D.score_table_ray(df, spec, cache=False, replicas=2, batch_rows=a.tiny_batch))
        np.testing.assert_allclose(tr['score'], tl['score'], atol=1e-6)
        np.testing.assert_allclose(trr['score'], tl['score'], atol=1e-6)
        n = len(df)
        print(f"tiny transformer, {n:,} rows: local {n/t_tl:,.0f} rows/s (model loaded), {n/t_cold:,.0f} rows/s in a "
              f"fresh process (imports and load counted, {t_cold:.1f}s); Ray 1 replica {n/t_tr:,.0f} rows/s end to end "
              f"= {t_tl/t_tr:.2f}x the loaded rate, {t_cold/t_tr:.2f}x the fresh process's (guard_info alone "
              f"{t_info:.1f}s); 2 replicas {n/t_trr:,.0f} rows/s")
        print(f"  steady rate on Ray, 1 replica (batches of {a.tiny_batch:,} rows, from the first scored batch to the last, "
              f"{len(seen)} batches): {steady_r:,.0f} rows/s = {steady_r/(n/t_tl):.2f}x local (target >= 0.90x); the rest "
              f"of the job ({t_tr - (seen[-1][0] - seen[0][0]):.1f}s) is the replica's start and its first batch; load "
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
    if a.near_stream: near_stream(a.near_stream, a.files, tmp)
    import ray; ray.shutdown()


def near_stream(rows:int, files:int, tmp:Path):
    "(4): `near_duplicates_ray` on a Parquet folder of `rows` synthetic rows written by Ray tasks"
    import ray
    from riskbench import distributed as D
    folder = tmp/'near_stream'; folder.mkdir()
    each = -(-rows // files)
    task = ray.remote(synthetic_file)
    t_gen, planted = timed(lambda: ray.get([task.remote(str(folder/f'part-{f:03d}.parquet'), f * each,
                                                        min(each, rows - f * each), f) for f in range(files)
                                            if f * each < rows]))
    planted = {tuple(p) for x in planted for p in x.tolist()}
    size = sum(f.stat().st_size for f in folder.iterdir())
    print(f"near duplicates, streamed: {rows:,} rows written as {files} Parquet files ({size/2**30:.2f} GiB) by Ray "
          f"tasks in {t_gen:.1f}s (not counted); load {os.getloadavg()[0]:.1f}")
    mon = PeakRSS(uss=True); mon.start()
    c0 = time.thread_time(); t, pr = timed(lambda: D.near_duplicates_ray(str(folder)))
    cpu = time.thread_time() - c0  # the driver's own thread: not the sampler's, not Ray's
    mon.stop.set(); mon.join()
    peaks = sorted(mon.peak.values(), reverse=True)
    top = max(mon.peak, key=mon.peak.get)
    found = {(int(x[1:]), int(y[1:])) for x, y in zip(pr['id_a'], pr['id_b'])}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"  near_duplicates_ray({folder.name}/): {t:.1f}s wall (driver thread CPU {cpu:.1f}s), {len(pr):,} pairs; planted "
          f"pairs found {len(planted & found):,}/{len(planted):,}; pairs not planted {len(found - planted):,}; peak RSS "
          f"per worker process max {peaks[0]/2**30:.2f} GB, median {np.median(peaks)/2**30:.2f} GB over {len(peaks)} "
          f"workers (anonymous memory: max {max(mon.peak_uss.values())/2**30:.2f} GB; the largest RSS was {mon.names[top].strip()!r} at its peak); driver peak RSS {rss:.2f} GB; load {os.getloadavg()[0]:.1f}")


if __name__ == '__main__':
    main()
