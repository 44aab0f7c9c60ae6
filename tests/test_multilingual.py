"Multilingual coverage: language ID accuracy, short/mixed texts, every flag, parallel consistency, the gate, `riskbench languages`"
import re, json, sys, subprocess
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from conftest import riskbench, ROOT
from riskbench.core import BadParameter, BadFile
from riskbench.multilingual import (detect_languages, add_detected_languages, disagreements, coverage_matrix, coverage_heatmap,
                                    parallel_consistency, LanguageGate, normalize_language, dominant_scripts, detection_check,
                                    detection_warnings, language_warnings, language_chance_warnings, unchecked_pairs,
                                    coverage_summary, floors_for, DEFAULT_FLOORS, MIN_CONFIDENCE)

TESTSET = ROOT/'tests'/'data'/'langid_sentences.jsonl'
SHORTSET = ROOT/'datasets'/'langid'/'short_texts.jsonl'

@pytest.fixture(scope='module')
def langid(): return pd.read_json(TESTSET, lines=True)

def test_import_is_lazy():
    code = "import sys, riskbench.multilingual; print(sorted(m for m in ('lingua', 'py3langid', 'plotly', 'torch', 'transformers', 'sklearn') if m in sys.modules))"
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
    # the cascade names the main language of a mixed text (Lingua alone split its confidence and said und)
    assert (d.language_detected != 'und').all()

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
    assert [d['decision'] for d in dec] == ['allow', 'deny', 'review', 'allow', 'allow', 'review']  # '12345': no letters
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
    r = riskbench('languages', data, '--usecase', 'bundled:usecases/multilingual_coding.yaml', '--out', tmp_path/'out', '--min-rows', '2',
                  '--min-unsafe', '2', '--min-benign', '2')
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'Rows per language: ' in r.stdout and '1 rejected' in r.stdout
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
    # the evidence gaps, said out loud in summary.json and on the page
    codes = {(w['code'], w.get('language')) for w in s['warnings']}
    assert {('untested_language', 'sw'), ('untested_language', 'id'), ('untested_language', 'ja')} <= codes
    assert ('untested_language', 'en') not in codes and s['tested_languages'] == ['en']
    assert {c['language'] for c in s['untested_cells']} >= {'sw', 'id', 'ja'}
    assert all(w['code'] != 'undetectable_language' for w in s['warnings'])      # the card's languages settle id vs ms
    assert [d['detectable'] for d in s['detection']] == [True, True, True, True]
    assert 'warning: untested_language' in r.stdout
    page = (out/'report.html').read_text()
    assert '<script>window.__pwned' not in page
    assert 'untested_language' in page and 'Target languages: 1 tested' in page
    assert "{'languages'" not in page and '{&#x27;languages' not in page      # no raw dict dump at the end
    assert json.loads((out/'language_gate.json').read_text())['kind'] == 'riskbench.LanguageGate'

def test_cli_bad_input(tmp_path):
    r = riskbench('languages', tmp_path/'nope.jsonl', '--out', tmp_path/'o')
    assert r.returncode == 2 and 'does not exist' in r.stderr
    r = riskbench('languages', _data(tmp_path), '--tolerance', '-1', '--out', tmp_path/'o')
    assert r.returncode == 2 and '--tolerance' in r.stderr
    r = riskbench('languages', _data(tmp_path), '--min-recall', '1.5', '--out', tmp_path/'o')
    assert r.returncode == 2 and '--min-recall' in r.stderr

# ---- issue 11 items 4, 5, 10 and issue 19 item 5: short texts, ties, undetectable and untested languages, floors

@pytest.fixture(scope='module')
def short(): return pd.read_json(SHORTSET, lines=True)

