"""Data-audit scans against the strongest alternatives, measured in the same run (riskbench issue 19, targets 2, 3).

- Identity terms: `audit.identity_mentions` against pyahocorasick (an Aho-Corasick automaton in C) built on the same
  normalised lexicon terms, run over the same normalised text, with word-boundary checks and the same longest-match
  rule. Both sides start from the raw column and pay for normalisation (NFKC, casefold, punctuation to spaces).
  The benchmark asserts that both count the same matches per term.
- Near duplicates: `audit.near_duplicate_pairs` against rensa (Rust MinHash + LSH) on the same word 3-shingle hashes,
  the same bands (42 x 3 = 126 permutations, rensa needs num_perm divisible by the bands) and the same exact-Jaccard
  verification. Both report their recall on the planted near copies.

Each side runs in its own process (so that peak memory, VmHWM over the process's resident set after the data is
built, is its own). Runs are interleaved: each repeat runs every size and, at each size, riskbench then the
alternative, so that load from other jobs falls on both sides and both sizes. The median of `--repeat` runs is
reported, CPU seconds (`time.process_time`, which load inflates far less than wall time) next to wall seconds, with
the load average during the runs. At two sizes the growth (t2/t1 for n2/n1 rows) and the growth exponent
log(t2/t1)/log(n2/n1) are printed, from the median CPU and wall seconds (1.00 is linear).

    python benchmarks/audit.py [--rows 100000 1000000] [--repeat 3] [--only identity|near]

pyahocorasick and rensa are benchmark-only dependencies (the Makefile's BENCH_ALTERNATIVES), not riskbench's.
"""
import argparse, json, math, os, platform, subprocess, sys, time
import numpy as np, pandas as pd

def make_rows(n:int, seed:int=0)->pd.DataFrame:
    "Synthetic prompts and the planted near copies: 2% mention an identity group, 0.5% hold PII, 0.5% near, 0.5% exact copies"
    rng = np.random.default_rng(seed)
    letters = np.array(list('abcdefghijklmnopqrstuvwxyz'))
    vocab = np.unique([''.join(rng.choice(letters, rng.integers(2, 10))) for _ in range(6000)])  # pseudo-words
    ident = np.array(['women', 'Muslims', 'immigrants', 'gay people', 'elderly people', 'Caucasian', 'disabled', 'teenagers'])
    lens = rng.integers(6, 25, n)
    words = vocab[rng.integers(0, len(vocab), int(lens.sum()))]
    texts = [' '.join(w) for w in np.split(words, np.cumsum(lens)[:-1])]
    k = n // 50
    for i, t in zip(rng.choice(n, k, replace=False), rng.choice(ident, k)): texts[i] = f'{texts[i]} about {t}'
    pii = ['mail me at jo.doe@example.com', 'card 4111 1111 1111 1111', 'call +44 20 7946 0958', 'ip 192.0.2.44',
           'iban DE89 3704 0044 0532 0130 00', 'ssn 219-09-9999', 'key AKIAIOSFODNN7EXAMPLE']
    k = n // 200
    for i, t in zip(rng.choice(n, k, replace=False), rng.choice(pii, k)): texts[i] = f'{texts[i]} {t}'
    src, dst = rng.choice(n, k), rng.choice(n, k)
    planted = []
    for s, d in zip(src, dst):
        w = texts[s].split(); w[len(w) // 2] = 'changed'; texts[d] = ' '.join(w); planted.append((int(s), int(d)))
    src2, dst2 = rng.choice(n, k), rng.choice(n, k)
    for s, d in zip(src2, dst2): texts[d] = texts[s]
    df = pd.DataFrame({'id': [f'r{i}' for i in range(n)], 'text': texts, 'label': rng.integers(0, 2, n),
                       'split': np.where(rng.random(n) < 0.9, 'train', 'test'), 'language': 'en'})
    return df, planted  # (pandas would deep-copy planted pairs kept in `df.attrs` on every operation)

def vm(key:str)->int:
    "A field of /proc/self/status in bytes"
    for line in open('/proc/self/status'):
        if line.startswith(key + ':'): return int(line.split()[1]) * 1024
    return 0

def reset_peak():
    "Restart VmHWM from the current resident set (Linux >= 4.0), so the peak is the measured step's own"
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
    except OSError: pass

# ------------------------------------------------------------------ identity terms

def identity_riskbench(df, lex):
    from riskbench import audit as A
    m = A.identity_mentions(df, lex)
    return m['term'].value_counts().to_dict()

def identity_aho(df, lex):
    "pyahocorasick over the normalised column: word-boundary checks, longest match first, no overlaps"
    import ahocorasick
    from riskbench import audit as A
    terms = lex.terms[lex.terms.language == 'en']  # every row of the benchmark is English
    au = ahocorasick.Automaton()
    for term in terms['term']: au.add_word(term, term)
    au.make_automaton()
    big = A._words_joined(A._as_texts(df['text']))  # the same normalised text
    hits = []
    for end, term in au.iter(big):
        s = end - len(term) + 1
        if (s == 0 or big[s - 1] in ' \x1e') and (end + 1 == len(big) or big[end + 1] in ' \x1e'):
            hits.append((s, end + 1, term))
    hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))  # longest first, then leftmost
    taken, counts = set(), {}
    for s, e, term in hits:
        if any(p in taken for p in range(s, e)): continue
        taken.update(range(s, e)); counts[term] = counts.get(term, 0) + 1
    return counts

