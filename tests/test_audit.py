"Data audits: planted problems found, clean control silent, detectors against independent sources, CLI and template (guard bias: test_bias.py)"
import json, re, math
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from conftest import riskbench, ROOT

from riskbench import audit as A
from riskbench.core import BadParameter, BadFile, BadColumn

DATA = ROOT/'datasets'
PLANTED = DATA/'demo_finetune_planted.json'

# ------------------------------------------------------------------ planted problems in the bundled data

@pytest.fixture(scope='module')
def planted():
    if not PLANTED.exists(): pytest.fail(f'{PLANTED} is missing: the bundled demo data must ship with its planted-problem list')
    return json.loads(PLANTED.read_text(encoding='utf-8'))

@pytest.fixture(scope='module')
def demo_audit():
    return A.audit_dataset(DATA/'demo_finetune.jsonl', detect_languages=False)

@pytest.fixture(scope='module')
def clean_audit():
    return A.audit_dataset(DATA/'demo_finetune_clean.jsonl', detect_languages=False)

def _field(f): return {'prompt': 'text', 'text': 'text', 'response': 'response'}.get(f, f)

TYPE_NAMES = {'email': 'email', 'phone': 'phone', 'phone_number': 'phone', 'credit_card': 'credit_card', 'card': 'credit_card',
              'payment_card': 'credit_card', 'iban': 'iban', 'ip': 'ip_address', 'ip_address': 'ip_address', 'ipv4': 'ip_address',
              'ipv6': 'ip_address', 'ssn': 'us_ssn', 'us_ssn': 'us_ssn', 'secret': 'secret', 'api_key': 'secret', 'aws_key': 'secret',
              'aws_access_key': 'secret', 'private_key': 'secret', 'url_credentials': 'secret', 'password': 'secret', 'url_password': 'secret', 'password_in_url': 'secret'}

def test_every_planted_pii_item_found_masked(planted, demo_audit):
    items = planted['pii']
    assert items, 'the planted list holds no PII'
    found = A._pii_table(demo_audit.data, ['text', 'response'], reveal=True)
    for it in items:
        t = TYPE_NAMES.get(it['type'], it['type'])
        hit = found[(found['id'] == str(it['id'])) & (found['field'] == _field(it['field'])) & (found['type'] == t)]
        assert len(hit), f"planted {it['type']} in row {it['id']} ({it['field']}) not found"
        assert any(it['value'] in v or v in it['value'] for v in hit['value']), f"{it['id']}: found {hit['value'].tolist()}, planted {it['value']!r}"
        # reported masked, never in clear
        assert it['value'] not in json.dumps(demo_audit, default=str)
    assert demo_audit['pii']['rows'] == len({str(i['id']) for i in items})

def _pairs(items):
    "Row-id pairs from planted entries ({ids: [a, b]} or {train_id, test_id})"
    return [[str(i) for i in (p['ids'] if 'ids' in p else [p['train_id'], p['test_id']])] for p in items]

def test_every_planted_duplicate_found(planted, demo_audit):
    groups = [set(g) for g in demo_audit['duplicates']['exact_groups']]
    exact = _pairs(planted['exact_duplicates'])
    assert exact
    for ids in exact: assert any(set(ids) <= g for g in groups), f'exact duplicates {ids} not found'
    near = _pairs(planted['near_duplicates'])
    assert near
    found = {frozenset((p['id_a'], p['id_b'])) for p in demo_audit.tables['near_duplicates'].to_dict('records')}
    for ids in near:
        assert frozenset(ids[:2]) in found, f'near duplicates {ids} not found'

def test_every_planted_leak_found(planted, demo_audit):
    leaks = planted['leakage']
    assert leaks
    lk = demo_audit.tables['leakage']
    found = {frozenset((a, b)) for a, b in zip(lk['id_a'], lk['id_b'])}
    for ids in _pairs(leaks): assert frozenset(ids[:2]) in found, f'leak {ids} not found'
    assert set(x for ids in _pairs(leaks) for x in ids[:2]) <= set(demo_audit['leakage']['ids'])

def test_planted_identity_over_association_flagged(planted, demo_audit):
    gr = planted['group_refusals']
    g = gr['group']
    assert demo_audit['identity']['outcome'] == 'refused'
    assert demo_audit['identity']['flagged'] == [g], demo_audit['identity']['groups'].get(g)
    row = demo_audit['identity']['groups'][g]
    # every planted row of the group is matched (in each language), and the refusal detector agrees with the planted refusals
    ids = {r['id'] for r in gr['rows'] if r['group'] == g}
    men = demo_audit.tables['identity_mentions']
    assert ids <= set(men.loc[men.group == g, 'id'])
    refused = dict(zip(demo_audit.data['id'], demo_audit.data['refused']))
    for r in gr['rows']: assert bool(refused[r['id']]) == r['refusal'], r
    for r in planted['other_refusals']: assert refused[r['id']] == 1, r
    assert row['rows'] == gr['summary'][g]['rows'] and row['outcome_rows'] == gr['summary'][g]['refusals']
    assert row['ci_low'] > 1 and row['npmi'] > 0

