"""Guard scoring benchmark (issue 3), CPU: one run, same data, same small Llama-Guard-shaped random model.

512 prompts of 10-400 tokens (mixed), scored four ways:
  (a) per-row `generate()` with the text verdict parsed, as the Llama Guard 3 model cards show usage:
      `input_ids = tokenizer.apply_chat_template(conversation, return_tensors="pt")` (with `return_dict=False`, which
      transformers 5 needs to return the tensor the card expects), `model.generate(input_ids=input_ids,
      max_new_tokens=20, pad_token_id=0)`, decode the new tokens, read the first line (a random model never writes
      <|eot_id|>, so all 20 steps run, as they would for a real model that writes e.g. "unsafe\nS1,S10" and stops);
  (b) per-row single forward pass (the whole prompt, one row at a time);
  (c) batched by a token budget, without sorting and without the prefix cache;
  (d) the riskbench engine: sorted by length, token-budget batches, the policy prefix's KV cache reused.
Prints rows/s and the ratios d/a (target >= 20x) and d/c (target >= 1.5x), and checks that (b), (c), (d) agree.

`--ab N` (issue 19) runs instead an interleaved A/B against the strongest plain alternative, N rounds:
  (e) a plain transformers batch as a practitioner would write it: rows sorted by length (longest first), batches cut by
      the same padded-token budget, left-padded with an attention mask and position ids from it, one
      `model(..., logits_to_keep=1)` call per batch, softmax, P('unsafe');
  (d) the riskbench engine (its CPU default: riskbench's own Llama forward pass, sorted batches, cached prefix);
  (d0, with --old) the engine on transformers' forward pass (`fast=False`), to show where the gain comes from.
Each round runs every path once on the same rows; the figures are medians over rounds of CPU seconds (process time,
all threads) and wall seconds, with the load average read at each round; the scores of (d) and (d0) must equal (e)'s
to 1e-6.

The model is Llama-Guard-shaped: LlamaForCausalLM with tied embeddings, a 32,000-token vocabulary (the real 128,256 is
too slow for a 2-core CPU), MLP = 4 x hidden as in Llama Guard 3 1B, 8 heads / 2 key-value heads, fp32. The tokenizer is
the tiny test tokenizer (token ids < 600 of the 32,000), with Llama Guard 3 1B's chat template: the prompt text is the
real template text (task line, S1-S13, instructions).

Run: .venv/bin/python benchmarks/scoring.py [--rows 512] [--layers 4] [--hidden 256] [--vocab 32000] [--ab 3 [--old]]
"""
import argparse, os, platform, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT/'tests')]


def prompts(tok, n, lo=10, hi=400, seed=0):
    "n texts of lo..hi tokens, decoded from random ordinary tokens"
    r = np.random.default_rng(seed)
    special = set(tok.all_special_ids)
    pool = [i for i in range(len(tok)) if i not in special and tok.convert_ids_to_tokens(i) and '<|' not in tok.convert_ids_to_tokens(i)]
    return [tok.decode(r.choice(pool, int(r.integers(lo, hi + 1)))).replace('<|', '< |') for _ in range(n)]