def test_short_set_is_what_the_datasheet_says(short):
    assert short.id.is_unique and short.text.is_unique and len(short) == 400
    assert short.groupby('language').size().eq(20).all() and short.language.nunique() == 20
    assert short.text.str.len().between(10, 60).all()
    assert {'en', 'de', 'fr', 'it', 'pt', 'hi', 'es', 'th', 'sw', 'id', 'ja', 'jv', 'am', 'yo', 'tl'} <= set(short.language)
    assert (ROOT/'datasets'/'langid'/'DATASHEET.md').exists()

def test_short_english_prompts_are_english(short):
    # the fixed 0.5 cut-off over Lingua's 75 languages sent many short English prompts to `und`
    en = short[short.language == 'en']
    d = detect_languages(en.text)
    assert (d.language_detected == 'en').all(), d[d.language_detected != 'en']
    assert MIN_CONFIDENCE['cascade'] < 0.5

def test_short_texts_per_language(short):
    d = detect_languages(short.text)
    acc = (d.language_detected == short.language).groupby(short.language).mean()
    # open set, only the close pairs fall under 90%: those are what `detection_check` declares
    assert set(acc[acc < 0.9].index) <= {'bs', 'hr', 'id', 'ms'}, acc[acc < 0.9]
    for lang in ('en', 'de', 'fr', 'it', 'pt', 'es', 'hi', 'th', 'sw', 'ja', 'jv', 'am', 'yo', 'tl', 'ha', 'sl'):
        assert acc[lang] >= 0.9, (lang, acc[lang])
    # with the card's language breaking ties, every language of the set reaches 90%
    for lang, g in short.groupby('language'):
        own = (detect_languages(g.text, prefer=[lang]).language_detected == lang).mean()
        assert own >= 0.9, (lang, own)

def test_prefer_breaks_ties_but_never_forces(short):
    sl = short[short.language == 'sl'].text
    base = detect_languages(sl).language_detected
    for card in (['sw'], ['hr'], ['en', 'sw', 'id', 'ja']):
        got = detect_languages(sl, prefer=card).language_detected
        assert not got.isin(card).any(), (card, got[got.isin(card)])   # Slovenian stays Slovenian
        assert (got == base).all()
    # Swahili and every language outside a close group are untouched by any card
    rest = short[~short.language.isin(['hr', 'bs', 'id', 'ms'])]
    a = detect_languages(rest.text).language_detected
    b = detect_languages(rest.text, prefer=['hr', 'ms', 'sw', 'yo']).language_detected
    assert (a == b).all()
    # within the Serbo-Croatian group the card decides a near tie
    hr = short[short.language == 'hr'].text
    assert (detect_languages(hr, prefer=['hr']).language_detected == 'hr').mean() > (detect_languages(hr).language_detected == 'hr').mean()

def test_confidence_cut_off_both_sides():
    t = ['How do I reset my router password?']   # decided by the first pass: deterministic confidence
    c = float(detect_languages(t).language_confidence[0])
    assert detect_languages(t, min_confidence=c).language_detected[0] == 'en'
    assert detect_languages(t, min_confidence=np.nextafter(c, 1)).language_detected[0] == 'und'
    with pytest.raises(BadParameter, match='tie_ratio'): detect_languages(t, tie_ratio=2)
    with pytest.raises(BadParameter, match='engine'): detect_languages(t, engine='cld9')

def test_tie_ratio_boundary():
    from riskbench.multilingual import _prefer
    labs = np.array([['bs', 'hr', 'sr']], object)
    assert _prefer(labs, np.array([[0.5, 0.15, 0.35]]), {'hr'}, 0.3)[0][0] == 'hr'
    assert _prefer(labs, np.array([[0.5, 0.1499, 0.35]]), {'hr'}, 0.3)[0][0] == 'bs'