def test_planted_language_skew_found(planted, demo_audit):
    skew = planted['language_skew']
    lang = demo_audit['languages']
    assert lang['counts'] == skew['counts'] and math.isclose(lang['dominant_share'], skew['english_share'], abs_tol=1e-3)
    minority = {k for k in skew['counts'] if k != 'en'}
    assert lang['flag'] and set(lang['under_represented']) == minority
    # against a use-case card's targets, a language the data lacks is named too
    s = A.audit_dataset(DATA/'demo_finetune.jsonl', usecase=['en', 'de', 'sw'], detect_languages=False)
    assert s['languages']['missing_targets'] == ['sw'] and s['languages']['under_represented'] == ['de']

def test_clean_control_reports_nothing(planted, clean_audit):
    s = clean_audit
    assert s['duplicates']['exact'] == 0 and s['duplicates']['near'] == 0
    assert s['leakage']['rows'] == 0
    assert s['pii']['rows'] == 0 and s['pii']['counts_by_type'] == {}
    assert s['identity']['flagged'] == []
    assert not s['languages']['flag'], s['languages']
    assert s['findings'] == []

def test_cli_audit_on_bundled_data(tmp_path, planted):
    r = riskbench('audit', DATA/'demo_finetune.jsonl', '--out', tmp_path/'a')
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path/'a'/'summary.json').read_text())
    for k in ('rows', 'duplicates', 'leakage', 'pii', 'languages', 'identity'): assert k in s
    assert s['duplicates']['exact'] >= 1 and s['duplicates']['near'] >= 1 and s['leakage']['rows'] >= 1
    assert s['pii']['rows'] >= 1 and s['pii']['counts_by_type'] and s['identity']['flagged']
    for g in s['identity']['groups'].values():
        assert {'share', 'rate', 'rate_ratio', 'ci_low', 'ci_high', 'npmi', 'flag'} <= set(g)
    page = (tmp_path/'a'/'report.html').read_text()
    nb = (tmp_path/'a'/'report.ipynb').read_text()
    for it in planted['pii']:
        assert it['value'] not in page and it['value'] not in nb and it['value'] not in json.dumps(s)
    assert 'rows read' in r.stdout and 'PII' in r.stdout

# ------------------------------------------------------------------ CLI, templates, bad input

def _ft(tmp_path, extra=()):
    rows = [dict(id=f'r{i}', prompt=f'Question {i}: how do I plant {w} in a small balcony garden during a dry spring',
                 response='Here is how.', split='train' if i % 4 else 'test', language='en')
            for i, w in enumerate(['tomatoes', 'basil', 'roses', 'mint', 'lettuce', 'chili', 'beans', 'thyme'])]
    rows += list(extra)
    p = tmp_path/'ft.jsonl'
    p.write_text('\n'.join(json.dumps(r) for r in rows) + '\n{"broken\n')
    return p

def test_cli_audit_escapes_and_masks(tmp_path):
    hostile = dict(id='h', prompt='<script>window.__pwned=1</script> mail zoe@example.net', response='ok', split='train', language='en')
    p = _ft(tmp_path, [hostile])
    r = riskbench('audit', p, '--out', tmp_path/'o', '--near-dup-threshold', '0.9')
    assert r.returncode == 0, r.stderr
    page = (tmp_path/'o'/'report.html').read_text()
    assert '<script>window.__pwned' not in page and 'zoe@example.net' not in page and 'z***@e***.net' in page
    s = json.loads((tmp_path/'o'/'summary.json').read_text())
    assert s['rows'] == 9 and s['row_accounting']['rejected'] == 1 and s['pii']['counts_by_type'] == {'email': 1}
    assert s['duplicates']['threshold'] == 0.9
    m = json.loads((tmp_path/'o'/'manifest.json').read_text())
    assert m['status'] == 'ok' and m['inputs']['data']['rows_kept'] == 9

def test_cli_audit_bad_input(tmp_path):
    r = riskbench('audit', tmp_path/'missing.jsonl', '--out', tmp_path/'o')
    assert r.returncode == 2 and 'does not exist' in r.stderr
    r = riskbench('audit', _ft(tmp_path), '--near-dup-threshold', '1.5', '--out', tmp_path/'o')
    assert r.returncode == 2 and 'near-dup-threshold' in r.stderr
    (tmp_path/'notext.csv').write_text('a,b\n1,2\n')
    with pytest.raises(BadColumn, match="no column 'text'"): A.audit_dataset(tmp_path/'notext.csv')

