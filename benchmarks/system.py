"""Product-model benchmark (issue 13): one run, measured against the strongest simple alternative in the same run.

(1) Generation, CPU: the same tiny random chat LlamaForCausalLM (tests/tiny_lm.py, Llama 3-style chat template),
    `--rows` conversations of 5-80 words, greedy, `--new-tokens` new tokens each, two ways:
      (a) per-row `model.generate()` on each conversation alone, as a model card shows usage
          (`apply_chat_template(..., add_generation_prompt=True)`, then `generate(input_ids, max_new_tokens=N)`);
      (b) riskbench's engine, `HFModel.respond`: rows sorted by length, token-budget batches, left padding.
    A random model rarely writes its end-of-turn token, so nearly every row runs all N steps in both (a) and (b).
    Prints rows/s and new tokens/s, the ratio b/a (target >= 5x), and checks that (a) and (b) agree token for token.
(2) Endpoint: tests/openai_server.py on 127.0.0.1 with a fixed per-request latency (`--latency`, default 50 ms),
    `--requests` conversations through `OpenAIModel.respond` with concurrency 1 (sequential calls) and with
    `--concurrency` (default 8). Prints requests/s and the ratio (target >= concurrency x 0.8).
(3) `--gpu`: a random model of Llama 3.2 1B's shape (hidden 2048, 16 layers, 32 heads / 8 key-value heads, MLP 8192,
    vocabulary 128,256), bf16 on CUDA: new tokens/s of batched generation (b) only.

Run: .venv/bin/python benchmarks/system.py [--rows 64] [--new-tokens 32] [--threads 1] [--requests 96] [--gpu]
"""
import argparse, os, platform, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT/'tests')]


def conversations(n, lo=5, hi=80, seed=0):
    "n one-turn conversations of lo..hi words (some with a system prompt)"
    r = np.random.default_rng(seed)
    words = 'how do I bake bread at home step by step explain the tides write a short poem about the sea'.split()
    out = []
    for i in range(n):
        conv = [{'role': 'user', 'content': ' '.join(r.choice(words, int(r.integers(lo, hi + 1))))}]
        out.append(([{'role': 'system', 'content': 'You are a helpful assistant.'}] if i % 3 == 0 else []) + conv)
    return out


def timed(f):
    t0 = time.perf_counter(); r = f(); return time.perf_counter() - t0, r


def generation(a):
    import torch
    from tiny_lm import tiny_chat_lm
    from riskbench.products import HFModel, _until_eos
    folder = tiny_chat_lm(Path(tempfile.mkdtemp())/'lm', seed=0, layers=a.layers, hidden=a.hidden)
    m = HFModel.load(str(folder), device='cpu', max_new_tokens=a.new_tokens)
    convs = conversations(a.rows)
    items, _ = m.encode(convs)
    def per_row():
        out = []
        for it in items:
            x = torch.tensor([it.ids])
            y = m.model.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=a.new_tokens,
                                 do_sample=False, pad_token_id=m.pad_id)
            out.append(_until_eos(y[0, len(it.ids):].tolist(), m.eos))
        return out
    m.respond(convs[:4])  # warm up
    ta, ref = timed(per_row)
    tb, got = timed(lambda: m.respond(convs))
    ref_text = [m.tok.decode(t, skip_special_tokens=True) for t in ref]
    agree = sum(x == y for x, y in zip(got, ref_text))
    toks = sum(map(len, ref))
    print(f"\n(1) generation, CPU, {a.rows} conversations ({min(len(i.ids) for i in items)}-"
          f"{max(len(i.ids) for i in items)} prompt tokens), {a.new_tokens} new tokens, "
          f"{toks:,} generated, torch threads {torch.get_num_threads()}")
    print(f"  (a) per-row generate(): {ta:7.2f} s  {a.rows / ta:8.1f} rows/s  {toks / ta:9.0f} new tokens/s")
    print(f"  (b) riskbench engine:   {tb:7.2f} s  {a.rows / tb:8.1f} rows/s  {toks / tb:9.0f} new tokens/s")
    print(f"  b/a = {ta / tb:.1f}x (target >= 5x); responses equal to per-row generate(): {agree}/{a.rows}")
    return ta / tb, agree == a.rows