def test_gate_threshold_both_sides():
    from riskbench.multilingual import gate_decision, ALLOW_MASS
    assert ALLOW_MASS == 0.5
    assert gate_decision('de', 0.9, 0.5, ['en'])['decision'] == 'allow'
    assert gate_decision('de', 0.9, np.nextafter(0.5, 0), ['en'])['decision'] == 'deny'
    assert gate_decision('en', 0.9, np.nextafter(0.5, 0), ['en'])['decision'] == 'allow'
    assert gate_decision('und', 0.2, 0.1, ['en'])['decision'] == 'review'

def test_codes_are_lower_cased():
    assert [normalize_language(c) for c in ('EN', 'En-GB', 'HR', 'ZH_tw')] == ['en', 'en', 'hr', 'zh']
    assert LanguageGate(['EN', 'Fr']).allowed == ['en', 'fr']
    d = detect_languages(['Wie kann ich mein Passwort zurücksetzen?'], candidates=['DE', 'EN'])
    assert d.language_detected[0] == 'de'
    assert detect_languages(['Kako mogu otkazati pretplatu?'], prefer='HR').language_detected[0] == 'hr'
    assert detection_check(['EN']).language.tolist() == ['en']

def test_undetectable_languages_are_declared():
    chk = detection_check(['en', 'hr', 'bs', 'tlh', 'xh']).set_index('language')
    assert chk.loc['en', 'detectable'] is True
    # hr and bs on one card: the card cannot break their ties; Klingon has no model; Xhosa is not in the short set
    assert chk.loc['hr', 'detectable'] is False and chk.loc['bs', 'detectable'] is False
    assert chk.loc['tlh', 'has_model'] == False and chk.loc['tlh', 'detectable'] is False
    assert chk.loc['xh', 'detectable'] is None
    ws = detection_warnings(chk.reset_index())
    und = {w['language'] for w in ws if w['code'] == 'undetectable_language'}
    assert und == {'hr', 'bs', 'tlh'} and all('`language` column' in w['message'] for w in ws)
    assert [w['language'] for w in ws if w['code'] == 'detection_unmeasured'] == ['xh']
    assert detection_check(['en', 'hr']).detectable.tolist() == [True, True]

def _one_class_free(langs, n_unsafe, n_benign, score_unsafe=0.1, score_benign=0.1):
    rows = []
    for l in langs:
        rows += [dict(language=l, label=1, score=score_unsafe) for _ in range(n_unsafe)]
        rows += [dict(language=l, label=0, score=score_benign) for _ in range(n_benign)]
    return pd.DataFrame(rows).assign(text='x', id=lambda d: [f'r{i}' for i in range(len(d))])

def test_untested_language_is_never_tested():
    # no categories in the data: the old summary said "untested cells: 0" for a target language with no rows
    df = _one_class_free(['en', 'fr'], 40, 40, 0.9, 0.1)
    m, flags = coverage_matrix(df, threshold=0.5, targets=['en', 'fr', 'sw'], min_rows=5)
    ws = language_warnings(m)
    assert [w['language'] for w in ws if w['code'] == 'untested_language'] == ['sw']
    s = coverage_summary(df, flags, None, ['en', 'fr', 'sw'], [], ws)
    assert s['untested_languages'] == ['sw'] and s['tested_languages'] == ['en', 'fr']
    assert {'language': 'sw', 'category': 'all', 'rows': 0} in s['untested_cells']
    # too few rows of one class is untested too: the minimum applies to unsafe and benign rows separately
    few = _one_class_free(['en'], 29, 100, 0.9, 0.1)
    m2, _ = coverage_matrix(few, threshold=0.5, targets=['en'])
    assert [w['code'] for w in language_warnings(m2)] == ['untested_language']
    m3, _ = coverage_matrix(_one_class_free(['en'], 30, 30, 0.9, 0.1), threshold=0.5, targets=['en'])
    assert language_warnings(m3) == []

