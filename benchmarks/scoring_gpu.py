"""Guard scoring benchmark (issue 3), GPU: a random-weight model with Llama Guard 3 1B's architecture in bf16.

Llama Guard 3 1B's config: 16 layers, hidden 2048, 32 heads, 8 key-value heads, MLP 8192, vocabulary 128,256, tied
embeddings. The tokenizer is the tiny test tokenizer (ids < 600 of the 128,256), so token counts, not words, are what
matter; the prompt is the real Llama Guard 3 template text the module builds (task line, S1-S13 list, instructions).

Prints prompts/s, tokens/s and model FLOP utilisation, MFU = 2 x parameters x tokens/s / the GPU's dense bf16 peak, with
  - parameters: N_body = non-embedding parameters (what every computed token goes through; the tied output layer runs
    at one position per row only), and N_all = all parameters (the issue's formula read literally);
  - tokens: computed tokens (the conversation + closing instructions, what the GPU actually runs), and tokens including
    the policy prefix that is reused from its KV cache (an "effective" rate).
The headline MFU is N_body x computed tokens. Each variant is timed end to end (tokenisation included) after a warm-up:
  mask:         the engine as first written (DynamicCache holding the expanded prefix, explicit 4D attention mask, all rows
                encoded before the first batch);
  lower-right:  prefix K/V joined inside the attention, lower-right causal SDPA (flash kernel, no mask), pinned-memory
                copies, inputs encoded in chunks in a background thread while the GPU scores (compile=False);
  compiled:     the engine's CUDA default: lower-right + RMSNorm and SwiGLU MLP fused by torch.compile.
Also checks the engine against per-row forward passes on a sample, and optionally profiles a few batches.

Run: python benchmarks/scoring_gpu.py [--rows 10000] [--batch-tokens 65536 ...] [--variants mask lower-right compiled] [--profile]
     (CPU smoke test: --tiny --rows 64)
"""
import argparse, os, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT/'tests'), str(ROOT/'benchmarks')]
PEAKS = {'H100': 989e12, 'H200': 989e12, 'A100': 312e12, 'L40S': 362e12}  # dense bf16 FLOP/s


