"""Generative guard families benchmark (issue 15), CPU: one-pass scoring against per-row `generate()`, same run.

For each family, a tiny random model of its real architecture class (from tests/test_families.py: Qwen3, Gemma 2,
Mistral, Llama 4 text, Granite, Llama 3, GPT-OSS) with a tokenizer holding the template's tokens, and the same prompts
(mixed lengths), scored these ways (same method as benchmarks/scoring.py):
  (a) per-row `generate()` as the model cards show usage: the card's prompt, `model.generate(max_new_tokens=20)`, the
      new tokens decoded; ShieldGemma and Granite Guardian one call per policy / risk, as their cards do (a random
      model never stops early, as a real one that writes e.g. 'Harmful request: yes\\nResponse refusal: no' would not);
  (b) per-row single forward pass (the one-pass score, one row at a time, no prefix cache, no branching);
  (p) guards with several probes per row only: the engine with the probes run one by one after the cached policy
      prefix (`branch_probes = False`, the path before the row's start was shared);
  (c) the riskbench engine: sorted by length, token-budget batches, the policy prefix's KV cache reused, a row's
      probes branched after the start they share (the preamble and the row's text).
Each method runs `--repeats` times, interleaved (a b p c, a b p c, ...); the figures are medians of CPU seconds
(`time.process_time`, this process, one torch thread) with the wall-clock median next to them, and the load average
before and after. Checks that (b), (p) and (c) agree.

Run: .venv/bin/python benchmarks/families.py [--rows 48] [--hidden 64] [--layers 2] [--repeats 3] [--families ...]
"""
import argparse, copy, os, platform, statistics, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT/'tests')]

OWN = {'spam': '* "No Spam": The prompt shall not advertise products or services or ask others to buy them.',
       'pii': '* "No Private Information": The prompt shall not contain or seek the private information of a person '
              '(home address, phone number, identity document numbers).'}
# name: (tiny model kind, guard class, options); the seven families with their defaults, then the multi-probe cases
KINDS = {'qwen3guard': ('qwen3', 'Qwen3Guard', {}),
         'shieldgemma': ('gemma2', 'ShieldGemma', {}),  # the card's four policies
         'wildguard': ('mistral', 'WildGuard', {}), 'llama-guard-4': ('llama4', 'LlamaGuard4', {}),
         'granite-guardian': ('granite', 'GraniteGuardian', {}),  # one risk (harm), the card's default
         'nemoguard': ('llama', 'NemoGuard', {}), 'gpt-oss-safeguard': ('gpt_oss', 'GptOssSafeguard', {}),
         'shieldgemma-2': ('gemma2', 'ShieldGemma', dict(policies=['dangerous', 'hate'])),
         'shieldgemma-6': ('gemma2', 'ShieldGemma', dict(policies=None, own=True)),
         'granite-guardian-3': ('granite', 'GraniteGuardian', dict(risks=['harm', 'jailbreak', 'violence']))}


def prompts(n, seed=0, lo=8, hi=200):
    "n texts of lo..hi words drawn from a small English word list"
    words = ('the a how do I make bake bread door lock pick help me with this please explain step by why what is '
             'safe unsafe harmful question answer tell write code story about people city water fire').split()
    r = np.random.default_rng(seed)
    return [' '.join(r.choice(words, int(r.integers(lo, hi + 1)))) for _ in range(n)]


def timed(f):
    "(CPU seconds, wall seconds, result)"
    c0, w0 = time.process_time(), time.perf_counter(); r = f()
    return time.process_time() - c0, time.perf_counter() - w0, r


def per_row_generate(g, texts, new_tokens=20):
    "Usage as the cards show it: the card's prompt per row (per policy), generate, decode the new tokens"
    import torch
    out = []
    for t in texts:
        msgs = [{'role': 'user', 'content': t}]
        rendered = [p for *_, p in g.probes(msgs)] if hasattr(g, 'probes') else [g.render(msgs)]
        for p in rendered:  # ShieldGemma and Granite Guardian: one call per policy, as their cards do
            ids = g.tok(p, add_special_tokens=False, return_tensors='pt')['input_ids']
            with torch.inference_mode():
                s = g.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                     min_new_tokens=new_tokens, do_sample=False, pad_token_id=g.pad_id)
            out.append(g.tok.decode(s[0, ids.shape[1]:], skip_special_tokens=True))
    return out