def test_audit_against_usecase_card(tmp_path):
    card = tmp_path/'card.yaml'
    card.write_text('name: demo\nlanguages: [en, de]\n')
    s = A.audit_dataset(_ft(tmp_path), usecase=str(DATA/'usecases'/'customer_support.yaml'), detect_languages=False)  # targets en, de, fr
    assert s['languages']['missing_targets'] == ['de', 'fr'] and s['languages']['flag'] and s['languages']['targets_from'] == 'use case'

def test_data_audit_template_parameters():
    from riskbench.report import template_parameters
    p = template_parameters('data_audit')
    assert p['data']['default'] == 'bundled:demo_finetune.jsonl' and p['data']['input_path']
    assert p['usecase']['default'] == '' and p['near_dup_threshold']['default'] == 0.5

# ------------------------------------------------------------------ detectors

VALID_CARDS = ['4111 1111 1111 1111', '4012-8888-8888-1881', '5555555555554444', '5105 1051 0510 5100', '378282246310005', '6011 1111 1111 1117', '3530111333300000']
INVALID_CARDS = ['4111 1111 1111 1112', '5555555555554445', '1234 5678 9012 3456', '4111 1111 1111 11']
VALID_IBANS = ['DE89 3704 0044 0532 0130 00', 'GB82 WEST 1234 5698 7654 32', 'FR14 2004 1010 0505 0001 3M02 606', 'NL91ABNA0417164300', 'CH9300762011623852957']
INVALID_IBANS = ['DE89 3704 0044 0532 0130 01', 'GB82 WEST 1234 5698 7654 33', 'NL91ABNA0417164301', 'XX89 3704 0044 0532 0130 00', 'DE89 3704 0044 0532 0130']

@pytest.mark.parametrize('card', VALID_CARDS)
def test_valid_cards_found(card):
    f = A.find_pii([f'my card is {card} thanks'], reveal=True)
    assert f['type'].tolist() == ['credit_card'] and f['value'].iloc[0] == card
    assert f['masked'].iloc[0].endswith(re.sub(r'\D', '', card)[-4:]) and f['masked'].iloc[0].startswith('****')

@pytest.mark.parametrize('card', INVALID_CARDS)
def test_invalid_cards_not_found(card):
    assert 'credit_card' not in A.find_pii([f'my card is {card} thanks'])['type'].tolist()

@pytest.mark.parametrize('iban', VALID_IBANS)
def test_valid_ibans_found(iban):
    f = A.find_pii([f'Pay to {iban}.'], reveal=True)
    assert f['type'].tolist() == ['iban'] and f['value'].iloc[0] == iban

@pytest.mark.parametrize('iban', INVALID_IBANS)
def test_invalid_ibans_not_found(iban):
    assert 'iban' not in A.find_pii([f'Pay to {iban}.'])['type'].tolist()

