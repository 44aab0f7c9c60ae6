"""Write the small deliberate examples in this folder, one per evidence warning they teach (see README.md).

Deterministic: run `python datasets/examples/make_examples.py` from the checkout and the files come out byte for byte
the same. Rows are taken from the bundled demo prompts (`../demo_prompts.jsonl`, written by the project); scores
and codes are set by the rules below, not by any model.
"""
import hashlib, json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = [json.loads(l) for l in (HERE.parent/'demo_prompts.jsonl').read_text(encoding='utf-8').splitlines() if l.strip()]

def _u(s:str)->float:
    "A stable number in [0, 1) from a string (the same on every machine)"
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16) / 2**32

def _write(name, rows):
    with open(HERE/name, 'w', encoding='utf-8', newline='\n') as f:
        for r in rows: f.write(json.dumps(r, ensure_ascii=False) + '\n')

def redteam_all_unsafe():
    "Every row unsafe (a red-team set): no threshold can be chosen, recall is measured -> one_class_set"
    rows = [r for r in ROWS if r.get('label') == 1 and r.get('language') == 'en'][:60]
    _write('redteam_all_unsafe.jsonl', [dict(id=r['id'], text=r['text'], label=1, categories=r.get('categories') or [],
                                             language='en') for r in rows])

def worse_than_chance():
    "A guard that scores benign rows higher than unsafe ones -> worse_than_chance"
    rows = [r for r in ROWS if r.get('language') == 'en'][:200]
    out = [dict(id=r['id'], text=r['text'], label=r['label'],
                score=round(0.55 - 0.25 * r['label'] + 0.4 * (_u(r['id']) - 0.5), 4)) for r in rows]
    _write('worse_than_chance_scores.jsonl', out)

OPENAI = {'S10': 'H', 'S11': 'SH', 'S12': 'S', 'S1': 'V', 'S4': 'S3'}  # Llama Guard code -> an OpenAI moderation code

def openai_codes():
    "Categories in OpenAI moderation codes, declared in a taxonomy column -> mapped_categories (S3 -> S4), foreign HR"
    rows = [r for r in ROWS if r.get('language') == 'en'][:240]
    out = []
    for i, r in enumerate(rows):
        cats = [OPENAI[c] for c in r.get('categories') or [] if c in OPENAI]
        if r['label'] == 1 and not cats and i % 3 == 0: cats = ['HR']  # harassment: no Llama Guard 3 category
        score = round(min(1.0, max(0.0, 0.25 + 0.5 * r['label'] + 0.3 * (_u(r['id']) - 0.5))), 4)
        out.append(dict(id=r['id'], text=r['text'], label=r['label'], categories=cats, taxonomy='openai-moderation',
                        score=score))
    _write('openai_moderation_scores.jsonl', out)

if __name__ == '__main__':
    redteam_all_unsafe(); worse_than_chance(); openai_codes()
    print('wrote', ', '.join(sorted(p.name for p in HERE.glob('*.jsonl'))))
