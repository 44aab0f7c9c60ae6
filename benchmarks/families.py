"""Generative guard families benchmark (issue 15), CPU: one-pass scoring against per-row `generate()`, same run.

For each family, a tiny random model of its real architecture class (from tests/test_families.py: Qwen3, Gemma 2,
Mistral, Llama 4 text, Granite, Llama 3, GPT-OSS) with a tokenizer holding the template's tokens, and the same prompts
(mixed lengths), scored three ways:
  (a) per-row `generate()` as the model cards show usage: the card's prompt, `model.generate(max_new_tokens=20)`,
      the new tokens decoded (a random model never stops early, as a real one that writes e.g.
      'Harmful request: yes\\nResponse refusal: no' would not);
  (b) per-row single forward pass (the one-pass score, one row at a time, no prefix cache);
  (c) the riskbench engine: sorted by length, token-budget batches, the policy prefix's KV cache reused.
Prints rows/s and the ratios c/a and c/b, and checks that (b) and (c) agree.

Run: .venv/bin/python benchmarks/families.py [--rows 48] [--hidden 64] [--layers 2] [--threads 1] [--families ...]
"""
import argparse, os, platform, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT/'tests')]

KINDS = {'qwen3guard': ('qwen3', 'Qwen3Guard', {}), 'shieldgemma': ('gemma2', 'ShieldGemma', {}),
         'wildguard': ('mistral', 'WildGuard', {}), 'llama-guard-4': ('llama4', 'LlamaGuard4', {}),
         'granite-guardian': ('granite', 'GraniteGuardian', {}), 'nemoguard': ('llama', 'NemoGuard', {}),
         'gpt-oss-safeguard': ('gpt_oss', 'GptOssSafeguard', {})}


def prompts(n, seed=0, lo=8, hi=200):
    "n texts of lo..hi words drawn from a small English word list"
    words = ('the a how do I make bake bread door lock pick help me with this please explain step by why what is '
             'safe unsafe harmful question answer tell write code story about people city water fire').split()
    r = np.random.default_rng(seed)
    return [' '.join(r.choice(words, int(r.integers(lo, hi + 1)))) for _ in range(n)]


def timed(f):
    t0 = time.perf_counter(); r = f(); return time.perf_counter() - t0, r


def per_row_generate(g, texts, new_tokens=20):
    "Usage as the cards show it: the card's prompt per row, generate, decode the new tokens"
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=48); ap.add_argument('--hidden', type=int, default=64)
    ap.add_argument('--layers', type=int, default=2); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--new-tokens', type=int, default=20)
    ap.add_argument('--families', nargs='*', default=list(KINDS))
    a = ap.parse_args()
    import torch, transformers
    torch.set_num_threads(a.threads)
    from test_families import tiny_family
    from riskbench import families as F
    from riskbench.guards import run_engine
    texts = prompts(a.rows)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), transformers {transformers.__version__}")
    print(f"data: {a.rows} prompts of 8-200 words; models: random, hidden {a.hidden}, {a.layers} layers, vocab < 1k, fp32")
    print(f"{'family':18} {'class':18} {'params':>8} {'(a) gen rows/s':>14} {'(b) 1-pass':>10} {'(c) engine':>10} "
          f"{'c/a':>7} {'c/b':>6} {'max|b-c|':>9}")
    tmp = Path(tempfile.mkdtemp())
    for fam in a.families:
        kind, cls, kw = KINDS[fam]
        d = tiny_family(tmp/kind, kind, hidden=a.hidden, layers=a.layers, **({'template': None} if kind == 'llama' else {}))
        g = getattr(F, cls).load(str(d), device='cpu', **kw)
        plain = type(g)(g.model, g.tok, prefix_cache=False)
        run_engine(g, texts[:2]); run_engine(plain, texts[:1])  # warm-up: prefix caches, first-call costs
        ta, _ = timed(lambda: per_row_generate(g, texts, a.new_tokens))
        tb, b = timed(lambda: np.vstack([run_engine(plain, [t])[0] for t in texts]))
        tc, (c, _) = timed(lambda: run_engine(g, texts))
        n, params = len(texts), sum(p.numel() for p in g.model.parameters())
        diff = float(np.nanmax(np.abs(b - c)))
        print(f"{fam:18} {type(g.model).__name__:18} {params/1e3:7.0f}k {n/ta:14.1f} {n/tb:10.1f} {n/tc:10.1f} "
              f"{ta/tc:6.1f}x {tb/tc:5.1f}x {diff:9.1e}")
        assert diff < 1e-4, f"{fam}: batched + prefix-cached scores differ from one-row scores by {diff}"


if __name__ == '__main__':
    main()