def masked_guard(LlamaGuard, pad8):
    "The engine's first prefix path, kept here to measure against: DynamicCache + explicit attention mask"
    class Masked(LlamaGuard):
        def _hidden(self, items):
            import torch
            from transformers import DynamicCache
            B, L = len(items), pad8(max(len(it.ids) for it in items))
            ids = torch.full((B, L), self.pad_id, dtype=torch.long)
            for j, it in enumerate(items): ids[j, :len(it.ids)] = torch.tensor(it.ids)
            ids = ids.to(self.device)
            decoder = self.model.get_decoder()
            g = items[0].group
            if g is not None:
                cache = DynamicCache(config=self.model.config)
                for li, (k, v) in enumerate(self._prefix_kv(g[1])):
                    cache.update(k.expand(B, -1, -1, -1), v.expand(B, -1, -1, -1), li)
                return decoder(input_ids=ids, past_key_values=cache, use_cache=True).last_hidden_state
            return decoder(input_ids=ids, use_cache=False).last_hidden_state
    return Masked


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=10_000); ap.add_argument('--batch-tokens', type=int, nargs='+', default=[65536])
    ap.add_argument('--variants', nargs='+', default=['mask', 'lower-right', 'compiled'])
    ap.add_argument('--tiny', action='store_true', help='a tiny model on the CPU (smoke test)')
    ap.add_argument('--check', type=int, default=64, help='rows checked against per-row forward passes')
    ap.add_argument('--profile', action='store_true', help='profile 4 batches of each variant (top CUDA kernels)')
    a = ap.parse_args()
    import torch, transformers
    from transformers import LlamaConfig, LlamaForCausalLM
    from tiny_models import llama_guard_tokenizer
    from riskbench.guards import LlamaGuard, run_engine, pad8, make_batches
    from scoring import prompts
    dev = 'cuda' if torch.cuda.is_available() and not a.tiny else 'cpu'
    tok = llama_guard_tokenizer()
    if a.tiny: cfg = LlamaConfig(vocab_size=128256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
    else: cfg = LlamaConfig(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                            num_key_value_heads=8, max_position_embeddings=131072, rope_theta=500000.0, tie_word_embeddings=True)
    cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id = tok.bos_token_id, tok.eos_token_id, tok.pad_token_id
    cfg._attn_implementation = 'sdpa'
    dtype = torch.bfloat16 if dev == 'cuda' else torch.float32
    torch.manual_seed(0)
    with torch.device(dev):
        torch.set_default_dtype(dtype); model = LlamaForCausalLM(cfg).eval(); torch.set_default_dtype(torch.float32)
    n_all = sum(p.numel() for p in model.parameters())
    n_emb = model.get_input_embeddings().weight.numel()
    n_body = n_all - n_emb  # tied output layer: applied to 1 position per row only
    name = torch.cuda.get_device_name() if dev == 'cuda' else 'cpu'
    peak = next((v for k, v in PEAKS.items() if k in name), None) or float('nan')
    print(f"device: {name}; {os.cpu_count()} CPU cores; torch {torch.__version__}, transformers {transformers.__version__}; dtype {dtype}")
    print(f"model: random LlamaForCausalLM, {cfg.num_hidden_layers} layers, hidden {cfg.hidden_size}, {cfg.num_attention_heads}/{cfg.num_key_value_heads} heads, "
          f"vocab {cfg.vocab_size}: N_all = {n_all/1e9:.3f}B parameters, N_body = {n_body/1e9:.3f}B without the (tied) embeddings")
    Masked = masked_guard(LlamaGuard, pad8)
    guards = {}
    for v in a.variants:
        if v == 'mask': guards[v] = Masked(model, tok, device=dev, compile=False); guards[v].encode_chunk = 0
        elif v == 'lower-right': guards[v] = LlamaGuard(model, tok, device=dev, compile=False)
    texts = prompts(tok, a.rows)
    g0 = LlamaGuard(model, tok, device=dev, compile=False)
    t0 = time.perf_counter(); items, _ = g0.encode(texts); t_enc = time.perf_counter() - t0
    comp = sum(it.n for it in items); prefix = len(g0._prefix['user'])
    print(f"data: {a.rows} prompts of 10-400 tokens; {comp:,} computed tokens (mean {comp/a.rows:.0f}/row) + {prefix}-token policy prefix per row (cached); "
          f"render + tokenise all rows: {t_enc:.2f}s")
    # correctness on a sample: engine vs per-row forward of the whole prompt
    k = min(a.check, a.rows)
    with torch.inference_mode():
        solo = []
        for t in texts[:k]:
            ids = tok(g0.render([{'role': 'user', 'content': t}]), add_special_tokens=False)['input_ids'] + g0.nl2
            solo.append(float(torch.softmax(model(torch.tensor([ids], device=dev)).logits[0, -1].float(), -1)[g0.unsafe_id]))
    solo = np.array(solo)
    rows = []
    for v in a.variants:
        if v == 'compiled':  # last: it replaces the model's RMSNorm / MLP forwards
            guards[v] = LlamaGuard(model, tok, device=dev, compile=True)
        g = guards[v]
        eng = run_engine(g, texts[:k], batch_tokens=a.batch_tokens[0])[0][:, 0]
        print(f"check [{v}]: {k} rows, max |engine - per-row forward| = {np.abs(eng - solo).max():.2e} (dtype {dtype}), scores {solo.min():.3g}..{solo.max():.3g}")
        for bt in a.batch_tokens:
            tw = time.perf_counter(); run_engine(g, texts[:min(3000, a.rows)], batch_tokens=bt); tw = time.perf_counter() - tw  # warm-up (and compilation)
            if dev == 'cuda': torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
            g._kv.clear()
            t0 = time.perf_counter(); out, rej = run_engine(g, texts, batch_tokens=bt)
            if dev == 'cuda': torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            tps, tpp = comp / dt, (comp + prefix * a.rows) / dt
            mem = torch.cuda.max_memory_allocated() / 2**30 if dev == 'cuda' else float('nan')
            r = dict(variant=v, bt=bt, pps=a.rows/dt, tps=tps, tpp=tpp, mfu=2*n_body*tps/peak, mfu_all=2*n_all*tps/peak,
                     mfu_pre=2*n_body*tpp/peak, mfu_all_pre=2*n_all*tpp/peak, dt=dt, mem=mem, warm=tw)
            rows.append(r)
            print(f"[{v}] batch_tokens={bt}: {r['pps']:,.0f} prompts/s, {tps:,.0f} computed tokens/s ({tpp:,.0f} with the prefix); "
                  f"MFU {r['mfu']:.1%} (N_body, computed) | {r['mfu_all']:.1%} (N_all, computed) | {r['mfu_pre']:.1%} (N_body, with prefix) | "
                  f"{r['mfu_all_pre']:.1%} (N_all, with prefix); {dt:.1f}s, peak memory {mem:.1f} GiB, rejected {len(rej)}, warm-up {tw:.1f}s", flush=True)
        if a.profile and dev == 'cuda':
            from torch.profiler import profile, ProfilerActivity
            its = g.encode(texts[:3000])[0]; bs = make_batches(its, a.batch_tokens[-1], g.max_batch_rows)
            bs = [bs[len(bs) // 4], bs[len(bs) // 2], bs[3 * len(bs) // 4], bs[-2]]
            torch.cuda.synchronize()
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                for b in bs: g.forward(b)
                torch.cuda.synchronize()
            print(f"profile [{v}]: 4 batches of {[len(b) for b in bs]} rows x {[pad8(max(it.n for it in b)) for b in bs]} tokens")
            print(prof.key_averages().table(sort_by='cuda_time_total', row_limit=18, max_name_column_width=70))
    print(f"\nMFU = 2 x N x tokens/s / {peak/1e12:.0f} TFLOP/s (dense bf16 peak of the {name}); N_body = {n_body/1e9:.3f}B, N_all = {n_all/1e9:.3f}B")
    print("| variant | batch_tokens | prompts/s | computed tokens/s | tokens/s incl. prefix | MFU N_body, computed | MFU N_all, computed | MFU N_body, incl. prefix | MFU N_all, incl. prefix | peak memory |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['bt']:,} | {r['pps']:,.0f} | {r['tps']:,.0f} | {r['tpp']:,.0f} | {r['mfu']:.1%} | {r['mfu_all']:.1%} | {r['mfu_pre']:.1%} | {r['mfu_all_pre']:.1%} | {r['mem']:.1f} GiB |")


if __name__ == '__main__':
    main()