def build(F, tmp, name, hidden, layers):
    "The guard for a benchmark case, on its tiny model (built once per model kind)"
    kind, cls, kw = KINDS[name]
    d = tmp/kind
    if not d.exists():
        from test_families import tiny_family
        tiny_family(d, kind, hidden=hidden, layers=layers, **({'template': None} if kind == 'llama' else {}))
    kw = dict(kw)
    if kw.pop('own', False):
        kw['policies'] = {k: F.shieldgemma_policy(k) for k in F.SHIELDGEMMA_POLICIES} | OWN
    return getattr(F, cls).load(str(d), device='cpu', **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=48); ap.add_argument('--hidden', type=int, default=64)
    ap.add_argument('--layers', type=int, default=2); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--new-tokens', type=int, default=20); ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--families', nargs='*', default=list(KINDS))
    a = ap.parse_args()
    import torch, transformers
    torch.set_num_threads(a.threads)
    from riskbench import families as F
    from riskbench.guards import run_engine
    texts, n = prompts(a.rows), a.rows
    load0 = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in load0)} "
          f"(start), torch {torch.__version__} ({torch.get_num_threads()} thread), transformers {transformers.__version__}")
    print(f"data: {n} prompts of 8-200 words; models: random, hidden {a.hidden}, {a.layers} layers, vocab < 1k, fp32; "
          f"median of {a.repeats} interleaved runs; rows/s from CPU seconds (wall-clock rows/s in brackets)")
    print(f"{'case':19} {'class':18} {'params':>7} {'probes':>6} {'(a) generate':>15} {'(b) 1-pass/row':>15} "
          f"{'(p) unbranched':>15} {'(c) engine':>15} {'c/a':>6} {'c/b':>6} {'c/p':>6} {'max|b-c|':>8}")
    tmp = Path(tempfile.mkdtemp())
    for name in a.families:
        g = build(F, tmp, name, a.hidden, a.layers)
        k = len(g.probes([{'role': 'user', 'content': 'x'}])) if hasattr(g, 'probes') else 1
        plain = copy.copy(g); plain.prefix_cache = False
        ways = {'a': lambda: per_row_generate(g, texts, a.new_tokens),
                'b': lambda: np.vstack([run_engine(plain, [t])[0] for t in texts]),
                'c': lambda: run_engine(g, texts)[0]}
        if k > 1:
            unbranched = copy.copy(g); unbranched.branch_probes = False
            ways['p'] = lambda: run_engine(unbranched, texts)[0]
            run_engine(unbranched, texts[:2])
        run_engine(g, texts[:2]); run_engine(plain, texts[:1])  # warm-up: prefix caches, first-call costs
        cpu, wall, out = {w: [] for w in ways}, {w: [] for w in ways}, {}
        for _ in range(a.repeats):
            for w in 'abpc':
                if w not in ways: continue
                c, t, out[w] = timed(ways[w]); cpu[w].append(c); wall[w].append(t)
        mc, mw = ({w: statistics.median(v[w]) for w in ways} for v in (cpu, wall))
        rate = lambda w: f"{n/mc[w]:6.1f} [{n/mw[w]:6.1f}]" if w in ways else f"{'-':>15}"
        ratio = lambda w, v: f"{mc[v]/mc[w]:5.1f}x" if v in ways else f"{'-':>6}"
        diff = max(float(np.nanmax(np.abs(out['b'] - out[w]))) for w in 'cp' if w in out)
        params = sum(p.numel() for p in g.model.parameters())
        print(f"{name:19} {type(g.model).__name__:18} {params/1e3:6.0f}k {k:6d} {rate('a')} {rate('b')} {rate('p')} "
              f"{rate('c')} {ratio('c', 'a')} {ratio('c', 'b')} {ratio('c', 'p')} {diff:8.1e}", flush=True)
        assert diff < 1e-4, f"{name}: batched / prefix-cached / branched scores differ from one-row scores by {diff}"
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == '__main__':
    main()
