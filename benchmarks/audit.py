"""Data-audit scanning speed at 1,000,000 synthetic rows, against naive pandas loops measured in the same run.

Prints, for identity-term and PII scanning, riskbench's time and a naive loop of `Series.str.contains`
(one call per lexicon term, one per PII pattern) with their ratio (target: riskbench >= 5x faster);
the whole data audit without language detection as rows/s; and near-duplicate detection at 100k and
1M rows (it must grow sub-quadratically: 10x the rows should take far less than 100x the time).

The naive identity loop is O(terms x rows); by default it is timed on a 100,000-row slice and scaled
linearly to the full row count (printed as such); `--full-naive` times it on every row.

    python benchmarks/audit.py [--rows N] [--full-naive]
"""
import argparse, time, re, platform, os
import numpy as np, pandas as pd

def make_rows(n:int, seed:int=0)->pd.DataFrame:
    rng = np.random.default_rng(seed)
    letters = np.array(list('abcdefghijklmnopqrstuvwxyz'))
    vocab = np.unique([''.join(rng.choice(letters, rng.integers(2, 10))) for _ in range(6000)])  # pseudo-words, no digits
    ident = np.array(['women', 'Muslims', 'immigrants', 'gay people', 'elderly people', 'Caucasian', 'disabled', 'teenagers'])
    lens = rng.integers(6, 25, n)
    words = vocab[rng.integers(0, len(vocab), int(lens.sum()))]
    cut = np.cumsum(lens)[:-1]
    texts = [' '.join(w) for w in np.split(words, cut)]
    k = n // 50  # 2% mention an identity group
    for i, t in zip(rng.choice(n, k, replace=False), rng.choice(ident, k)): texts[i] = f'{texts[i]} about {t}'
    pii = ['mail me at jo.doe@example.com', 'card 4111 1111 1111 1111', 'call +44 20 7946 0958', 'ip 192.0.2.44',
           'iban DE89 3704 0044 0532 0130 00', 'ssn 219-09-9999', 'key AKIAIOSFODNN7EXAMPLE']
    k = n // 200  # 0.5% hold PII
    for i, t in zip(rng.choice(n, k, replace=False), rng.choice(pii, k)): texts[i] = f'{texts[i]} {t}'
    k = n // 200  # 0.5% near copies (one word changed) and 0.5% exact copies
    src, dst = rng.choice(n, k), rng.choice(n, k)
    for s, d in zip(src, dst):
        w = texts[s].split(); w[len(w) // 2] = 'changed'; texts[d] = ' '.join(w)
    src, dst = rng.choice(n, k), rng.choice(n, k)
    for s, d in zip(src, dst): texts[d] = texts[s]
    return pd.DataFrame({'id': [f'r{i}' for i in range(n)], 'text': texts, 'label': rng.integers(0, 2, n),
                         'split': np.where(rng.random(n) < 0.9, 'train', 'test'), 'language': 'en'})

NAIVE_PII = {'email': r'[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}', 'card': r'\b(?:\d[ -]?){13,19}\b',
             'iban': r'\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}', 'ip': r'\b(?:\d{1,3}\.){3}\d{1,3}\b', 'ssn': r'\b\d{3}-\d{2}-\d{4}\b',
             'phone': r'\+?\d[\d ().-]{7,}\d', 'aws': r'\bAKIA[0-9A-Z]{16}\b'}

def timed(f):
    t = time.perf_counter(); r = f(); return r, time.perf_counter() - t

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=1_000_000)
    ap.add_argument('--full-naive', action='store_true')
    a = ap.parse_args()
    from riskbench import audit as A
    print(f'# riskbench audit benchmark: {a.rows:,} rows, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}')
    df, t = timed(lambda: make_rows(a.rows)); print(f'generated in {t:.1f}s')
    lex = A.load_lexicon()
    en = lex.terms[lex.terms.language == 'en']

    # identity terms: riskbench (one tokenisation, vectorised lookups) vs one str.contains per English term
    men, t_id = timed(lambda: A.identity_mentions(df, lex))
    n_naive = a.rows if a.full_naive else min(a.rows, 100_000)
    sub = df['text'].iloc[:n_naive]
    def naive_identity():
        hits = 0
        for term in en['term']:
            hits += int(sub.str.contains(r'\b' + re.escape(term) + r'\b', case=False, regex=True).sum())
        return hits
    _, t_naive_id = timed(naive_identity)
    t_naive_id_full = t_naive_id * a.rows / n_naive
    print(f'identity terms: riskbench {t_id:.1f}s ({len(men):,} mentions, {len(lex.terms):,} terms in {len(lex.languages)} languages); '
          f'naive str.contains over {len(en)} English terms {t_naive_id_full:.1f}s' + ('' if a.full_naive else f' (measured {t_naive_id:.1f}s on {n_naive:,} rows, scaled)')
          + f'; ratio {t_naive_id_full / t_id:.1f}x')

    # PII: one combined regex + validation vs one str.contains per pattern (no validation)
    pii, t_pii = timed(lambda: A.find_pii(df['text']))
    def naive_pii():
        return {k: int(df['text'].str.contains(p, regex=True).sum()) for k, p in NAIVE_PII.items()}
    _, t_naive_pii = timed(naive_pii)
    print(f'PII: riskbench {t_pii:.1f}s ({len(pii):,} findings, checksums validated); naive str.contains over {len(NAIVE_PII)} patterns {t_naive_pii:.1f}s; ratio {t_naive_pii / t_pii:.1f}x')
    print(f'identity + PII together: riskbench {t_id + t_pii:.1f}s, naive {t_naive_id_full + t_naive_pii:.1f}s; ratio {(t_naive_id_full + t_naive_pii) / (t_id + t_pii):.1f}x')

    # near duplicates at 100k and full size
    t_nd = {}
    for n in sorted({min(100_000, a.rows), a.rows}):
        p, t_nd[n] = timed(lambda: A.near_duplicate_pairs(df['text'].iloc[:n]))
        print(f'near duplicates (MinHash+LSH, threshold 0.5): {n:,} rows in {t_nd[n]:.1f}s, {len(p):,} pairs')
    if len(t_nd) == 2:
        (n1, t1), (n2, t2) = sorted(t_nd.items())
        print(f'  {n2/n1:.0f}x the rows took {t2/t1:.1f}x the time (quadratic would be {(n2/n1)**2:.0f}x)')

    # the whole audit, without language detection
    s, t_all = timed(lambda: A.audit_dataset(df, detect_languages=False))
    print(f'whole data audit (no language detection): {t_all:.1f}s, {a.rows / t_all:,.0f} rows/s; '
          f"exact {s['duplicates']['exact']:,}, near {s['duplicates']['near']:,}, leakage rows {s['leakage']['rows']:,}, PII rows {s['pii']['rows']:,}")

if __name__ == '__main__':
    main()
