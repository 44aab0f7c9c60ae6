"""Red-team campaign benchmark (issue 18): `--techniques` techniques x `--rows` source rows, transformed and scored
with the embedded baseline guard, in one run.

(a) the alternative: the same attack texts, already written, scored by the baseline guard's own scikit-learn
    pipeline called directly (`lr.predict_proba(vec.transform(texts))`: no transformation, no engine, no row
    accounting, no statistics); (a) and (b) give the same scores (asserted);
(b) riskbench's campaign: `redteam.attack_rows` (every row untransformed and once per technique, seeded) and then
    `guards.score_table` on all of them (dedupe, batching, row accounting; the score cache off so that (b) scores
    everything), then `campaign_summary` (attack success rates, Wilson intervals, McNemar tests).
Prints rows/s of the transformation alone, of scoring, of the whole campaign, and the ratio of the campaign's rows/s
to (a)'s: what transforming, accounting and the statistics cost over bare scoring (target: at least 0.8x).

Run: .venv/bin/python benchmarks/redteam.py [--rows 100000] [--techniques 10]
"""
import argparse, os, platform, sys, time
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

TECHNIQUES = ['base64', 'rot13', 'leetspeak', 'homoglyph', 'zero_width', 'payload_split', 'roleplay',
              'instruction_override', 'indirect_document', 'many_turn_escalation', 'hypothetical', 'system_prompt_leak']


def source_rows(n, seed=0):
    "n rows drawn from the bundled demo prompts, each with its own id and a distinct suffix (no dedupe shortcut)"
    from riskbench.core import load_eval_set
    df, _ = load_eval_set('bundled:demo_prompts.jsonl')
    r = np.random.default_rng(seed)
    d = df.iloc[r.integers(0, len(df), n)].reset_index(drop=True)
    return d.assign(id=[f'b{i}' for i in range(n)], text=d['text'] + [f' (case {i})' for i in range(n)], pair_id=None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=100_000)
    ap.add_argument('--techniques', type=int, default=10)
    a = ap.parse_args()
    from riskbench.redteam import attack_rows, campaign_summary
    from riskbench.guards import load_guard, score_table
    tech = TECHNIQUES[:a.techniques]
    df = source_rows(a.rows)
    g = load_guard('baseline')
    g.score(df['text'].head(100).tolist())  # warm up
    n_total = a.rows * (len(tech) + 1)
    t0 = time.perf_counter(); rows = attack_rows(df, tech, seed=0); t_tr = time.perf_counter() - t0
    texts = rows['text'].tolist()
    t0 = time.perf_counter(); ref = g.fit['sk']['lr'].predict_proba(g.fit['sk']['vec'].transform(texts))[:, 1]
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter(); res, rep = score_table(rows, g, progress=False, cache=False); t_sc = time.perf_counter() - t0
    res['blocked'] = res['score'].to_numpy() >= 0.5
    res['success'] = (res['label'] == 1).to_numpy() & ~res['blocked'].to_numpy()
    t0 = time.perf_counter(); s, _ = campaign_summary(res); t_su = time.perf_counter() - t0
    assert len(rows) == n_total and rep.kept == n_total, (len(rows), rep.summary())
    got = res.set_index('id')['score'].reindex(rows['id']).to_numpy()
    assert np.allclose(got, ref, atol=1e-9), float(np.abs(got - ref).max())
    camp = t_tr + t_sc + t_su
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{a.rows:,} source rows x {len(tech)} techniques (+ untransformed) = {n_total:,} rows")
    print(f"(a) scikit-learn pipeline on the {n_total:,} attack texts: {n_total / t_plain:,.0f} rows/s ({t_plain:.1f} s)")
    print(f"(b) transform {n_total / t_tr:,.0f} rows/s ({t_tr:.1f} s); score {n_total / t_sc:,.0f} rows/s ({t_sc:.1f} s); "
          f"summary {t_su:.1f} s")
    print(f"(b) campaign end to end: {n_total / camp:,.0f} rows/s ({camp:.1f} s); ratio to (a): {t_plain / camp:.2f}x")
    print('ASR per technique:', {r['technique']: round(r['attack_success_rate']['value'], 3) for r in s['techniques']})


if __name__ == '__main__': main()
