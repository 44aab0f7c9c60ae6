"""Guard scoring benchmark (issue 3), GPU: a random-weight model with Llama Guard 3 1B's architecture in bf16.

Llama Guard 3 1B's config: 16 layers, hidden 2048, 32 heads, 8 key-value heads, MLP 8192, vocabulary 128,256, tied
embeddings. The tokenizer is the tiny test tokenizer (ids < 600 of the 128,256), so token counts, not words, are what
matter. Prints prompts/s, tokens/s (computed tokens, and including the cached policy prefix) and model FLOP utilisation:
MFU = 2 x non-embedding parameters x computed tokens/s / the GPU's dense bf16 peak (target >= 35%).
Also checks the engine against per-row forward passes on a sample.

Run: python benchmarks/scoring_gpu.py [--rows 10000] [--batch-tokens 65536 ...]   (CPU smoke test: --tiny --rows 64)
"""
import argparse, os, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT/'tests'), str(ROOT/'benchmarks')]
PEAKS = {'H100': 989e12, 'H200': 989e12, 'A100': 312e12, 'L40S': 362e12}  # dense bf16 FLOP/s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=10_000); ap.add_argument('--batch-tokens', type=int, nargs='+', default=[65536])
    ap.add_argument('--tiny', action='store_true', help='a tiny model on the CPU (smoke test)')
    ap.add_argument('--check', type=int, default=64, help='rows checked against per-row forward passes')
    a = ap.parse_args()
    import torch, transformers
    from transformers import LlamaConfig, LlamaForCausalLM
    from tiny_models import llama_guard_tokenizer
    from riskbench.guards import LlamaGuard, run_engine
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
    peak = next((v for k, v in PEAKS.items() if k in name), None)
    print(f"device: {name}; torch {torch.__version__}, transformers {transformers.__version__}; dtype {dtype}")
    print(f"model: random LlamaForCausalLM, {cfg.num_hidden_layers} layers, hidden {cfg.hidden_size}, {cfg.num_attention_heads}/{cfg.num_key_value_heads} heads, "
          f"vocab {cfg.vocab_size}: {n_all/1e9:.3f}B parameters ({n_body/1e9:.3f}B without embeddings)")
    g = LlamaGuard(model, tok, device=dev)
    texts = prompts(tok, a.rows)
    items, _ = g.encode(texts)
    comp = sum(it.n for it in items); prefix = len(g._prefix['user'])
    print(f"data: {a.rows} prompts of 10-400 tokens; {comp:,} computed tokens (mean {comp/a.rows:.0f}/row) + {prefix}-token policy prefix per row (cached)")
    # correctness on a sample: engine vs per-row forward of the whole prompt
    k = min(a.check, a.rows)
    with torch.inference_mode():
        solo = []
        for t in texts[:k]:
            ids = tok(g.render([{'role': 'user', 'content': t}]), add_special_tokens=False)['input_ids'] + g.nl2
            solo.append(float(torch.softmax(model(torch.tensor([ids], device=dev)).logits[0, -1].float(), -1)[g.unsafe_id]))
    eng = run_engine(g, texts[:k], batch_tokens=a.batch_tokens[0])[0][:, 0]
    print(f"check: {k} rows, max |engine - per-row forward| = {np.abs(eng - np.array(solo)).max():.2e} (dtype {dtype}), scores {np.min(solo):.3g}..{np.max(solo):.3g}")
    for bt in a.batch_tokens:
        run_engine(g, texts[:min(2000, a.rows)], batch_tokens=bt)  # warm-up
        if dev == 'cuda': torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
        g._kv.clear()
        t0 = time.perf_counter(); out, rej = run_engine(g, texts, batch_tokens=bt)
        if dev == 'cuda': torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        tps = comp / dt
        mfu = 2 * n_body * tps / peak if peak else float('nan')
        mem = torch.cuda.max_memory_allocated() / 2**30 if dev == 'cuda' else float('nan')
        print(f"batch_tokens={bt}: {a.rows/dt:,.0f} prompts/s, {tps:,.0f} computed tokens/s, {(comp + prefix*a.rows)/dt:,.0f} tokens/s with the prefix, "
              f"MFU {mfu:.1%} (peak {peak/1e12 if peak else float('nan'):.0f} TFLOP/s), {dt:.1f}s, peak memory {mem:.1f} GiB, rejected {len(rej)}")


if __name__ == '__main__':
    main()