def test_absolute_floors_catch_what_gaps_miss():
    # 0% recall in English and in two target languages (315 unsafe rows each): no gap, every language below the floor
    df = _one_class_free(['en', 'fr', 'th'], 315, 100, 0.1, 0.1)
    m, flags = coverage_matrix(df, threshold=0.5, targets=['en', 'fr', 'th'], min_rows=5)
    assert not flags.flag.isin(['recall_gap', 'false_refusal_gap']).any()
    ws = language_warnings(m)
    assert sorted(w['language'] for w in ws if w['code'] == 'below_floor' and w['metric'] == 'recall') == ['en', 'fr', 'th']
    assert all(w['floor'] == DEFAULT_FLOORS['min_recall'] and w['value'] == 0 for w in ws if w['code'] == 'below_floor')
    # false refusals over the ceiling; at exactly the ceiling, none
    frr = _one_class_free(['en'], 40, 40, 0.9, 0.1)
    frr.loc[frr.index[frr.label == 0][:5], 'score'] = 0.9     # 5 of 40 benign refused: 0.125 > 0.1
    mf, _ = coverage_matrix(frr, threshold=0.5, targets=['en'])
    assert [w['metric'] for w in language_warnings(mf) if w['code'] == 'below_floor'] == ['false_refusal_rate']
    assert language_warnings(mf, floors=dict(max_false_refusal_rate=0.125)) == []
    assert floors_for(None)['source'] == 'riskbench default' and floors_for(None, default=dict(min_recall=0.9))['min_recall'] == 0.9
    with pytest.raises(BadParameter, match='min_recall'): floors_for(None, default=dict(min_recall=2))

def test_worse_than_chance_per_language():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(0)
    df = _one_class_free(['en', 'fr'], 40, 40)
    df['score'] = np.where(df.label == 1, rng.uniform(0.5, 1, len(df)), rng.uniform(0, 0.5, len(df)))     # en: perfect
    fr = df.language == 'fr'
    df.loc[fr, 'score'] = rng.uniform(0, 1, fr.sum())                                                    # fr: noise
    ws = language_chance_warnings(df)
    assert [w['language'] for w in ws] == ['fr'] and all(w['code'] == 'worse_than_chance' for w in ws)
    assert ws[0]['auc'] == pytest.approx(roc_auc_score(df.label[fr], df.score[fr]))
    assert ws[0]['auc_low'] <= 0.5 <= ws[0]['auc_high'] or ws[0]['auc'] < 0.5

def test_unchecked_pairs_are_named():
    df = pd.DataFrame({'pair_id': ['a', 'a', 'b', 'b', 'c'], 'language': ['en', 'fr', 'en', 'und', 'th'],
                       'score': [0.9, 0.8, 0.1, 0.2, 0.5], 'id': list('12345'), 'text': 'x'})
    u = unchecked_pairs(df, ['en', 'fr', 'th', 'sw'])
    assert u[['language', 'reason']].values.tolist() == [['th', 'no en row for its pairs'], ['sw', 'no paired rows in sw'],
                                                         ['und', 'language not identified']]
    assert unchecked_pairs(df.drop(columns='pair_id'), ['en', 'fr']).reason.tolist() == ['the data has no pair_id']

def test_progress_is_silent_in_tests_and_shown_when_asked(capsys):
    from riskbench.multilingual import _progress
    assert _progress(10**6, None) is None                       # under pytest: never
    bar = _progress(3, True); bar.update(3); bar.close()
    assert 'detecting languages' in capsys.readouterr().err
    detect_languages(['How do I reset my router password?'] * 3)
    assert capsys.readouterr().err == ''

def test_floors_come_from_the_card_when_it_has_an_appetite():
    import riskbench.usecase as uc
    card = uc.load_usecase(ROOT/'datasets'/'usecases'/'multilingual_coding.yaml')
    f = floors_for(card, 'S1', default=dict(min_recall=0.55, max_false_refusal_rate=0.45, source='template parameters'))
    want = uc.appetite_floors(card, hazard='S1')
    assert (f['min_recall'], f['max_false_refusal_rate'], f['source']) == (want['min_recall'], want['max_false_refusal_rate'], want['source'])
    assert f['min_recall'] != 0.55                              # the card's appetite, not the default

