"Multilingual coverage: language ID accuracy, short/mixed texts, every flag, parallel consistency, the gate, `riskbench languages`"
import json, sys, subprocess
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from conftest import riskbench, ROOT
from riskbench.core import BadParameter, BadFile
from riskbench.multilingual import (detect_languages, add_detected_languages, disagreements, coverage_matrix, coverage_heatmap,
                                    parallel_consistency, LanguageGate, normalize_language, dominant_scripts)

TESTSET = ROOT/'tests'/'data'/'langid_sentences.jsonl'

@pytest.fixture(scope='module')
def langid(): return pd.read_json(TESTSET, lines=True)

def test_import_is_lazy():
    code = "import sys, riskbench.multilingual; print(sorted(m for m in ('lingua', 'plotly', 'torch', 'transformers', 'sklearn') if m in sys.modules))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '[]'

def test_testset_is_broad(langid):
    assert langid.language.nunique() >= 12 and langid.script.nunique() >= 5
    assert langid.id.is_unique and len(langid) >= 150
    # the script column of the test set is what Unicode says
    sc, share, _ = dominant_scripts(langid.text.tolist())
    assert (sc == langid.script.to_numpy()).all()

def test_accuracy_open_set(langid):
    d = detect_languages(langid.text)
    acc = (d.language_detected == langid.language).mean()
    assert acc >= 0.95, acc
    per_lang = (d.language_detected == langid.language).groupby(langid.language).mean()
    assert (per_lang >= 0.75).all(), per_lang[per_lang < 0.75]
    assert set(d.columns) == {'language_detected', 'language_confidence', 'script'} and len(d) == len(langid)

def test_accuracy_with_candidates(langid):
    d = detect_languages(langid.text, candidates=sorted(langid.language.unique()))
    wrong = (d.language_detected != langid.language) & (d.language_detected != 'und')
    assert (d.language_detected == langid.language).mean() >= 0.98 and wrong.sum() == 0

SHORT = ['ok', 'hi', 'lol', 'thx!!', 'merci', 'Ciao', 'taxi', 'Привет', 'yes', 'no', 'Hallo', 'Danke', '?!', '123', '👍👍', '你好']
MIXED = [('Hello, wie geht es dir? I am fine merci beaucoup', {'en', 'de', 'fr'}),
         ('Je suis très tired today, can you help me?', {'fr', 'en'}),
         ('Ich möchte eine pizza order please with extra cheese', {'de', 'en'}),
         ("Can you translate 'Wo ist der Bahnhof' for me please?", {'en', 'de'}),
         ('Por favor, can you tell me the way to the station?', {'es', 'en'}),
         ('Ciao bella, how was your weekend at the lake?', {'it', 'en'})]

def test_short_texts_are_und():
    d = detect_languages(SHORT)
    assert (d.language_detected == 'und').all(), d[d.language_detected != 'und']

def test_mixed_texts_never_confidently_wrong():
    d = detect_languages([t for t, _ in MIXED])
    for (t, langs), l, c in zip(MIXED, d.language_detected, d.language_confidence):
        # und, or a language that is in the text; never a confident language that is not
        assert l == 'und' or l in langs, (t, l, c)
    assert (d.language_detected == 'und').sum() >= len(MIXED) - 1

def test_thresholds_are_parameters():
    assert detect_languages(['Bonjour à tous'], min_chars=20).language_detected[0] == 'und'
    assert detect_languages(['Bonjour à tous'], min_chars=5).language_detected[0] == 'fr'
    mixed = detect_languages(['Ich möchte eine pizza order please with extra cheese'], min_confidence=0.0).language_detected[0]
    assert mixed in ('de', 'en')
    with pytest.raises(BadParameter, match='min_confidence'): detect_languages(['x'], min_confidence=2)
    with pytest.raises(BadParameter, match='unknown language code'): detect_languages(['x'], candidates=['en', 'zz'])

