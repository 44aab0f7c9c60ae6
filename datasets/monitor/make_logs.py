"""Write riskbench's demo interaction logs, review labels and reference bundle (deterministic; run from anywhere).

    python datasets/monitor/make_logs.py

Four weeks (2026-11-02 .. 2026-11-29, UTC) of a support assistant's turns, prompts drawn from the bundled
`demo_prompts.jsonl` (their labels, hazard codes and languages are the ground truth), with synthetic guard scores.
Planted for the monitoring demo to find:
- a drift in the last week (from 2026-11-23): model v2 ships, Hindi and Thai traffic surges, the input guard's scores
  on benign prompts rise (more blocks), users report and thumb down more often;
- a biased annotator: `a3` labels benign prompts that mention a religion (riskbench's identity lexicon)
  unsafe far more often than the other annotators do.
A reported turn whose prompt and report hold HTML and script (the reports must show them as text), and two malformed
rows (the reader must reject them with their reasons) close the log.
Outputs (next to this script): logs.jsonl, labels.csv, bundle/scores/baseline.parquet, bundle/policies/baseline.json.
"""
import json, csv, io
from pathlib import Path
import numpy as np, pandas as pd

HERE = Path(__file__).resolve().parent
START, DAYS, DRIFT_DAY = pd.Timestamp('2026-11-02', tz='UTC'), 28, 21
UNSAFE_SHARE = .15  # of live traffic (the demo prompts are 44% unsafe)
LANGS = ['en', 'de', 'fr', 'it', 'pt', 'es', 'hi', 'th', 'sw', 'id']
BEFORE = dict(en=.40, de=.08, fr=.08, it=.06, pt=.07, es=.09, hi=.06, th=.04, sw=.06, id=.06)
AFTER = dict(en=.25, de=.06, fr=.06, it=.04, pt=.05, es=.06, hi=.22, th=.16, sw=.05, id=.05)
REFUSAL = "I'm sorry, but I can't help with that request."
ANSWER = "Sure. Here is a short, practical answer: start with the first step, check the result, then continue."
REASONS = ['harmful', 'wrongly_refused', 'inaccurate', 'other']
HOSTILE_ROW = dict(id='t-markup', timestamp='2026-11-29T23:59:00Z', conversation_id='c-markup', language='en',
                   prompt='<img src="x" onerror="window.__pwned=1"> what does this tag do?', report_reason='other',
                   report_text='<script>window.__pwned=1</script>', model_version='v2')  # shown as text, never run
BAD_ROWS = [dict(id='t-bad-1', timestamp='last tuesday', prompt='hello'),  # rejected by the reader, with a reason
            dict(id='t-bad-2', timestamp='2026-11-10T10:00:00Z', prompt='hi', input_score=1.7)]
REPORT_TEXTS = ['this answer is not ok', 'why was I refused?', 'wrong information',
                'please call me back on +44 20 7946 0958', 'contact me: jane.doe@example.com']


def prompts()->pd.DataFrame:
    d = pd.read_json(HERE.parent/'demo_prompts.jsonl', lines=True, dtype={'id': str})
    return d[['id', 'text', 'label', 'categories', 'language']]


def guard_scores(rng, label:np.ndarray, drifted:np.ndarray)->np.ndarray:
    "Synthetic input-guard scores: benign ~ Beta(2, 9) (Beta(3.5, 5.5) after the drift), unsafe ~ Beta(7, 2.5)"
    a = np.where(label == 1, 7.0, np.where(drifted, 3.5, 2.0))
    b = np.where(label == 1, 2.5, np.where(drifted, 5.5, 9.0))
    return rng.beta(a, b)


def bundle(rng, P:pd.DataFrame):
    "The reference: the demo prompts scored by the same (pre-drift) guard, and its deployed policy"
    import pyarrow as pa, pyarrow.parquet as pq
    from riskbench.thresholds import GuardPolicy
    s = guard_scores(rng, P['label'].to_numpy(), np.zeros(len(P), bool)).round(4)
    t = pa.Table.from_pandas(P.assign(score=s), preserve_index=False)
    (HERE/'bundle'/'scores').mkdir(parents=True, exist_ok=True)
    pq.write_table(t, HERE/'bundle'/'scores'/'baseline.parquet')
    GuardPolicy(0.5, 'manual', 'the demo deployment blocks at 0.5', info=dict(guard='baseline')).save(
        HERE/'bundle'/'policies'/'baseline.json')


def turns(rng, P:pd.DataFrame)->pd.DataFrame:
    rows, conv = [], 0
    pools = {(l, y): P[(P.language == l) & (P.label == y)].reset_index(drop=True) for l in LANGS for y in (0, 1)}
    for day in range(DAYS):
        drifted = day >= DRIFT_DAY
        mix = AFTER if drifted else BEFORE
        n = int(rng.poisson(105))
        langs = rng.choice(LANGS, n, p=[mix[l] for l in LANGS])
        secs = np.sort(rng.integers(0, 86400, n))
        for l, sec in zip(langs, secs):
            pool = pools[l, int(rng.random() < UNSAFE_SHARE)]
            r = pool.iloc[int(rng.integers(len(pool)))]
            if rng.random() < .55: conv += 1
            rows.append(dict(timestamp=(START + pd.Timedelta(days=day, seconds=int(sec))).strftime('%Y-%m-%dT%H:%M:%SZ'),
                             conversation_id=f'c-{conv:05d}', prompt=r.text, language=l, categories=list(r.categories),
                             truth=int(r.label), drifted=drifted, model_version='v2' if drifted else 'v1'))
    return pd.DataFrame(rows)