def test_undetected_rows_are_said_out_loud():
    from riskbench.multilingual import undetected_warnings
    texts = ['ok', 'lol', '?!'] + ['How do I reset my router password?'] * 17
    d = add_detected_languages(pd.DataFrame({'text': texts}))
    w = undetected_warnings(d)
    assert [x['code'] for x in w] == ['undetected_rows'] and w[0]['rows'] == 3   # 15% > 5%
    assert undetected_warnings(d, max_share=0.15) == []                          # at exactly the share: quiet
    assert undetected_warnings(d, max_share=np.nextafter(0.15, 0))[0]['rows'] == 3

# ---- issue 20 items 3, 4, 5: the Coverage result, each idea once, no dead code

def _inputs(df, targets, models=(), read_extra=0):
    from riskbench.core import RowReport
    rows = RowReport('eval.jsonl', len(df) + read_extra, len(df))
    for i in range(read_extra): rows.reject(len(df) + i + 1, 'text is empty')
    return dict(df=df, rows=rows, targets=targets, models=list(models), targets_source='from the test')

SUMMARY_JSON_KEYS = {'rows_report', 'detection', 'warnings', 'parallel_unchecked', 'languages', 'targets', 'tested_languages',
                     'untested_languages', 'undetectable_languages', 'unsupported', 'untested_cells', 'gaps', 'gate',
                     'disagreements', 'rows'}

def test_coverage_measures_what_the_report_shows():
    from sklearn.metrics import recall_score
    from riskbench.multilingual import measure_coverage, Coverage
    df = _one_class_free(['en', 'fr'], 40, 40, 0.9, 0.1)
    fr_unsafe = df.index[(df.language == 'fr') & (df.label == 1)]
    df.loc[fr_unsafe[:12], 'score'] = 0.1                                   # French misses 12 of 40
    cov = measure_coverage(_inputs(df, ['en', 'fr', 'sw'], ['meta-llama/Llama-3.1-8B-Instruct'], read_extra=2))
    fr = df[df.language == 'fr']
    all_ = cov.matrix[cov.matrix.category == 'all'].set_index('language')
    assert all_.loc['fr', 'recall'] == pytest.approx(recall_score(fr.label, fr.score >= 0.5)) == 28 / 40
    assert all_.loc['en', 'recall_high'] == 1.0 and all_.loc['en', 'frr_low'] == 0.0     # the clipped interval
    assert (cov.tested_languages, cov.untested_languages) == (['en', 'fr'], ['sw'])
    assert cov.unsupported == {'meta-llama/Llama-3.1-8B-Instruct': ['sw']} and cov.gate['allowed'] == ['en', 'fr']
    codes = [w['code'] for w in cov.warnings]
    assert codes.count('rows_rejected') == 1 and 'untested_language' in codes and 'below_floor' in codes
    assert len({json.dumps(w, sort_keys=True) for w in cov.warnings}) == len(cov.warnings)  # each gap once
    d = cov.to_dict()
    assert set(d) == SUMMARY_JSON_KEYS and d['rows_report']['rejected'] == 2 and d['rows'] == 160
    assert json.loads(json.dumps(d)) == d and Coverage.from_dict(d).to_dict() == d
    said = ' '.join(cov.findings())
    for part in ('160 of 162 rows of eval.jsonl kept; 2 rejected', 'Rejected: 2 × text is empty', 'Not tested',
                 'sw', 'does not support sw', 'Below the floors: fr (recall overall)', 'fr recall 0.70 vs 1.00 (worse)',
                 'The language gate allows en, fr.'):
        assert part in said, part
    assert Coverage.from_dict(d).findings()[:2] == cov.findings()[:2]   # the command says what the report says