def test_luhn_and_iban_checksums_by_hand():
    # 79927398713 is the textbook Luhn example; flipping the check digit breaks it
    assert A.luhn_valid('79927398713') and not A.luhn_valid('79927398710')
    s = 'GB82WEST12345698765432'
    assert int(''.join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1 and A.iban_valid(s)

def test_other_detectors_and_no_false_hits():
    texts = ['Write to ann.lee+work@mail.example.co.uk', 'Call (212) 555-0187 or +44 20 7946 0958', 'ssn 219-09-9999',
             'ip 203.0.113.7 and 2001:db8::8a2e:370:7334', 'token ghp_' + 'a1B2' * 9, 'https://bob:pa55word@git.example.com/repo',
             # clean text that looks number-ish or secret-ish
             'Version 3.11.4 released on 2023-06-06, costs 1 000 000 euros, call me at 5pm, ratio 3.14159265, pages 120-135',
             'Set password: required; the password field must be filled', 'localhost is 127.0.0.1, room 1402, ISBN 978-3-16-148410-0',
             'std::vector<int> v; a::b::c', 'In 1999-2004 the team scored 12 34 56 points', 'Use the IBAN field and a card number']
    f = A.find_pii(texts, reveal=True)
    got = f.groupby('row')['type'].agg(sorted).to_dict()
    assert got == {0: ['email'], 1: ['phone', 'phone'], 2: ['us_ssn'], 3: ['ip_address', 'ip_address'], 4: ['secret'], 5: ['secret']}, f
    assert 'pa55word' not in A.mask_pii(texts[5]) and 'ann.lee' not in A.mask_pii(texts[0])

def test_pii_over_many_rows_matches_rows():
    texts = ['nothing here'] * 1000
    texts[7] = 'x a@b.example.org'; texts[999] = 'card 4111111111111111'
    f = A.find_pii(pd.Series(texts))
    assert f[['row', 'type']].values.tolist() == [[7, 'email'], [999, 'credit_card']]

def test_presidio_backend_absent_is_a_clear_error():
    try: import presidio_analyzer  # noqa
    except ImportError:
        with pytest.raises(BadParameter, match='presidio-analyzer'): A.find_pii(['a@b.example.org'], backend='presidio')
    else:
        assert A.find_pii(['mail a@example.org'], backend='presidio')['type'].tolist() == ['email']

# ------------------------------------------------------------------ identity lexicon

# (language, text that mentions the group, expected group, text with the term only inside a longer word)
CASES = [('en', 'Many Asian families live here', 'asian', 'Caucasian tourists and Eurasian steppe'),
         ('en', 'The women met', 'women', 'Womenswear and the mentor'),
         ('de', 'Muslime beten', 'muslim', 'Muslimenfeindlichkeit ist ein Wort'),
         ('fr', 'Les femmes votent', 'women', 'Les femmelettes'),
         ('es', 'Los inmigrantes llegan', 'immigrant', 'Inmigrantesco no es palabra'),
         ('pt', 'As mulheres votam', 'women', 'Mulheresca não é palavra'),
         ('it', 'Gli anziani leggono', 'elderly', 'Anzianità di servizio'),
         ('hi', 'मुसलमान प्रार्थना करते हैं', 'muslim', 'मुसलमानी शब्द'),
         ('th', 'ผู้หญิงทำงาน', 'women', 'วันนี้อากาศดี'),
         ('sw', 'Wanawake wanafanya kazi', 'women', 'Wanawakeni si neno'),
         ('id', 'Perempuan bekerja', 'women', 'Keperempuanan adalah kata')]

@pytest.mark.parametrize('lang,hit,group,miss', CASES)
def test_identity_word_boundaries_each_language(lang, hit, group, miss):
    df = pd.DataFrame(dict(id=['hit', 'miss'], text=[hit, miss], language=lang))
    m = A.identity_mentions(df)
    assert group in set(m.loc[m.id == 'hit', 'group'])
    if lang != 'th': assert group not in set(m.loc[m.id == 'miss', 'group']), m

def test_pronoun_he_not_in_the():
    lex = A.Lexicon(pd.DataFrame(dict(axis='gender', group='men', language='en', term=['he', 'gay men'], tokens=[('he',), ('gay', 'men')])))
    df = pd.DataFrame(dict(id=list('abc'), text=['The theme of the other', 'He said: he!', 'GAY   MEN'], language='en'))
    m = A.identity_mentions(df, lex)
    assert m.groupby('id').size().to_dict() == {'b': 2, 'c': 1}

def test_lexicon_is_complete_and_consistent():
    lex = A.load_lexicon()
    need = {'gender', 'religion', 'ethnicity_nationality', 'sexual_orientation', 'disability', 'age'}
    t = lex.terms
    assert need == set(t.axis)
    for axis in need:
        for lang in ('en', 'de', 'fr', 'es', 'pt', 'hi', 'it'):
            assert ((t.axis == axis) & (t.language == lang)).any(), (axis, lang)
    # each term matches its own text in its language
    df = pd.DataFrame(dict(id=[f'{i}' for i in range(len(t))], text=t['term'].tolist(), language=t['language'].tolist()))
    m = A.identity_mentions(df, lex)
    got = m.groupby('id')['group'].agg(set)
    missed = [(r.term, r.language) for i, r in enumerate(t.itertuples()) if r.group not in got.get(str(i), set())]
    assert not missed, missed[:10]

def test_bad_lexicon_files(tmp_path):
    (tmp_path/'a.yaml').write_text('axes: [1, 2]\n')
    with pytest.raises(BadFile, match='expected a mapping'): A.load_lexicon(tmp_path/'a.yaml')
    (tmp_path/'b.yaml').write_text('axes:\n  g:\n    x: {en: [foo]}\n    y: {en: [Foo]}\n')
    with pytest.raises(BadFile, match="listed under two groups"): A.load_lexicon(tmp_path/'b.yaml')

# ------------------------------------------------------------------ association statistics

def test_npmi_and_rate_ratio_by_hand():
    # 100 rows: 20 mention the group, 30 unsafe, 12 both -> PMI = log(0.12 / (0.2 * 0.3)) = log 2
    assert math.isclose(A.npmi(12, 20, 30, 100), math.log(2) / -math.log(0.12), rel_tol=1e-12)
    rr, lo, hi = A.rate_ratio(12, 20, 18, 80)
    assert math.isclose(rr, 0.6 / 0.225)
    se = math.sqrt(1/12 - 1/20 + 1/18 - 1/80)
    assert math.isclose(lo, rr * math.exp(-1.959963984540054 * se), rel_tol=1e-9) and math.isclose(hi, rr * math.exp(1.959963984540054 * se), rel_tol=1e-9)

def test_association_flags_only_real_skew():
    rng = np.random.default_rng(3)
    n = 2000
    g = rng.choice(['Muslims', 'women', 'gardeners', 'elderly people'], n)
    y = np.where(g == 'Muslims', rng.random(n) < 0.5, rng.random(n) < 0.15).astype(int)
    df = pd.DataFrame(dict(id=[f'r{i}' for i in range(n)], text=[f'About {x}' for x in g], language='en', label=y))
    a = A.identity_association(df).set_index('group')
    assert a.flag.to_dict() == {'muslim': True, 'women': False, 'elderly': False}
    m = (g == 'Muslims')
    assert math.isclose(a.loc['muslim', 'rate'], y[m].mean()) and math.isclose(a.loc['muslim', 'rest_rate'], y[~m].mean())

# ------------------------------------------------------------------ duplicates

def test_near_duplicates_against_brute_force():
    rng = np.random.default_rng(0)
    vocab = [f'w{i}' for i in range(300)]
    base = [' '.join(rng.choice(vocab, 25)) for _ in range(150)]
    texts = list(base)
    for i in range(60):  # edited copies: 1 to 6 words changed
        w = base[i].split()
        for j in rng.choice(25, rng.integers(1, 7), replace=False): w[j] = 'x' + str(rng.integers(1000))
        texts.append(' '.join(w))
    hs, off = A.shingle_hashes(texts)
    sets = [set(hs[off[i]:off[i+1]]) for i in range(len(texts))]
    truth = {(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts)) if len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= 0.6}
    got = A.near_duplicate_pairs(texts, 0.6)
    got_set = set(map(tuple, got[['i', 'j']].to_numpy().tolist()))
    assert got_set <= truth                      # verified: never a false pair
    assert len(truth - got_set) <= max(1, len(truth) // 20), (len(truth), len(got_set))  # LSH misses at most a few
    assert len(truth) > 10

def test_large_bucket_stays_linear():
    texts = ['the same prompt about bread baking at home today'] * 3000 + ['another prompt entirely about rivers in africa'] * 5
    p = A.near_duplicate_pairs(texts, 0.8)
    # 3,000 copies are linked as a star to the first (not 4.5 million pairs); the 5 copies pairwise
    assert len(p) == 2999 + 10 and (p.jaccard == 1).all()

SHINGLE_TEXTS = ['the cat sat on the mat the cat sat', 'Straße  über Ｃａｆé', 'two words', 'one', '', 'महिलाएं आईं ok',
                 'a b a b a b a b', 'x y z x y z']

def _shingle_oracle(text, k=3):
    "Plain Python: the shingle hash set of one text, from its tokens' SipHash and the fold of `shingle_hashes`"
    tok, _ = A.tokenise([text])
    h = [int(v) for v in A._text_hashes(tok)]
    m = lambda x: int(A._mix64(np.array([x % 2**64], np.uint64))[0])
    if 0 < len(h) < k:
        acc = 0
        for v in h: acc = m(acc * 31 + v)
        return {acc}
    out = set()
    for p in range(len(h) - k + 1):
        g = h[p]
        for j in range(1, k): g = m(g * 31 + h[p + j])
        out.add(g)
    return out

def test_shingle_hashes_against_plain_python_and_batch_independent():
    hs, off = A.shingle_hashes(SHINGLE_TEXTS)
    for i, t in enumerate(SHINGLE_TEXTS):
        got = hs[off[i]:off[i+1]].tolist()
        assert len(got) == len(set(got)) and set(got) == _shingle_oracle(t), t   # distinct, and the oracle's set
        alone, o1 = A.shingle_hashes([t])
        assert alone.tolist() == got, t             # a text's hashes do not depend on the batch around it
    small, o2 = A.shingle_hashes(SHINGLE_TEXTS, block=3)  # hashed 3 tokens at a time: the same
    assert small.tolist() == hs.tolist() and o2.tolist() == off.tolist()

def test_shingle_hashes_same_in_every_process():
    import subprocess, sys, os
    code = ("import json, sys; from riskbench import audit as A; h, o = A.shingle_hashes(json.loads(sys.argv[1])); "
            "print(json.dumps([h.tolist(), o.tolist()]))")
    hs, off = A.shingle_hashes(SHINGLE_TEXTS)
    for seed in ('0', '12345', 'random'):
        r = subprocess.run([sys.executable, '-c', code, json.dumps(SHINGLE_TEXTS)], capture_output=True, text=True,
                           env={**os.environ, 'PYTHONHASHSEED': seed}, check=True)
        assert json.loads(r.stdout) == [hs.tolist(), off.tolist()], seed

def test_repeated_against_pandas():
    rng = np.random.default_rng(3)
    for key in (rng.integers(0, 50, 2000).astype(np.uint64),            # small values: high bits all zero
                A._mix64(rng.integers(0, 30_000, 40_000).astype(np.uint64)),   # well mixed, many repeats
                rng.integers(-5, 5, 100)):                              # int64
        assert (A._repeated(key) == pd.Series(key).duplicated(keep=False).to_numpy()).all()

def test_exact_duplicates_normalisation():
    df = pd.DataFrame(dict(id=list('abcd'), text=['Ｃａｆé  au LAIT', 'café au lait', 'Straße', 'STRASSE'], response=['x', 'x', 'y', 'z']))
    d = A.exact_duplicates(df, ['text'])
    assert d.groupby('group')['id'].agg(list).tolist() == [['a', 'b'], ['c', 'd']]
    assert A.exact_duplicates(df, ['text', 'response'])['id'].tolist() == ['a', 'b']

# ------------------------------------------------------------------ the fast tokeniser and scan against plain-Python oracles

MIXED = ['Hello, wörld!', '', "l'homme — non-binary 😀ok", 'महिलाएं आईं 𝐀', 'Ｈｉ  there\x1e x', 'Straße  STRASSE',
         '\u2028a\x85b\u3000c\x1cd', 'ok😀 𝐀 🇩🇪flag', 'a\tb\nc', '  ', 'Les femmes, les FEMMES!', 'ผู้หญิงทำงาน ๆ',
         'Muslime\u00a0beten; gay people (gay-people)', '١٢٣ مرحبا، يا نساء', 'e\u0301te\u0301 ﬁne']

def _oracle_tokens(text):
    "Word tokens one character at a time: NFKC, casefold, punctuation/symbols/white space split words"
    import unicodedata
    t = unicodedata.normalize('NFKC', text.replace('\x1e', ' ')).casefold()
    return ''.join(' ' if unicodedata.category(c)[0] in 'PS' or c.isspace() else c for c in t).split()

def test_tokeniser_equals_a_per_character_oracle():
    rng = np.random.default_rng(5)
    texts = MIXED + [' '.join(rng.choice(MIXED, 3)) for _ in range(200)]
    codes, vocab, row = A._token_codes(texts)
    got = list(zip(row.tolist(), vocab[codes].tolist()))
    assert got == [(i, w) for i, t in enumerate(texts) for w in _oracle_tokens(t)]
    assert len(set(vocab)) == len(vocab)  # one code per distinct token

def test_identity_scan_equals_a_regex_oracle():
    lex = A.load_lexicon()
    en = lex.terms[lex.terms.language == 'en']
    rng = np.random.default_rng(7)
    filler = ['the', 'Caucasian', 'womenswear', 'people', 'old', 'of', 'and,', '!', 'gay', 'asian-american']
    texts = [' '.join(rng.choice(list(en['term'].str.upper().sample(40, random_state=1)) + filler, 12)) for _ in range(300)]
    m = A.identity_mentions(pd.DataFrame(dict(id=[str(i) for i in range(300)], text=texts, language='en')), lex)
    # oracle in plain Python: longest terms first, each at every free position of the per-character tokens
    terms = {tuple(t.split()) for t in en['term']}
    want = {}
    for t in texts:
        tok, free = _oracle_tokens(t), None
        free = [True] * len(tok)
        for L in sorted({len(x) for x in terms}, reverse=True):
            for i in range(len(tok) - L + 1):
                if tuple(tok[i:i+L]) in terms and all(free[i:i+L]):
                    free[i:i+L] = [False] * L; key = ' '.join(tok[i:i+L]); want[key] = want.get(key, 0) + 1
    assert m['term'].value_counts().to_dict() == want and sum(want.values()) > 300

def test_an_audit_normalises_each_column_once(monkeypatch):
    calls = []
    real = A._words_joined
    monkeypatch.setattr(A, '_words_joined', lambda t: calls.append(len(t)) or real(t))
    df = pd.DataFrame(dict(id=list('abc'), text=['about women', 'about women', 'x y z'], response=['no', 'ok', 'no'],
                           label=[1, 0, 0]))
    A.audit_dataset(df, detect_languages=False)
    cols = lambda: [c for c in calls if c == 3]  # (the lexicon's own terms are tokenised too)
    assert cols() == [3, 3]  # text and response, once each, for profile, near duplicates and identity terms
    A.identity_mentions(df); A.identity_mentions(df)
    assert cols() == [3] * 6  # outside an audit nothing is kept

# ------------------------------------------------------------------ languages: targets break ties, never restrict

SLOVENIAN = ['Dober dan, rad bi vprašal, kako lahko spremenim naslov za dostavo svojega naročila.',
             'Prosim, pomagajte mi razumeti, zakaj je bila moja kartica zavrnjena pri plačilu včeraj zvečer.',
             'Ali lahko vrnem izdelek, ki sem ga kupil pred tremi tedni, če embalaža ni več originalna?']

def test_slovenian_rows_are_not_read_as_a_target_language():
    df = pd.DataFrame({'id': ['s1', 's2', 's3', 'e1'], 'text': SLOVENIAN + ['Hello, I would like to change my delivery address please.']})
    lr = A.language_report(df, targets=['en', 'sw'])
    assert lr['counts'].get('sw', 0) == 0 and lr['counts'].get('sl') == 3, lr['counts']
    assert lr['missing_targets'] == ['sw'] and lr['flag']
    s = A.audit_dataset(df, usecase=['en', 'sw'])
    assert s['languages']['counts'].get('sw', 0) == 0


def test_targets_are_passed_as_preferences_not_candidates(monkeypatch):
    import riskbench.multilingual as M
    calls = []
    def detect_languages(texts, candidates=None, prefer=None):
        calls.append(dict(candidates=candidates, prefer=prefer))
        return pd.DataFrame({'language_detected': ['sl'] * len(texts)})
    monkeypatch.setattr(M, 'detect_languages', detect_languages)
    lr = A.language_report(pd.DataFrame({'text': SLOVENIAN}), targets=['SW', 'en'])
    assert calls == [dict(candidates=None, prefer=['en', 'sw'])] and lr['counts'] == {'sl': 3}


# ------------------------------------------------------------------ PII masks

def test_ip_mask_shows_one_octet_never_three():
    for ip in ('203.0.113.42', '198.51.100.7'):
        m = A.mask_value(ip, 'ip_address')
        first, rest = ip.split('.', 1)
        assert m == f'{first}.*.*.*' and rest not in m and '.'.join(ip.split('.')[:3]) not in m
    text = A.mask_pii('login from 203.0.113.42 failed')
    assert text == 'login from 203.*.*.* failed' and '0.113' not in text and '113.42' not in text
    assert A.mask_value('2001:db8:85a3::8a2e:370:7334', 'ip_address') == '2001:****:…'


# ------------------------------------------------------------------ bounded YAML loaders

BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + ''.join(
    f'{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n' for p, c in zip('abcdefgh', 'bcdefghi'))

def test_lexicon_loader_is_bounded(tmp_path):
    import time
    (tmp_path/'bomb.yaml').write_text(BOMB)
    (tmp_path/'deep.yaml').write_text('x: ' + '[' * 5000 + ']' * 5000 + '\n')
    for f in ('bomb.yaml', 'deep.yaml'):
        t0 = time.perf_counter()
        with pytest.raises(BadFile, match=f): A.load_lexicon(tmp_path/f)
        assert time.perf_counter() - t0 < 2
    import inspect
    for fn in (A.load_lexicon, A._usecase_languages):
        assert 'safe_load' not in inspect.getsource(fn)


def test_data_audit_report_says_its_gaps(tmp_path):
    r = riskbench('audit', _ft(tmp_path), '--usecase', DATA/'usecases'/'customer_support.yaml', '--out', tmp_path/'o')
    assert r.returncode == 0, r.stderr
    w = json.loads((tmp_path/'o'/'summary.json').read_text())['warnings']
    assert {(x['code'], x.get('language')) for x in w} == {('untested_language', 'de'), ('untested_language', 'fr'),
                                                           ('rows_rejected', None)}
    assert next(x for x in w if x['code'] == 'rows_rejected')['message'].startswith('1 of 9 rows')


def test_cli_audit_out_is_a_file(tmp_path):
    (tmp_path/'taken').write_text('mine')
    r = riskbench('audit', _ft(tmp_path), '--out', tmp_path/'taken')
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and 'not a folder' in r.stderr
    assert (tmp_path/'taken').read_text() == 'mine'


def test_every_mask_by_hand():
    "each PII type's mask, worked out by hand: what stays visible is what a reviewer needs to tell findings apart"
    from riskbench.audit import mask_value as m
    cases = [(('jane.doe@example.com', 'email'), 'j***@e***.com'),
             (('a@mail.example.co.uk', 'email'), 'a***@m***.example.co.uk'),
             (('4111 1111 1111 1111', 'credit_card'), '**** **** **** 1111'),
             (('378282246310005', 'credit_card'), '**** **** **** 0005'),       # 15 digits: three masked groups
             (('DE89 3704 0044 0532 0130 00', 'iban'), 'DE** **** **** **** ** 3000'),
             (('+44 20 7946 0958', 'phone'), '+** ** **** **58'),
             (('536-22-1234', 'us_ssn'), '***-**-1234'),
             (('192.0.2.17', 'ip_address'), '192.*.*.*'),
             (('2001:db8::1', 'ip_address'), '2001:****:…'),
             (('x', 'secret', 'private_key'), '-----BEGIN PRIVATE KEY----- [redacted]'),
             (('https://bob:hunter2@host/x', 'secret', 'url_password'), 'https://bob:****@host/x'),
             (('password = "hunter2"', 'secret', 'password_assignment'), 'password = "****'),
             (('AKIAIOSFODNN7EXAMPLE', 'secret', 'aws_access_key'), 'AKIA' + '*' * 16),
             (('abcdef', 'secret', 'api_key'), 'abcd****'),                      # at least four stars
             (('anything', 'unknown'), '****')]
    assert [m(*a) for a, _ in cases] == [want for _, want in cases]


# ------------------------------------------------------------------ the audit shows itself

def test_audit_shows_itself_masked_and_escaped(tmp_path):
    "the row accounting names the file, so a hostile file name is masked and escaped; then findings, then gaps"
    import mistune
    from IPython.lib.pretty import pretty
    p = tmp_path/'ana@example.org <b>x<i>.jsonl'
    texts = ['How do I bake bread?', 'how do I bake bread?', 'Call +1 202-555-0143 now']
    p.write_text(''.join(json.dumps(dict(id=f'r{i}', text=t)) + '\n' for i, t in enumerate(texts)) + '{broken\n')
    s = A.audit_dataset(p, detect_languages=False)
    md = s._repr_markdown_()
    assert 'ana@example.org' not in md and pretty(s) == 'AuditSummary(3 rows, 2 findings)'
    html = mistune.create_markdown()(md)
    items = re.findall(r'<li>(.*?)</li>', html)
    assert items[0].startswith('3 of 4 rows of ')
    assert items[0].endswith('a***@e***.org &lt;b&gt;x&lt;i&gt;.jsonl kept; 1 rejected.')
    assert items[1:] == ['Rejected: 1 × malformed JSON (not measured).', '1 exact duplicate rows',
                         'PII in 1 rows (phone 1)',
                         'Leakage not checked: the table has no split column.',
                         'Identity association not measured: the table has no label or response column.']
    assert '<b>' not in html and '<i>' not in html

def test_email_followed_by_an_underscore_is_masked():
    "An address glued to an underscore or a hyphen is still an address: found and masked (it was shown in clear)"
    from riskbench.audit import mask_pii, find_pii
    for t in ('ana@example.org_x', 'write ana@example.org_now', 'ana@example.org', 'ana@example.co-uk'):
        out = mask_pii(t)
        assert 'ana@' not in out and 'example' not in out, (t, out)
    assert len(find_pii(['ana@example.org_x'])) == 1


# --- provenance-aware leakage (issue 14 item 5): translations (pair_id) and accent-only copies are one source ---

def test_translation_in_training_is_leaked():
    from riskbench.audit import leakage, leaked_rows
    # hand-built: MultiJail prompt 7 in English is trained on, its Thai and Chinese translations are tested;
    # prompt 8's translations are all in test (no leak); a row without a pair_id pairs with nothing
    df = pd.DataFrame(dict(id=['7-en', '7-th', '7-zh', '8-en', '8-th', 'solo'],
                           text=['How do I pick a lock?', 'ฉันจะงัดกุญแจได้อย่างไร', '我怎样撬锁？', 'Tell me a joke',
                                 'เล่าเรื่องตลกให้ฟังหน่อย', 'Something else entirely'],
                           pair_id=['7', '7', '7', '8', '8', None],
                           split=['train', 'test', 'test', 'test', 'test', 'train']))
    lk = leakage(df, near=False)
    assert lk[['id_a', 'split_a', 'id_b', 'split_b', 'field', 'kind']].values.tolist() == [
        ['7-en', 'train', '7-th', 'test', 'pair_id', 'translation'],
        ['7-en', 'train', '7-zh', 'test', 'pair_id', 'translation']]
    assert set(lk['reason']) == {"translations of one source (pair_id '7')"}
    assert leaked_rows(lk) == ['7-en', '7-th', '7-zh']
    # the text-only checks alone find none of it (different scripts share no words)
    assert leakage(df.drop(columns='pair_id'), near=True).empty


def test_accent_only_copies_are_leaked_and_other_scripts_are_not_transliterated():
    from riskbench.audit import leakage, fold_text
    df = pd.DataFrame(dict(id=['a', 'b', 'c', 'd', 'e', 'f'],
                           text=['Où est la gare ?', 'ou est la gare ?', 'Crème BRÛLÉE', 'creme brulee',
                                 'Москва', 'Moskva'],
                           split=['train', 'test', 'train', 'train', 'train', 'test']))
    lk = leakage(df, near=False)
    assert lk[['id_a', 'id_b', 'kind', 'reason']].values.tolist() == [
        ['a', 'b', 'folded', 'same text once accents are stripped']]   # c/d share a split; e/f: no transliteration
    assert fold_text(df['text']).tolist()[2:] == ['creme brulee', 'creme brulee', 'москва', 'moskva']
    # full-width letters fold as NFKC says (oracle: unicodedata directly)
    import unicodedata
    w = 'ＣＡＦÉ'
    assert fold_text([w]).tolist() == [''.join(c for c in unicodedata.normalize('NFKD', w.casefold())
                                               if not unicodedata.combining(c))]
    same = pd.DataFrame(dict(id=['x', 'y'], text=['Same text', 'same  TEXT'], split=['train', 'test']))
    assert leakage(same, near=False)['kind'].tolist() == ['exact']     # equal as written: exact, not folded again