def timed(f):
    t0 = time.perf_counter(); r = f(); return time.perf_counter() - t0, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=512); ap.add_argument('--layers', type=int, default=4)
    ap.add_argument('--hidden', type=int, default=256); ap.add_argument('--vocab', type=int, default=32000); ap.add_argument('--batch-tokens', type=int, default=4096)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--ab', type=int, default=0, help='interleaved A/B rounds against the plain sorted HF batch')
    ap.add_argument('--old', action='store_true', help='with --ab: also the engine on transformers\' forward pass')
    a = ap.parse_args()
    import torch, transformers
    if a.threads: torch.set_num_threads(a.threads)
    from transformers import LlamaConfig, LlamaForCausalLM
    from tiny_models import llama_guard_tokenizer
    from riskbench.guards import LlamaGuard, run_engine
    tok = llama_guard_tokenizer()
    cfg = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=4*a.hidden, num_hidden_layers=a.layers,
                      num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=4096, rope_theta=500000.0,
                      tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    cfg._attn_implementation = 'sdpa'
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).eval()
    g = LlamaGuard(model, tok, device='cpu')
    texts = prompts(g.tok, a.rows)
    lens = [len(g.tok.encode(t, add_special_tokens=False)) for t in texts]
    items, _ = g.encode(texts)
    prefix = len(g._prefix['user'])
    params = sum(p.numel() for p in g.model.parameters())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), transformers {transformers.__version__}")
    print(f"model: random LlamaForCausalLM, {a.layers} layers, hidden {a.hidden}, MLP {4*a.hidden}, 8 heads / 2 KV heads, vocab {a.vocab} (tied), {params/1e6:.1f}M parameters, fp32")
    print(f"data: {a.rows} prompts, {min(lens)}-{max(lens)} tokens (mean {np.mean(lens):.0f}); prompt template adds {prefix} prefix tokens (cached) and ~{np.mean([it.n for it in items]) - np.mean(lens):.0f} suffix tokens")
    res = {}
    if a.ab: return ab(a, g, texts, model)

    # (a) per-row generate + parse, exactly as the Llama Guard 3 1B model card shows usage
    def card(texts):
        verdicts = []
        for t in texts:
            conversation = [{"role": "user", "content": [{"type": "text", "text": t}]}]
            input_ids = tok.apply_chat_template(conversation, return_tensors="pt", return_dict=False).to(model.device)
            prompt_len = input_ids.shape[1]
            output = model.generate(input_ids=input_ids, max_new_tokens=20, pad_token_id=0)
            generated_tokens = output[:, prompt_len:]
            text = tok.decode(generated_tokens[0], skip_special_tokens=True).strip()
            first = text.splitlines()[0].strip() if text else ''
            verdicts.append(first if first in ('safe', 'unsafe') else 'unparsed')
        return verdicts
    import transformers as _t; _t.utils.logging.set_verbosity_error()
    ta, ref = timed(lambda: card(texts))
    res['a'] = a.rows / ta
    print(f"(a) per-row generate() + parse (card):   {res['a']:8.1f} rows/s  ({ta:.1f}s; 20 new tokens per row; verdicts parsed: {np.mean([v != 'unparsed' for v in ref]):.0%} — a random model does not write one)")

    # (b) per-row single forward pass over the whole prompt
    def per_row():
        out = []
        with torch.inference_mode():
            for t in texts:
                ids = g.tok(g.render([{'role': 'user', 'content': t}]), add_special_tokens=False)['input_ids'] + g.nl2
                p = torch.softmax(g.model(torch.tensor([ids])).logits[0, -1].float(), -1)
                out.append(float(p[g.unsafe_id]))
        return np.array(out)
    tb, sb = timed(per_row); res['b'] = a.rows / tb
    print(f"(b) per-row single forward pass:         {res['b']:8.1f} rows/s  ({tb:.1f}s)")

    # (c) batched, unsorted, no prefix cache
    gc = LlamaGuard(g.model, g.tok, prefix_cache=False)
    tc, (sc, _) = timed(lambda: run_engine(gc, texts, batch_tokens=a.batch_tokens, sort=False))
    res['c'] = a.rows / tc
    print(f"(c) batched, unsorted, no prefix cache:  {res['c']:8.1f} rows/s  ({tc:.1f}s, batch_tokens={a.batch_tokens})")

    # (d) the engine
    g._kv.clear()  # the prefix's KV cache is computed inside the timed run
    td, (sd, _) = timed(lambda: run_engine(g, texts, batch_tokens=a.batch_tokens))
    res['d'] = a.rows / td
    print(f"(d) riskbench engine (sorted + prefix):  {res['d']:8.1f} rows/s  ({td:.1f}s, batch_tokens={a.batch_tokens})")

    diff_bc, diff_bd = np.abs(sb - sc[:, 0]).max(), np.abs(sb - sd[:, 0]).max()
    print(f"agreement: max |b-c| = {diff_bc:.2e}, max |b-d| = {diff_bd:.2e} (the one-pass score equals generate()'s verdict-step probability: tests/test_guards.py)")
    print(f"ratios: d/a = {res['d']/res['a']:.1f}x (target >= 20x), d/b = {res['d']/res['b']:.1f}x, d/c = {res['d']/res['c']:.2f}x (target >= 1.5x)")
    assert diff_bc < 1e-4 and diff_bd < 1e-4, 'engines disagree'