def test_coverage_renders_escaped():
    from riskbench.multilingual import measure_coverage
    df = _one_class_free(['en'], 30, 30, 0.9, 0.1)
    cov = measure_coverage(_inputs(df, ['en']))
    cov.unsupported = {'<img src=x onerror=alert(1)>|x': ['en']}
    md = cov._repr_markdown_()
    assert '<img' not in md and '&lt;img src=x onerror=alert(1)&gt;\\|x does not support en' in md
    assert md.startswith('**Target languages: 1 tested** of 1') and '| en | 60 | yes | yes | yes |' in md
    assert repr(cov).splitlines()[0] == '60 of 60 rows of eval.jsonl kept; 0 rejected.'

def test_a_card_no_model_supports_gets_no_gate():
    from riskbench.multilingual import measure_coverage
    df = _one_class_free(['sw'], 30, 30, 0.9, 0.1)
    cov = measure_coverage(_inputs(df, ['sw'], ['meta-llama/Llama-3.1-8B-Instruct']))
    assert cov.gate is None and cov.language_gate is None and cov.to_dict()['gate'] is None
    assert 'The language gate allows no target language: none is supported by every model.' in cov.findings()

def test_each_idea_once_and_no_dead_imports():
    import riskbench.multilingual as ml, riskbench.thresholds as th
    assert ml.wilson_interval is th.wilson_interval
    src = Path(ml.__file__).read_text()
    assert 'except ImportError' not in src and 'def wilson_interval' not in src
    lazy = [l.strip() for l in src.splitlines() if l.startswith((' ', '\t')) and re.match(r'\s+(from|import) ', l)]
    assert all(re.match(r'(from|import) (lingua|py3langid|tqdm|plotly)', l) for l in lazy), lazy   # heavy ones only

def test_coverage_inputs_account_for_every_row(tmp_path):
    "read = kept + rejected through scored_table: rows the reader rejects and rows without a score are both counted"
    from riskbench.multilingual import coverage_inputs, measure_coverage
    rows = [dict(id=f'r{i}', text=f'How do I reset the password of router {i}?', language='EN-us', label=i % 2,
                 score=0.9 if i % 2 else 0.1) for i in range(6)]
    rows[2]['score'] = None                                                        # no score: rejected, not a miss
    p = tmp_path/'scored.jsonl'; p.write_text(''.join(json.dumps(r) + '\n' for r in rows) + '{"broken\n')
    for inp in (coverage_inputs(data=str(p), guard='baseline'),                    # has scores: never rescored
                coverage_inputs(scores=str(p))):
        r = inp['rows'].check()
        assert (r.read, r.kept, r.rejected, len(inp['df'])) == (7, 5, 2, 5)
        assert sorted(x['reason'].split(' ')[0] for x in r.rejects) == ['malformed', 'score']
        assert inp['df']['score'].tolist() == [0.1, 0.9, 0.9, 0.1, 0.9]           # the file's, not the baseline's
        assert set(inp['df']['language']) == {'en'}                                # one spelling per language
    cov = measure_coverage(inp)
    assert [w['code'] for w in cov.warnings].count('rows_rejected') == 1 and cov.languages == {'en': 5}
    assert cov.findings()[:2] == r.findings()
    plain = tmp_path/'plain.jsonl'; plain.write_text(''.join(json.dumps({k: v for k, v in x.items() if k != 'score'}) + '\n'
                                                              for x in rows) + '{"broken\n')
    inp = coverage_inputs(data=str(plain), guard='baseline')                       # scored by the guard
    r = inp['rows'].check()
    assert (r.read, r.kept, r.rejected, len(inp['df'])) == (7, 6, 1, 6) and inp['fingerprint']['spec'] == 'baseline'
    assert inp['df']['score'].between(0, 1).all() and inp['models'] == ['baseline']
    counts = coverage_inputs(data=str(plain), guard='')                             # row counts only
    assert 'score' not in counts['df'] and counts['fingerprint'] is None and counts['rows'].kept == 6
    none = tmp_path/'unscored.jsonl'; none.write_text(''.join(json.dumps(dict(x, score=None)) + '\n' for x in rows))
    with pytest.raises(BadFile, match=r'every one of its 6 row\(s\) was rejected \(6 × score missing is not a number'):
        coverage_inputs(scores=str(none))