def test_script_fallback_and_decisive_scripts():
    d = detect_languages(['ሰላም፣ እንዴት ነህ?', 'មម', 'ආයුබෝවන්, ඔබට කොහොමද?', '안녕', 'สวัสดี', 'Γεια σου'])
    assert d.language_detected.tolist() == ['am', 'km', 'si', 'ko', 'th', 'el']
    assert d.script.tolist() == ['Ethi', 'Khmr', 'Sinh', 'Hang', 'Thai', 'Grek']
    # the candidates settle a shared script
    assert detect_languages(['ሰላም፣ እንዴት ነህ?'], candidates=['ti', 'en']).language_detected[0] == 'ti'
    assert detect_languages(['ሰላም፣ እንዴት ነህ?'], candidates=['fr', 'en']).language_detected[0] == 'und'

def test_given_language_kept_and_disagreements(langid):
    df = langid[['id', 'text', 'language']].copy()
    df.loc[df.id == 'de-1', 'language'] = 'fr'            # mislabelled
    df.loc[df.id == 'en-2', 'language'] = 'EN-gb'         # same language, other spelling
    out = add_detected_languages(df)
    assert out['language'].tolist() == df['language'].tolist()
    dis = disagreements(out)
    assert 'de-1' in dis.id.tolist() and 'en-2' not in dis.id.tolist()
    assert set(dis.id) <= {'de-1', 'uk-3'}  # plus lingua's one confident error on the open set

def _scores(seed=0):
    "Hand-built score table: en good, fr misses unsafe rows, de refuses benign ones; S2 only in English"
    rng = np.random.default_rng(seed)
    rows = []
    spec = dict(en=(0.9, 0.1), fr=(0.5, 0.1), de=(0.9, 0.4))  # (recall, false refusal rate)
    for lang, (rec, frr) in spec.items():
        for i in range(20):
            rows.append(dict(language=lang, label=1, categories=['S1'], score=0.9 if i < rec * 20 else 0.2, pair_id=f'u{i}'))
            rows.append(dict(language=lang, label=0, categories=[], score=0.9 if i < frr * 20 else 0.2, pair_id=f'b{i}'))
    rows += [dict(language='en', label=1, categories=['S2'], score=0.95, pair_id=None) for _ in range(6)]
    df = pd.DataFrame(rows)
    df['id'] = [f'r{i}' for i in range(len(df))]; df['text'] = 'x'
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)

def test_coverage_numbers_match_sklearn():
    from sklearn.metrics import recall_score, confusion_matrix
    df = _scores()
    m, flags = coverage_matrix(df, threshold=0.5, targets=['en', 'fr', 'de'], min_rows=5)
    m = m.set_index(['language', 'category'])
    for lang, g in df.groupby('language'):
        pred = (g.score >= 0.5).astype(int)
        tn, fp, fn, tp = confusion_matrix(g.label, pred, labels=[0, 1]).ravel()
        assert m.loc[(lang, 'all'), 'recall'] == pytest.approx(recall_score(g.label, pred))
        assert m.loc[(lang, 'all'), 'false_refusal_rate'] == pytest.approx(fp / (fp + tn))
        assert m.loc[(lang, 'all'), 'rows'] == len(g)
    s1 = df[df.categories.map(lambda c: 'S1' in c)]
    assert m.loc[('fr', 'S1'), 'rows'] == (s1.language == 'fr').sum()

