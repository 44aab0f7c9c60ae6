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

    python benchmarks/load.py [--rows 100000 1000000] [--repeat 3] [--pandas]

`--same-output` checks instead that the Arrow-side checks (`core._ARROW_CHECKS`, the fast path) give what the
pandas path (`validate_records` on every block) gives: the same frame, dtypes, read and kept counts, rejects with
their reasons and records, flags and mapping, or the same error, on every bundled, example and hostile file and on
files built to reach each branch, each read in one block and in blocks of a few rows, under several settings;
and the same for `load_eval_set`, whose fast path checks ids once at the end (`core._DEFER_IDS`).
"""
import argparse, json, math, os, subprocess, sys, time, random
import numpy as np, pandas as pd
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

def one_size(rows:int, repeat:int, pandas:bool=False)->dict:
    data = HERE/'_data'; data.mkdir(exist_ok=True)
    path = data/f'eval_{rows}.jsonl'
    if not path.exists():
        t0 = time.perf_counter(); make_file(path, rows); print(f'wrote {path} in {time.perf_counter()-t0:.1f}s')
    size = path.stat().st_size
    print(f'file: {rows:,} rows, {size/2**20:.1f} MiB; cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}')
    runs = {k: [] for k in (('pandas',) if pandas else ()) + ('polars', 'riskbench')}
    for _ in range(repeat):  # interleaved, so that a change in machine load hits every reader alike
        for kind in runs: runs[kind].append(measure(kind, path))
    best = {}
    for kind, rs in runs.items():
        n, dt, cpu, _ = min(rs, key=lambda r: r[2])
        mem = max(r[3] for r in rs)
        best[kind] = dict(n=n, wall=dt, cpu=cpu, mem=mem / size)
        print(f'{kind:>10}: {n:,} rows kept; {cpu:.2f} s CPU, {dt:.2f} s wall = {n/dt:,.0f} rows/s; '
              f'peak memory {mem/size:.2f}x file size; every run (CPU s): {" ".join(f"{r[2]:.2f}" for r in rs)}')
    assert best['polars']['n'] == best['riskbench']['n'], 'the two readers disagree on the rows kept'
    ratio = best['riskbench']['cpu'] / best['polars']['cpu']
    print(f'riskbench / polars + the same checks, CPU: {ratio:.2f}x (target <= 1.0x) -> {"PASS" if ratio <= 1 else "MISS"}; '
          f'wall: {best["riskbench"]["wall"] / best["polars"]["wall"]:.2f}x')
    print(f'riskbench peak memory: {best["riskbench"]["mem"]:.2f}x file size (target <= 3x) -> '
          f'{"PASS" if best["riskbench"]["mem"] <= 3 else "MISS"}')
    return best

# --- the same output from both paths ---

def _base(n, rng):
    langs = ['en', 'de', 'FR', 'pt_BR', 'en-US']
    for i in range(n):
        u = rng.random() < 0.4
        yield dict(id=f'r{i}', text=f'text {i} ' + 'w' * rng.randint(1, 30), label=int(u), categories=['S1'] if u else [],
                   language=rng.choice(langs), taxonomy=' mlc ', source='syn', extra=i)

def variants(n:int=300, seed:int=0)->dict:
    "name -> list of JSON lines (bytes)"
    rng = random.Random(seed)
    base = list(_base(n, rng))
    enc = lambda recs: [json.dumps(r, ensure_ascii=False).encode() for r in recs]
    def mod(f):
        out = []
        for i, r in enumerate(base):
            r = dict(r); f(i, r); out.append(r)
        return out
    def drop(k): return lambda i, r: r.pop(k)
    V = {}
    V['clean'] = enc(base)
    V['no_id'] = enc(mod(drop('id')))
    V['no_id_repeated_texts'] = enc(mod(lambda i, r: (r.pop('id'), r.update(text=f't{i % 50}')))) 
    V['int_ids'] = enc(mod(lambda i, r: r.update(id=i)))
    V['int_ids_null'] = enc(mod(lambda i, r: r.update(id=None if i == 7 else i)))
    V['some_ids_missing'] = enc(mod(lambda i, r: r.pop('id') if i % 9 == 0 else None))
    V['dup_id_same_block'] = enc(mod(lambda i, r: r.update(id='r0') if i == 3 else None))
    V['dup_id_later_block'] = enc(mod(lambda i, r: r.update(id='r1') if i == n - 2 else None))
    V['dup_ids_every_block'] = enc(mod(lambda i, r: r.update(id=f'r{i % 40}')))
    V['label_words'] = enc(mod(lambda i, r: r.update(label=rng.choice(['safe', 'Unsafe', ' YES ', 'no', 'harmful', 'true']))))
    V['label_bool'] = enc(mod(lambda i, r: r.update(label=bool(r['label']))))
    V['label_float'] = enc(mod(lambda i, r: r.update(label=float(r['label']))))
    V['label_null'] = enc(mod(lambda i, r: r.update(label=None) if i % 17 == 0 else None))
    V['label_all_null'] = enc(mod(lambda i, r: r.update(label=None)))
    V['label_unknown'] = enc(mod(lambda i, r: r.update(label=2) if i == 100 else None))
    V['label_unknown_word'] = enc(mod(lambda i, r: r.update(label='maybe') if i == 5 else None))
    V['label_int_null_unknown'] = enc(mod(lambda i, r: r.update(label=None if i == 1 else 3 if i == 2 else r['label'])))
    V['no_label'] = enc(mod(drop('label')))
    V['cats_string'] = enc(mod(lambda i, r: r.update(categories=rng.choice(['S1, s2', 's3;S4', '', '["S1"]', ' S9 ']))))
    V['cats_odd'] = enc(mod(lambda i, r: r.update(categories=rng.choice([[' s1 ', '"S2"', ''], ["'x'"], [], ['S1', 'S1']]))))
    V['cats_null_elem'] = enc(mod(lambda i, r: r.update(categories=['S1', None]) if i == 4 else None))
    V['cats_sep'] = enc(mod(lambda i, r: r.update(categories=['a\x1fb']) if i == 4 else None))
    V['cats_all_empty'] = enc(mod(lambda i, r: r.update(categories=[])))
    V['cats_null'] = enc(mod(lambda i, r: r.update(categories=None) if i % 3 else None))
    V['cats_ints'] = enc(mod(lambda i, r: r.update(categories=[1, 2])))
    V['lang_bad'] = enc(mod(lambda i, r: r.update(language='English') if i == 8 else None))
    V['lang_null_empty'] = enc(mod(lambda i, r: r.update(language=rng.choice([None, '', ' ', 'EN']))))
    V['lang_all_null'] = enc(mod(lambda i, r: r.update(language=None)))
    V['text_blank'] = enc(mod(lambda i, r: r.update(text=rng.choice(['', ' ', '\u3000', '\x1c', 'ok'])) if i % 11 == 0 else None))
    V['text_null'] = enc(mod(lambda i, r: r.update(text=None) if i == 6 else None))
    V['text_int'] = enc(mod(lambda i, r: r.update(text=5) if i == 6 else None))
    V['text_long'] = enc(mod(lambda i, r: r.update(text='é' * 120) if i == 9 else None))
    V['text_unicode'] = enc(mod(lambda i, r: r.update(text=rng.choice(['ça va', 'नमस्ते', 'こんにちは', '🙂 ok']))))
    V['prompt_synonym'] = enc(mod(lambda i, r: (r.update(prompt=r.pop('text'), is_unsafe=r.pop('label')))))
    V['two_text_synonyms'] = enc(mod(lambda i, r: r.update(prompt=r.pop('text'), question='q')))
    V['text_and_prompt'] = enc(mod(lambda i, r: r.update(prompt='p')))
    V['conversation'] = enc(mod(lambda i, r: r.update(conversation=[{'role': 'user', 'content': r['text']}])))
    V['row_column'] = enc(mod(lambda i, r: r.update(_row=i)))
    V['taxonomy_odd'] = enc(mod(lambda i, r: r.update(taxonomy=rng.choice([' ', None, 'x ', 'MLC']))))
    V['taxonomy_int'] = enc(mod(lambda i, r: r.update(taxonomy=3)))
    V['struct_extra'] = enc(mod(lambda i, r: r.update(meta={'a': i, 'b': [1, 2]}, empty=None)))
    V['date_text'] = enc(mod(lambda i, r: r.update(text='2024-01-01') if i % 2 else None))
    V['date_ids'] = enc(mod(lambda i, r: r.update(id=f'2024-01-{1 + i % 28:02d}T00:00:{i % 60:02d}')))
    V['no_text'] = enc(mod(drop('text')))
    V['dup_id_bad_block'] = enc(mod(lambda i, r: r.update(id='r1') if i == n - 2 else r.update(text=' ') if i == n - 3 else None))
    V['dup_id_blocks_apart'] = enc(mod(lambda i, r: r.update(id=f'r{i - n // 2}') if i >= n - 3 else None))
    from riskbench.core import text_hash
    h = 'h' + text_hash(pd.Series([base[2]['text']]))[0]
    V['given_id_of_generated'] = enc(mod(lambda i, r: r.pop('id') if i == 2 else r.update(id=h) if i == n - 2 else None))
    lines = enc(base)
    V['blank_lines'] = lines[:50] + [b''] + lines[50:]
    V['bad_json_line'] = lines[:50] + [b'{"id": "x", "text": '] + lines[50:]
    V['bad_utf8'] = lines[:50] + [b'{"id": "x", "text": "a\xff"}'] + lines[50:]
    V['not_object'] = lines[:50] + [b'[1, 2]'] + lines[50:]
    V['crlf'] = [l + b'\r' for l in lines]
    V['bom'] = [b'\xef\xbb\xbf' + lines[0]] + lines[1:]
    return V

def write_variants(folder:Path, n:int=300)->list:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, lines in variants(n).items():
        p = folder/f'{name}.jsonl'; p.write_bytes(b'\n'.join(lines) + b'\n'); out.append(p)
    return out


def canon(v):
    if isinstance(v, np.ndarray): return ('nd', str(v.dtype), [canon(x) for x in v.tolist()])
    if isinstance(v, (list, tuple)): return (type(v).__name__, [canon(x) for x in v])
    if isinstance(v, dict): return ('d', sorted((k, canon(x)) for k, x in v.items()))
    if v is pd.NA: return 'NA'
    if isinstance(v, float) and math.isnan(v): return ('nan', type(v).__name__)
    return (type(v).__name__, v)

def run(mod, path, batch_bytes, **kw):
    rep = mod.RowReport(str(path))
    try:
        parts = list(mod.iter_eval_set(path, report=rep, batch_bytes=batch_bytes, **kw))
        df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=['id', *kw.get('required', ('text',))])
        if 'label' in df: df['label'] = df['label'].astype('Int8')
    except Exception as e: return ('error', type(e).__name__, str(e))
    return df, dict(read=rep.read, kept=rep.kept, rejects=canon(rep.rejects), flags=canon(rep.flags), mapping=rep.mapping)

def same(a, b)->str|None:
    "None when the two results are identical, else what differs"
    err = lambda r: isinstance(r[0], str)
    if err(a) or err(b):
        return None if err(a) and err(b) and a == b else f'errors differ: {str(a)[:300]} / {str(b)[:300]}'
    (da, ra), (db, rb) = a, b
    if list(da.columns) != list(db.columns): return f'columns {list(da.columns)} / {list(db.columns)}'
    if not da.dtypes.equals(db.dtypes): return f'dtypes {dict(da.dtypes)} / {dict(db.dtypes)}'
    if not da.index.equals(db.index): return 'index'
    for c in da.columns:
        if canon(da[c].tolist()) != canon(db[c].tolist()): return f'values of {c}'
    for k in ra:
        if ra[k] != rb[k]: return f'report {k}: {str(ra[k])[:300]} / {str(rb[k])[:300]}'
    return None

def run_load(mod, path, batch_bytes, **kw):
    "`load_eval_set` in blocks of `batch_bytes`, as `run` gives it"
    try: df, rep = mod.load_eval_set(path, batch_bytes, **kw)
    except Exception as e: return ('error', type(e).__name__, str(e))
    return df, dict(read=rep.read, kept=rep.kept, rejects=canon(rep.rejects), flags=canon(rep.flags), mapping=rep.mapping)

def compare(mod_a, mod_b, paths, combos)->list:
    bad = []
    for p in paths:
        for bb, kw in combos:
            for f in (run, run_load):
                d = same(f(mod_a, p, bb, **kw), f(mod_b, p, bb, **kw))
                if d: bad.append((f.__name__, str(p), bb, kw, d))
    return bad

COMBOS = [(8<<20, {}), (1500, {}), (1500, dict(missing_label='keep')), (1500, dict(max_chars=50)),
          (1500, dict(mapping={'extra': 'source'})), (3000, dict(required=('text', 'label')))]

class _Path:
    "riskbench.core with the Arrow checks (and `load_eval_set`'s deferred id check) on or off"
    def __init__(self, on): import riskbench.core as c; self.c, self.on = c, on
    def __getattr__(self, k): return getattr(self.c, k)
    def iter_eval_set(self, *a, **k):
        old, self.c._ARROW_CHECKS = self.c._ARROW_CHECKS, self.on
        try: yield from self.c.iter_eval_set(*a, **k)
        finally: self.c._ARROW_CHECKS = old
    def load_eval_set(self, path, batch_bytes, **k):
        c = self.c
        old, (c._ARROW_CHECKS, c._DEFER_IDS, c._LOAD_BYTES) = (c._ARROW_CHECKS, c._DEFER_IDS, c._LOAD_BYTES), \
            (self.on, self.on, batch_bytes)
        try: return c.load_eval_set(path, **k)
        finally: c._ARROW_CHECKS, c._DEFER_IDS, c._LOAD_BYTES = old

def same_output(folder:Path, files:list|None=None, combos:list=COMBOS, n:int=300)->list:
    "Differences between the two paths (empty when none) on `files` (default: the repo's JSON-lines files) and the variants"
    root = HERE.parent
    if files is None: files = sorted(p for d in ('datasets', 'tests/data', 'examples') for p in (root/d).rglob('*.jsonl'))
    return compare(_Path(False), _Path(True), write_variants(folder, n) + list(files), combos)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, nargs='+', default=[100_000, 1_000_000])
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--pandas', action='store_true', help="also time pandas' unvalidated read_json (history)")
    ap.add_argument('--same-output', action='store_true', help='compare the Arrow-side checks with the pandas path')
    a = ap.parse_args()
    if a.same_output:
        import tempfile
        with tempfile.TemporaryDirectory() as d: bad = same_output(Path(d))
        for b in bad: print(b)
        print(f'{len(bad)} differences'); sys.exit(1 if bad else 0)
    res = {n: one_size(n, a.repeat, a.pandas) for n in a.rows}
    if len(res) > 1:
        (n0, r0), (n1, r1) = list(res.items())[0], list(res.items())[-1]
        for kind in ('polars', 'riskbench'):
            g = math.log(r1[kind]['cpu'] / r0[kind]['cpu']) / math.log(n1 / n0)
            print(f'growth exponent of {kind} CPU from {n0:,} to {n1:,} rows: {g:.2f} (1.0 = linear)')

if __name__ == '__main__': main()