def serve(rng, T:pd.DataFrame)->pd.DataFrame:
    "Guard scores and decisions, responses, refusals and user feedback per turn"
    n, y, dr = len(T), T.truth.to_numpy(), T.drifted.to_numpy()
    T['input_score'] = guard_scores(rng, y, dr).round(4)
    T['input_blocked'] = T.input_score >= 0.5
    refuse = np.where(y == 1, rng.random(n) < .7, rng.random(n) < np.where(dr, .10, .03))
    T['response'] = np.where(T.input_blocked, None, np.where(refuse, REFUSAL, ANSWER))
    harmful = (y == 1) & ~refuse
    out = rng.beta(np.where(harmful, 6, 2), np.where(harmful, 3, 10)).round(4)
    T['output_score'] = np.where(T.input_blocked, np.nan, out)
    T['output_blocked'] = np.where(T.input_blocked, None, out >= 0.5)
    T['input_guard'], T['output_guard'], T['system_prompt_version'] = 'baseline', 'llama-guard-3-1b', 'sp-3'
    rated = rng.random(n) < .3
    down = rng.random(n) < np.where(dr, .40, .15) + .2 * refuse
    T['thumbs'] = np.where(rated, np.where(down, 'down', 'up'), None)
    rep = rng.random(n) < np.where(dr, .13, .02) + .05 * harmful
    T['report_reason'] = np.where(rep, rng.choice(REASONS, n), None)
    T['report_text'] = np.where(rep & (rng.random(n) < .6), rng.choice(REPORT_TEXTS, n), None)
    T.insert(0, 'id', [f't-{i:05d}' for i in range(n)])
    return T


def review(rng, T:pd.DataFrame)->pd.DataFrame:
    "Reviewer labels on the first three weeks' reported turns, borderline turns and a random control"
    early = T[~T.drifted]
    rep = early.index[early.report_reason.notna()]
    unc = early.index[(early.input_score - .5).abs() < .1].difference(rep)
    rest = early.index.difference(rep).difference(unc)
    ctrl = rng.choice(rest, 150, replace=False)
    T['review_stratum'], T['label'] = None, None
    for idx, s in ((rep, 'reported'), (unc, 'uncertain'), (ctrl, 'control')):
        T.loc[idx, 'review_stratum'] = s
        T.loc[idx, 'label'] = T.loc[idx, 'truth']
    return T


def labels(rng, T:pd.DataFrame)->pd.DataFrame:
    "Three annotators on 120 reviewed turns and 80 turns that mention a religion; a3 over-labels the benign ones"
    from riskbench.audit import identity_mentions
    men = identity_mentions(T.rename(columns={'prompt': 'text'})[['id', 'text', 'language']])
    religion = T.index[T.id.isin(set(men.loc[men.axis == 'religion', 'id']))]
    first = rng.choice(T.index[T.label.notna()].difference(religion), 120, replace=False)
    items = T.loc[np.sort(np.concatenate([first, rng.choice(religion, 80, replace=False)]))]
    rows = []
    for ann, acc in (('a1', .95), ('a2', .92), ('a3', .92)):
        for r in items.itertuples():
            if ann == 'a2' and rng.random() < .05: continue  # a2 skipped a few items
            lab = r.truth if rng.random() < acc else 1 - r.truth
            if ann == 'a3' and r.truth == 0 and r.Index in religion and rng.random() < .7: lab = 1
            rows.append(dict(item_id=r.id, annotator=ann, label=int(lab)))
    return pd.DataFrame(rows)


def main():
    rng = np.random.default_rng(21)
    P = prompts()
    bundle(rng, P)
    T = review(rng, serve(rng, turns(rng, P)))
    L = labels(rng, T)
    cols = ['id', 'timestamp', 'conversation_id', 'prompt', 'response', 'language', 'categories', 'input_guard',
            'input_score', 'input_blocked', 'output_guard', 'output_score', 'output_blocked', 'model_version',
            'system_prompt_version', 'thumbs', 'report_reason', 'report_text', 'label', 'review_stratum']
    keep = lambda v: v is not None and not (isinstance(v, float) and np.isnan(v))
    with open(HERE/'logs.jsonl', 'w', encoding='utf-8', newline='\n') as f:
        for rec in T[cols].to_dict('records'):
            rec = {k: (v.item() if hasattr(v, 'item') else v) for k, v in rec.items() if keep(v)}
            f.write(json.dumps(rec, ensure_ascii=False) + '\n')
        for rec in [HOSTILE_ROW, *BAD_ROWS]: f.write(json.dumps(rec, ensure_ascii=False) + '\n')
    L.to_csv(HERE/'labels.csv', index=False, lineterminator='\n')
    print(f"{len(T)} turns, {int(T.label.notna().sum())} reviewed, {len(L)} labels")


if __name__ == '__main__': main()