def hf_sorted(g, texts, budget):
    "(e): the plain transformers batch: sorted by length, left-padded, attention mask and positions, logits_to_keep=1"
    import torch
    tok, model = g.tok, g.model
    rendered = [g.render([{'role': 'user', 'content': t}]) for t in texts]
    ids = [x + g.nl2 for x in tok(rendered, add_special_tokens=False)['input_ids']]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out, i, padded = np.empty(len(ids)), 0, 0
    with torch.inference_mode():
        while i < len(order):
            L = len(ids[order[i]]); b = order[i:i + max(1, budget // L)]; i += len(b)
            x, m = np.full((len(b), L), g.pad_id, np.int64), np.zeros((len(b), L), np.int64)
            for j, k in enumerate(b): x[j, L - len(ids[k]):] = ids[k]; m[j, L - len(ids[k]):] = 1
            x, m = torch.from_numpy(x), torch.from_numpy(m)
            logits = model(input_ids=x, attention_mask=m, position_ids=(m.cumsum(-1) - 1).clamp(min=0),
                           logits_to_keep=1).logits[:, -1]
            out[b] = torch.softmax(logits.float(), -1)[:, g.unsafe_id].double().numpy()
            padded += len(b) * L
    return out, padded, sum(map(len, ids))


def ab(a, g, texts, model):
    "Interleaved A/B: (e) plain sorted HF batch, (d) the engine, (d0) the engine on transformers' forward pass"
    from riskbench.guards import LlamaGuard, run_engine, make_batches, pad8
    arms = {'e': None, 'd': g}
    if a.old: arms['d0'] = LlamaGuard(g.model, g.tok, device='cpu', fast=False)
    print(f"A/B: {a.ab} rounds, {a.rows} rows, batch budget {a.batch_tokens} padded tokens on every path; "
          f"engine forward pass: {'riskbench CPU pass' if g._cpu_plan() is not None else 'transformers'}")
    cpu, wall, load, scores = {k: [] for k in arms}, {k: [] for k in arms}, [], {}
    for r in range(a.ab):
        load.append(os.getloadavg()[0])
        for k, guard in (arms.items() if r % 2 == 0 else reversed(arms.items())):
            c0, w0 = time.process_time(), time.perf_counter()
            if guard is None: s, padded, real = hf_sorted(g, texts, a.batch_tokens)
            else:
                guard._kv.clear()  # the prefix's KV cache is computed inside the timed run
                s = run_engine(guard, texts, batch_tokens=a.batch_tokens)[0][:, 0]
            cpu[k].append(time.process_time() - c0); wall[k].append(time.perf_counter() - w0); scores[k] = s
        print(f"  round {r + 1}: load {load[-1]:.1f}; " + ', '.join(f"{k} {cpu[k][-1]:.1f} s CPU / {wall[k][-1]:.1f} s wall"
                                                          for k in arms))
    items, _ = g.encode(texts)
    bt = make_batches(items, a.batch_tokens, g.max_batch_rows)
    eng_pad = sum(len(b) * max(it.n for it in b) for b in bt)
    print(f"tokens computed: (e) {real:,} real in {padded:,} padded ({padded / real - 1:.1%} padding); (d) "
          f"{sum(it.n for it in items):,} real in {eng_pad:,} ({eng_pad / sum(it.n for it in items) - 1:.1%} padding) "
          f"after the cached prefix")
    med = lambda v: float(np.median(v))
    print("| path | CPU s (median) | wall s (median) | rows/s by CPU | rows/s by wall |")
    print("|---|---|---|---|---|")
    names = dict(e='(e) plain HF batch: sorted, left-padded, logits_to_keep=1', d='(d) riskbench engine',
                 d0="(d0) riskbench engine on transformers' forward pass")
    for k in arms:
        print(f"| {names[k]} | {med(cpu[k]):.2f} | {med(wall[k]):.2f} | {a.rows / med(cpu[k]):.1f} | {a.rows / med(wall[k]):.1f} |")
    for k in arms:
        if k == 'e': continue
        print(f"ratio {k}/e: CPU {med(cpu['e']) / med(cpu[k]):.2f}x (per round: "
              f"{', '.join(f'{x / y:.2f}' for x, y in zip(cpu['e'], cpu[k]))}), wall {med(wall['e']) / med(wall[k]):.2f}x "
              f"(target >= 1.5x); max |{k} - e| = {np.abs(scores[k] - scores['e']).max():.1e}")
    print(f"load average (1 min) at each round: {', '.join(f'{x:.1f}' for x in load)}")
    assert all(np.abs(scores[k] - scores['e']).max() < 1e-6 for k in arms), 'paths disagree'


if __name__ == '__main__':
    main()
