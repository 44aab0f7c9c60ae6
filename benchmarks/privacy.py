"""Membership-inference benchmark (issue 18): one run, measured against the simple alternative in the same run.

The tiny model of tests/test_privacy.py (a random-weight `LlamaForCausalLM`, hidden 64, 2 layers, a character-level
tokenizer), `--rows` rows (half "train", half "held out") of 20-120 characters, scored two ways:
  (a) a naive per-row loop, as a model card's perplexity example does it: one forward pass per row with
      `labels=` (the loss) and a `log_softmax` of its logits (the token log-probabilities that Min-K% needs),
      under `torch.no_grad()`; timed on the first `--naive-rows` rows (it is slow) and reported per row;
  (b) riskbench's `membership_scores`: one tokenizer call, length-sorted token-budget batches with right padding,
      `torch.inference_mode`, then every score per row.
Then `membership_metrics` (AUC and TPR at 1% FPR for three scores, 1000 bootstrap resamples each) on all rows.
Prints rows/s of (a) and (b), the ratio b/a, and checks that (a) and (b) give the same losses.

Run: .venv/bin/python benchmarks/privacy.py [--rows 10000] [--naive-rows 1000] [--threads 1]
"""
import argparse, os, platform, sys, time
from pathlib import Path
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT/'tests')]


def rows(n, seed=0):
    "n rows of 20-120 characters of random words"
    r = np.random.default_rng(seed)
    words = 'the a cat dog sat on mat red blue call write to at today boat lamp goat kite drum oslo lima rome'.split()
    out = []
    for i in range(n):
        t, size = '', r.integers(20, 121)
        while len(t) < size: t += ' ' + r.choice(words)
        out.append(dict(id=f'r{i}', text=t.strip()))
    return pd.DataFrame(out)


def naive(lm, texts):
    "Per-row loss and Min-K% (k = 20%) with one forward pass per row"
    import torch
    out = []
    with torch.no_grad():
        for t in texts:
            ids = torch.tensor([[lm.bos_id] + lm.tok(t, add_special_tokens=False)['input_ids']])
            o = lm.model(input_ids=ids, labels=ids)
            lp = torch.log_softmax(o.logits[0, :-1].float(), -1).gather(1, ids[0, 1:, None])[:, 0].numpy()
            out.append((o.loss.item(), np.sort(lp)[:int(np.ceil(0.2 * len(lp)))].mean()))
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, default=10_000)
    ap.add_argument('--naive-rows', type=int, default=1_000)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    from test_privacy import char_tokenizer, tiny_llama
    from riskbench.privacy import LanguageModel, membership_scores, membership_metrics
    tok = char_tokenizer()
    lm = LanguageModel(tiny_llama(tok), tok)
    df = rows(a.rows)
    train, held = df.iloc[:a.rows // 2], df.iloc[a.rows // 2:]
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}, torch {torch.__version__}, {a.threads} threads")
    print(f"{a.rows:,} rows, {df['text'].str.len().mean():.0f} characters on average")
    t0 = time.perf_counter(); ref = naive(lm, df['text'].iloc[:a.naive_rows]); ta = time.perf_counter() - t0
    t0 = time.perf_counter(); fr = membership_scores(lm, train, held); tb = time.perf_counter() - t0
    t0 = time.perf_counter(); mm = membership_metrics(fr[['id', 'member', 'score_loss', 'score_min_k', 'score_zlib']],
                                                      n_boot=1000); tm = time.perf_counter() - t0
    ra, rb = a.naive_rows / ta, a.rows / tb
    err = max(np.abs(fr['loss'].to_numpy()[:a.naive_rows] - ref[:, 0]).max(),
              np.abs(fr['min_k'].to_numpy()[:a.naive_rows] - ref[:, 1]).max())
    print(f"(a) naive per-row loop:   {ra:8.0f} rows/s  ({a.naive_rows:,} rows in {ta:.1f} s)")
    print(f"(b) membership_scores:    {rb:8.0f} rows/s  ({a.rows:,} rows in {tb:.1f} s)")
    print(f"ratio b/a: {rb / ra:.1f}x; largest difference in loss or Min-K%: {err:.1e}")
    print(f"membership_metrics, 3 scores x 1000 bootstrap resamples on {a.rows:,} rows: {tm:.1f} s "
          f"(AUC of the loss on a random model: {mm.loc[0, 'auc']:.3f})")
    assert err < 1e-3, err


if __name__ == '__main__':
    main()
