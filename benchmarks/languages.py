"""Language identification throughput: riskbench.multilingual.detect_languages against calling Lingua directly.

    .venv/bin/python benchmarks/languages.py [--n 100000]

Sentences are built from tests/data/langid_sentences.jsonl (24 languages, 13 scripts): each is two sentences of
one language joined, plus a number, so that no two are alike. Both sides use the same all-language detector with
its models already loaded, Lingua's parallel batch API, and batches of 10,000 texts; the baseline keeps Lingua's
top language and confidence, riskbench adds its script pass, thresholds and fallbacks (and skips the detector
for texts whose script settles the language). The sides alternate chunk by chunk; CPU time is reported next to
wall time because wall time on a shared machine measures the neighbours too.
"""
import argparse, json, os, random, resource, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def sentences(n, seed=0):
    rows = [json.loads(l) for l in (ROOT/'tests'/'data'/'langid_sentences.jsonl').read_text(encoding='utf-8').splitlines()]
    by = {}
    for r in rows: by.setdefault(r['language'], []).append(r['text'])
    rnd, langs = random.Random(seed), sorted(by)
    out, truth = [], []
    for i in range(n):
        l = rnd.choice(langs); a, b = rnd.sample(by[l], 2) if len(by[l]) > 1 else (by[l][0], by[l][0])
        out.append(f"{a} {b} {i}"); truth.append(l)
    return out, truth

def build_cost(preload):
    "Seconds and peak memory to build the all-language detector (and, lazily, to detect 100 texts), in a fresh process"
    code = ("import time, resource; t=time.perf_counter(); from lingua import LanguageDetectorBuilder as B\n"
            f"b=B.from_all_languages(){'.with_preloaded_language_models()' if preload else ''}; d=b.build(); t1=time.perf_counter()-t\n"
            "import json; s=[l for l in open('tests/data/langid_sentences.jsonl')][:100]\n"
            "d.compute_language_confidence_values_in_parallel([json.loads(x)['text'] for x in s]); t2=time.perf_counter()-t\n"
            "print(t1, t2, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, check=True)
    return [float(x) for x in r.stdout.split()]

def direct(det, texts, batch=10_000):
    lang, conf = [], []
    for s in range(0, len(texts), batch):
        for v in det.compute_language_confidence_values_in_parallel(texts[s:s + batch]):
            top = v[0] if v and v[0].value > 0 else None
            lang.append(top.language.iso_code_639_1.name.lower() if top else None); conf.append(top.value if top else 0.0)
    return lang, conf

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--n', type=int, default=100_000); a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from riskbench.multilingual import detect_languages, language_detector
    print(f"machine: {os.cpu_count()} CPU cores; python {sys.version.split()[0]}")
    for preload in (True, False):
        t_build, t_first, rss = build_cost(preload)
        print(f"all-language detector, preload={preload}: build {t_build:.2f}s; build + first 100 texts {t_first:.2f}s; peak RSS {rss:,.0f} MB")
    texts, truth = sentences(a.n)
    det = language_detector(None)
    det.compute_language_confidence_values_in_parallel(sentences(2000, seed=1)[0])  # load the models both sides use
    # interleave the two sides chunk by chunk, alternating which goes first, so that other load on the machine
    # falls on both; CPU time (all threads of this process) is the contention-proof measure of the work done
    wall, cpu, dl, rb = dict(direct=0.0, riskbench=0.0), dict(direct=0.0, riskbench=0.0), [], []
    load0 = os.getloadavg()[0]
    for k, s in enumerate(range(0, len(texts), 10_000)):
        chunk = texts[s:s + 10_000]
        sides = [('direct', lambda: dl.extend(direct(det, chunk)[0])), ('riskbench', lambda: rb.append(detect_languages(chunk)))]
        for name, f in (sides if k % 2 == 0 else sides[::-1]):
            w, c = time.perf_counter(), time.process_time(); f()
            wall[name] += time.perf_counter() - w; cpu[name] += time.process_time() - c
    load1 = os.getloadavg()[0]
    import pandas as pd, numpy as np
    out = pd.concat(rb, ignore_index=True)
    acc_d = np.mean([l == t for l, t in zip(dl, truth)])
    acc_r = (out.language_detected.to_numpy() == np.array(truth)).mean()
    und = (out.language_detected == 'und').mean()
    print(f"{a.n:,} sentences (mean {sum(map(len, texts))/len(texts):.0f} characters); load average {load0:.1f} at start, {load1:.1f} at end")
    for name, acc in (('lingua direct', f"top-language accuracy {acc_d:.1%}"), ('riskbench detect_languages', f"accuracy {acc_r:.1%} (und {und:.1%})")):
        key = 'direct' if name.startswith('lingua') else 'riskbench'
        print(f"  {name:27s} wall {wall[key]:7.1f}s ({a.n/wall[key]:6,.0f} rows/s)  CPU {cpu[key]:7.1f}s ({a.n/cpu[key]*os.cpu_count():6,.0f} rows/s if {os.cpu_count()} cores were free)  {acc}")
    print(f"  overhead riskbench / direct: CPU {cpu['riskbench']/cpu['direct']:.2f}x, wall {wall['riskbench']/wall['direct']:.2f}x (target <= 1.2x)")

if __name__ == '__main__': main()