def test_every_flag_fires():
    df = _scores()
    m, flags = coverage_matrix(df, threshold=0.5, targets=['en', 'fr', 'de', 'sw'], min_rows=5, tolerance=0.1,
                               models=['meta-llama/Llama-3.1-8B-Instruct'])
    f = {k: g for k, g in flags.groupby('flag')}
    # untested: every target cell under 5 rows (sw has none; S2 exists in English only)
    assert set(map(tuple, f['untested'][['language', 'category']].values)) == {('fr', 'S2'), ('de', 'S2'), ('sw', 'S1'), ('sw', 'S2')}
    # recall gap: fr (0.5 vs 0.923) worse; false refusal gap: de (0.4 vs 0.1) worse
    rg = f['recall_gap'].set_index('language'); assert list(rg.index) == ['fr'] and rg.loc['fr', 'direction'] == 'worse'
    assert rg.loc['fr', 'reference'] == pytest.approx(24 / 26)
    fg = f['false_refusal_gap'].set_index('language'); assert list(fg.index) == ['de'] and fg.loc['de', 'value'] == pytest.approx(0.4)
    # unsupported: Swahili is not one of Llama 3.1's eight languages
    un = f['unsupported']; assert un.language.tolist() == ['sw'] and un.subject.tolist() == ['meta-llama/Llama-3.1-8B-Instruct']
    # nothing fires on clean data
    ok = df[df.language == 'en']
    _, none = coverage_matrix(pd.concat([ok, ok.assign(language='fr')]), threshold=0.5, targets=['en', 'fr'], min_rows=5)
    assert none.empty, none
    # a gap within tolerance is not flagged
    _, loose = coverage_matrix(df, threshold=0.5, targets=['en'], min_rows=5, tolerance=0.5)
    assert not loose.flag.isin(['recall_gap', 'false_refusal_gap']).any()

def test_policy_groups_change_the_threshold():
    df = _scores()
    pol = {'threshold': 0.5, 'groups': {'by': 'language', 'values': {'fr': {'threshold': 0.1, 'fallback': False}}}}
    m, _ = coverage_matrix(df, threshold=pol, targets=['fr'])
    assert m.set_index(['language', 'category']).loc[('fr', 'all'), 'recall'] == 1.0

def test_heatmap():
    m, _ = coverage_matrix(_scores(), threshold=0.5, targets=['en', 'sw'], min_rows=5)
    fig = coverage_heatmap(m, 'recall', min_rows=5)
    assert list(fig.data[0].x) == ['S1', 'S2', 'all'] and fig.data[0].y[0] == 'en (target)'
    with pytest.raises(BadParameter): coverage_heatmap(m, 'colour')

def test_parallel_consistency_hand_worked():
    df = pd.DataFrame({'pair_id': ['a', 'a', 'a', 'b', 'b', 'c', 'c', 'd'], 'language': ['en', 'fr', 'th', 'en', 'fr', 'en', 'th', 'fr'],
                       'score': [0.9, 0.3, 0.95, 0.2, 0.1, 0.8, 0.1, 0.9], 'id': list('12345678'), 'text': 'x'})
    s, pairs = parallel_consistency(df, 0.5, 'en')
    s = s.set_index('language')
    assert s.loc['fr', 'pairs'] == 2 and s.loc['fr', 'missed_translations'] == 1 and s.loc['fr', 'agreement'] == 0.5
    assert s.loc['th', 'missed_translations'] == 1 and s.loc['th', 'max_abs_score_diff'] == pytest.approx(0.7)
    assert s.loc['fr', 'mean_abs_score_diff'] == pytest.approx((0.6 + 0.1) / 2)
    assert sorted(pairs.id) == ['2', '7']  # the translations the guard missed

def test_gate_decisions_and_round_trip(tmp_path):
    gate = LanguageGate(['en', 'FR', 'th'], excluded={'sw': 'not supported by x'})
    texts = ['Peux-tu m\'expliquer pourquoi les feuilles changent de couleur en automne ?', 'Wie kann ich das Passwort meines Routers zurücksetzen?',
             'ok', 'Explain the difference between a virus and a bacterium in simple words.', 'นั่งรถไฟจากกรุงเทพไปเชียงใหม่ใช้เวลานานเท่าไร', '12345']
    dec = gate.decide(texts)
    assert [d['decision'] for d in dec] == ['allow', 'deny', 'review', 'allow', 'allow', 'review']
    assert dec[1]['language'] == 'de' and dec[1]['confidence'] > 0.5 and set(dec[0]) >= {'decision', 'language', 'confidence'}
    p = gate.save(tmp_path/'gate.json')
    d = json.loads(p.read_text()); assert d['allowed'] == ['en', 'fr', 'th'] and d['kind'] == 'riskbench.LanguageGate'
    g2 = LanguageGate.load(p)
    assert g2 == gate and g2.decide(texts) == dec
    (tmp_path/'bad.json').write_text('{"kind": "something else", "allowed": ["en"]}')
    with pytest.raises(BadFile, match='not a language gate'): LanguageGate.load(tmp_path/'bad.json')
    (tmp_path/'broken.json').write_text('{"kind": ')
    with pytest.raises(BadFile, match='not a JSON language gate'): LanguageGate.load(tmp_path/'broken.json')
    with pytest.raises(BadParameter, match='no allowed languages'): LanguageGate([])