# ---- issue 19 item 5: start-up. The script table and py3langid's model come from datasets/langid/detector.npz
def test_import_riskbench_pays_nothing_for_language_id():
    code = ("import sys, riskbench\n"
            "a = sorted(m for m in ('riskbench.multilingual', 'py3langid', 'lingua') if m in sys.modules)\n"
            "import riskbench.multilingual as m\n"
            "print(a, [f.cache_info().currsize for f in (m._packed, m._langid, m._script_table)])")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '[] [0, 0, 0]'  # nothing imported, nothing read or built until the first detection

def test_packed_detector_is_fresh_and_small():
    "Fails when the installed py3langid or this Python's Unicode version no longer matches: rerun `_pack_detector()`"
    import riskbench.multilingual as m
    p = ROOT/'datasets'/'langid'/'detector.npz'
    assert p.stat().st_size < 6e6
    meta = m._packed()['meta']
    assert meta['langid'] == m._sha256(m._langid_source()), 'py3langid model changed: rerun _pack_detector()'
    assert meta['scripts'] == m._script_key(), 'Unicode version or scripts changed: rerun _pack_detector()'

def test_packed_detector_detects_exactly_as_the_built_one(short, langid, monkeypatch):
    import riskbench.multilingual as m
    fast, _ = m._langid()
    built = m._langid(packed=False)  # py3langid's own loader
    fresh = built[0]
    assert fast is not fresh and fast.tk_nextmove == fresh.tk_nextmove and fast.tk_row == fresh.tk_row
    assert fast.tk_output == fresh.tk_output and fast.nb_classes == fresh.nb_classes
    assert np.array_equal(fast.nb_ptc, fresh.nb_ptc) and fast.nb_ptc.dtype == fresh.nb_ptc.dtype
    texts = short.text.tolist() + langid.text.tolist() + ['', '12345', 'ALL CAPS TEXT', 'mixed 日本語 and English']
    assert np.stack([fast._decide(t) for t in texts]).tobytes() == np.stack([fresh._decide(t) for t in texts]).tobytes()
    assert np.array_equal(m._script_table(), m._build_script_table())
    got = detect_languages(texts, prefer=['en', 'hr'])
    monkeypatch.setattr(m, '_langid', lambda packed=True: built)
    monkeypatch.setattr(m, '_script_table', m._build_script_table)
    pd.testing.assert_frame_equal(got, detect_languages(texts, prefer=['en', 'hr']))

def test_a_missing_packed_file_falls_back(tmp_path, monkeypatch):
    import riskbench.multilingual as m
    monkeypatch.setattr(m, 'datasets_dir', lambda: tmp_path)
    assert m._packed.__wrapped__() == {}
    (tmp_path/'langid').mkdir(); (tmp_path/'langid'/'detector.npz').write_bytes(b'not a zip')
    assert m._packed.__wrapped__() == {}
    whole = (ROOT/'datasets'/'langid'/'detector.npz').read_bytes()
    (tmp_path/'langid'/'detector.npz').write_bytes(whole[:len(whole) // 2])  # truncated
    assert m._packed.__wrapped__() == {}
    d = m._packed()  # a damaged compressed part: py3langid's own loader, the same model
    bad = dict(d, ptc=d['ptc'][:1000])
    monkeypatch.setattr(m, '_packed', lambda: bad)
    ptc = m._langid_model()[0]
    assert np.array_equal(ptc, m._langid(packed=False)[0].nb_ptc)