# ------------------------------------------------------------------ near duplicates

def near_riskbench(df, threshold=0.5):
    from riskbench import audit as A
    p = A.near_duplicate_pairs(df['text'], threshold)
    return set(map(tuple, p[['i', 'j']].to_numpy().tolist()))

def near_rensa(df, threshold=0.5, num_perm=126, bands=42):
    "rensa's digest matrix and LSH on the same shingle hashes; pairs from the bands of the rows rensa flags, verified"
    import rensa
    from riskbench import audit as A
    hs, off = A.shingle_hashes(df['text'])
    m = rensa.RMinHash.digest_matrix_from_flat_token_hashes(hs, off.astype(np.uint64), num_perm, 1)
    lsh = rensa.RMinHashLSH(threshold, num_perm, bands)
    flags = np.asarray(lsh.insert_matrix_and_query_duplicate_flags(m), bool)
    rows = np.flatnonzero(flags & (np.diff(off) > 0))
    if not len(rows): return set()
    # the flagged rows' digests again (rensa computes them from the same hashes; the matrix has no NumPy view)
    lens = np.diff(off)[rows]
    sel = np.repeat(np.isin(np.arange(len(off) - 1), rows), np.diff(off))
    sub = rensa.RMinHash.digest_matrix_from_flat_token_hashes(hs[sel], np.concatenate([[0], np.cumsum(lens)]).astype(np.uint64),
                                                              num_perm, 1)
    sig = np.asarray(sub.to_rows(), np.uint64)
    r = num_perm // bands
    cand = []
    for b in range(bands):
        key = sig[:, b * r]
        for c in range(1, r): key = A._mix64(key * np.uint64(0x9E3779B97F4A7C15) + sig[:, b * r + c])
        cand.append(A._bucket_pairs(key, 200))
    cand = np.unique(rows[np.concatenate(cand)], axis=0)
    sim = A._jaccard_pairs(hs, off, cand)
    return set(map(tuple, np.sort(cand[sim >= threshold], axis=1).tolist()))

SIDES = {'identity': (identity_riskbench, identity_aho), 'near': (near_riskbench, near_rensa)}

def worker(what:str, side:int, n:int):
    "One measurement in this process: prints JSON with seconds, CPU seconds, peak memory over the data, result"
    df, planted = make_rows(n)
    from riskbench import audit as A
    lex = A.load_lexicon()
    f = SIDES[what][side]
    base = vm('VmRSS'); reset_peak()
    t, c = time.perf_counter(), time.process_time()
    res = f(df, lex) if what == 'identity' else f(df)
    t, c = time.perf_counter() - t, time.process_time() - c
    out = dict(seconds=t, cpu=c, peak=vm('VmHWM') - base, rss_base=base)
    if what == 'identity': out['counts'] = res
    else:
        # planted pairs still at or above the threshold (a one-word change leaves a short text below it)
        cand = np.array(sorted({tuple(sorted(p)) for p in planted if p[0] != p[1]}), np.int64).reshape(-1, 2)
        hs, off = A.shingle_hashes(df['text'])
        planted = set(map(tuple, cand[A._jaccard_pairs(hs, off, cand) >= 0.5].tolist()))
        out['pairs'] = len(res); out['planted'] = len(planted); out['planted_found'] = len(planted & res)
        out['sample'] = sorted(res)[:2000]
    print(json.dumps(out))