def endpoint(a):
    from openai_server import OpenAIServer
    from riskbench.products import OpenAIModel
    convs = conversations(a.requests, seed=1)
    with OpenAIServer(lambda msgs: f"answer to {msgs[-1]['content'][:40]}", latency=a.latency) as srv:
        seq = OpenAIModel('tiny', srv.url, concurrency=1)
        par = OpenAIModel('tiny', srv.url, concurrency=a.concurrency)
        par.respond(convs[:a.concurrency])  # warm up
        t1, r1 = timed(lambda: seq.respond(convs))
        t8, r8 = timed(lambda: par.respond(convs))
    ok = r1 == r8 and all(isinstance(r, str) for r in r1)
    print(f"\n(2) endpoint, {a.requests} requests, {a.latency * 1000:.0f} ms latency per request (local server)")
    print(f"  sequential (concurrency 1): {t1:6.2f} s  {a.requests / t1:7.1f} requests/s")
    print(f"  concurrency {a.concurrency}:              {t8:6.2f} s  {a.requests / t8:7.1f} requests/s")
    print(f"  ratio = {t1 / t8:.2f}x (target >= {a.concurrency * 0.8:.1f}x); same responses: {ok}")
    return t1 / t8, ok


def gpu(a):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from tiny_models import llama_guard_tokenizer
    from tiny_lm import LLAMA3_CHAT
    from riskbench.products import HFModel
    tok = llama_guard_tokenizer(template=LLAMA3_CHAT); tok.padding_side = 'left'
    cfg = LlamaConfig(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                      num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      tie_word_embeddings=True, rope_theta=500000.0)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).to('cuda', torch.bfloat16).eval()
    m = HFModel(model, tok, 'cuda', dict(model='llama-3.2-1b-shaped', weights_sha256='random'),
                max_new_tokens=a.new_tokens, batch_tokens=1 << 17)
    m.max_batch_rows = 512
    convs = conversations(a.gpu_rows, seed=2)
    m.respond(convs[:16]); torch.cuda.synchronize()
    t, out = timed(lambda: (m.respond(convs), torch.cuda.synchronize())[0])
    toks = sum(len(tok.encode(r, add_special_tokens=False)) for r in out)
    print(f"\n(3) GPU {torch.cuda.get_device_name()}: Llama-3.2-1B-shaped random model, bf16, "
          f"{a.gpu_rows} conversations, {a.new_tokens} new tokens: {t:.2f} s, {a.gpu_rows / t:.1f} rows/s, "
          f"~{toks / t:,.0f} new tokens/s (tokens counted by re-encoding the responses)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=64); ap.add_argument('--new-tokens', type=int, default=32)
    ap.add_argument('--layers', type=int, default=2); ap.add_argument('--hidden', type=int, default=64)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--requests', type=int, default=96); ap.add_argument('--latency', type=float, default=0.05)
    ap.add_argument('--concurrency', type=int, default=8)
    ap.add_argument('--gpu', action='store_true'); ap.add_argument('--gpu-rows', type=int, default=1024)
    a = ap.parse_args()
    import torch, transformers
    if a.threads: torch.set_num_threads(a.threads)
    print(f"python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    g, g_ok = generation(a)
    e, e_ok = endpoint(a)
    if a.gpu: gpu(a)
    print(f"\nsummary: generation b/a {g:.1f}x (>= 5: {g >= 5}), endpoint {e:.2f}x "
          f"(>= {a.concurrency * 0.8:.1f}: {e >= a.concurrency * 0.8}), outputs agree: {g_ok and e_ok}")


if __name__ == '__main__':
    main()