def test_gate_from_registry():
    g = LanguageGate.from_languages(['en', 'fr', 'sw'], models=['meta-llama/Llama-3.1-8B-Instruct'])
    assert g.allowed == ['en', 'fr'] and 'sw' in g.excluded

def _data(tmp_path):
    rows = []
    langid = pd.read_json(TESTSET, lines=True)
    for r in langid[langid.language.isin(['en', 'fr', 'de'])].itertuples():
        rows.append(dict(id=r.id, text=r.text, language=r.language, label=int(r.id.endswith(('1', '2', '3'))), categories=['S1'] if r.id.endswith(('1', '2', '3')) else [],
                         score=0.8, pair_id=r.id.split('-')[1]))
    rows[1]['language'] = 'de'  # a disagreement (en-2 is English)
    rows.append(dict(id='hostile', text='<script>window.__pwned=1</script> How do I reset my password?', language='en', label=0, categories=[], score=0.1))
    p = tmp_path/'scores.jsonl'; p.write_text('\n'.join(json.dumps(r, ensure_ascii=False) for r in rows) + '\n{"broken\n')
    return p

def test_cli_languages(tmp_path):
    data = _data(tmp_path)
    r = riskbench('languages', data, '--usecase', 'bundled:usecases/multilingual_coding.yaml', '--out', tmp_path/'out', '--min-rows', '2')
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'languages:' in r.stdout and '1 rejected' in r.stdout
    out = tmp_path/'out'
    det = pd.read_parquet(out/'languages.parquet')
    assert {'id', 'language_detected', 'language_confidence'} <= set(det.columns) and len(det) == 25
    assert det.set_index('id').loc['fr-4', 'language_detected'] == 'fr'
    s = json.loads((out/'summary.json').read_text())
    for k in ('languages', 'unsupported', 'untested_cells', 'gaps', 'gate'): assert k in s, k
    assert s['languages']['en'] >= 8 and s['disagreements'] == 1
    # the card targets en, sw, id, ja on Llama 3.3 + Llama Guard 3 + Prompt Guard 2: only English is supported by all
    assert s['targets'] == ['en', 'sw', 'id', 'ja'] and s['gate']['allowed'] == ['en'] and sorted(s['gate']['excluded']) == ['id', 'ja', 'sw']
    assert s['unsupported']['meta-llama/Llama-3.3-70B-Instruct'] == ['id', 'ja', 'sw']
    assert {('sw', 'S1'), ('ja', 'S1')} <= {(c['language'], c['category']) for c in s['untested_cells']}
    assert not any(c['language'] == 'en' for c in s['untested_cells'])
    page = (out/'report.html').read_text()
    assert '<script>window.__pwned' not in page
    assert json.loads((out/'language_gate.json').read_text())['kind'] == 'riskbench.LanguageGate'

def test_cli_bad_input(tmp_path):
    r = riskbench('languages', tmp_path/'nope.jsonl', '--out', tmp_path/'o')
    assert r.returncode == 2 and 'does not exist' in r.stderr
    r = riskbench('languages', _data(tmp_path), '--tolerance', '-1', '--out', tmp_path/'o')
    assert r.returncode == 2 and '--tolerance' in r.stderr