def run_side(what, side, n):
    r = subprocess.run([sys.executable, __file__, '--worker', what, str(side), str(n)], capture_output=True, text=True)
    if r.returncode: raise SystemExit(f'{what} side {side} at {n:,} rows failed:\n{r.stderr[-3000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, nargs='+', default=[100_000, 1_000_000])
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--only', choices=list(SIDES))
    ap.add_argument('--worker', nargs=3)
    a = ap.parse_args()
    if a.worker: return worker(a.worker[0], int(a.worker[1]), int(a.worker[2]))
    print(f'# riskbench audit benchmark: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, '
          f'load average {os.getloadavg()[0]:.1f}; median of {a.repeat} interleaved runs per side and size')
    names = {'identity': ('riskbench identity_mentions', 'pyahocorasick'), 'near': ('riskbench near_duplicate_pairs', 'rensa')}
    med = lambda rs, k: float(np.median([r[k] for r in rs]))
    cpus = lambda rs: [r['cpu'] for r in rs]
    for what in ([a.only] if a.only else list(SIDES)):
        runs = {(n, s): [] for n in a.rows for s in (0, 1)}
        for _ in range(a.repeat):
            for n in a.rows:
                for side in (0, 1):
                    load = os.getloadavg()[0]
                    r = run_side(what, side, n); r['load'] = (load + os.getloadavg()[0]) / 2
                    runs[n, side].append(r)
        for n in a.rows:
            r0, r1 = runs[n, 0], runs[n, 1]
            t0, t1, c0, c1 = med(r0, 'seconds'), med(r1, 'seconds'), med(r0, 'cpu'), med(r1, 'cpu')
            line = (f"{what} {n:,} rows: {names[what][0]} {t0:.2f}s (CPU {c0:.2f}s, peak {med(r0, 'peak') / 2**20:,.0f} MiB); "
                    f"{names[what][1]} {t1:.2f}s (CPU {c1:.2f}s, peak {med(r1, 'peak') / 2**20:,.0f} MiB); "
                    f"riskbench speed ratio {t1 / t0:.2f}x (CPU {c1 / c0:.2f}x; per-run CPU ratios "
                    f"{', '.join(f'{y_cpu / x_cpu:.2f}' for x_cpu, y_cpu in zip(cpus(r0), cpus(r1)))}); "
                    f"load average {med(r0 + r1, 'load'):.1f}")
            if what == 'identity':
                for x, y in zip(r0, r1):
                    assert x['counts'] == y['counts'], ('match counts per term differ', x['counts'], y['counts'])
                line += f"; same matches per term ({sum(r0[0]['counts'].values()):,} in {len(r0[0]['counts'])} terms)"
            else:
                line += (f"; planted near copies found: riskbench {r0[0]['planted_found']}/{r0[0]['planted']}, "
                         f"rensa {r1[0]['planted_found']}/{r1[0]['planted']}; verified pairs {r0[0]['pairs']:,} / "
                         f"{r1[0]['pairs']:,}")
            print(line, flush=True)
        if len(a.rows) == 2:
            n1, n2 = a.rows
            for s in (0, 1):
                t1, t2 = med(runs[n1, s], 'seconds'), med(runs[n2, s], 'seconds')
                c1, c2 = med(runs[n1, s], 'cpu'), med(runs[n2, s], 'cpu')
                g = lambda a, b: math.log(b / a) / math.log(n2 / n1)
                print(f'  {names[what][s]}: {n2 / n1:.0f}x the rows took {t2 / t1:.1f}x the time, {c2 / c1:.1f}x the CPU '
                      f'(growth exponent {g(t1, t2):.2f}, CPU {g(c1, c2):.2f}; per-repeat CPU growth '
                      f"{', '.join(f'{y / x:.1f}x' for x, y in zip(cpus(runs[n1, s]), cpus(runs[n2, s])))})")
    print(f'# load average at the end {os.getloadavg()[0]:.1f}')

if __name__ == '__main__':
    main()
