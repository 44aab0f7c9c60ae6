"Taxonomies, crosswalks and the alignment of an eval set's categories (riskbench.taxonomy)"
import json, time
from pathlib import Path

import pandas as pd
import pytest

from riskbench.core import BadColumn, BadFile, BadParameter, datasets_dir
from riskbench import taxonomy as T

# the published label table of github.com/openai/moderation-api-release, written out independently
OPENAI_README = {'S': 'sexual', 'H': 'hate', 'V': 'violence', 'HR': 'harassment', 'SH': 'self-harm',
                 'S3': 'sexual/minors', 'H2': 'hate/threatening', 'V2': 'violence/graphic'}


def oa_set():
    "A small set in OpenAI moderation codes, as its published dataset writes them"
    return pd.DataFrame(dict(id=[f'r{i}' for i in range(6)], text=list('abcdef'), label=[1, 1, 1, 1, 1, 0],
                             categories=[['S3'], ['S3', 'H'], ['HR'], ['SH'], ['V2'], []]))


def per_hazard(df):
    "Unsafe rows per hazard code, counted by hand from the categories column"
    out = {}
    for lab, cs in zip(df.label, df.categories):
        for c in cs:
            if lab == 1: out[c] = out.get(c, 0) + 1
    return out


def test_openai_s3_is_not_llama_guard_s3():
    "The defect: OpenAI's S3 (sexual/minors) was taken as evidence for Llama Guard S3 (sex-related crimes)"
    before = per_hazard(oa_set())
    assert before['S3'] == 2                          # matched by name, S3 looked measured
    al, ws = T.align_categories(oa_set())
    after = per_hazard(al)
    assert 'S3' not in after and after['S4'] == 2     # child sexual exploitation, where it belongs
    assert after == {'S4': 2, 'S10': 1, 'S11': 1}
    assert al.foreign_categories.tolist() == [[], [], ['HR'], [], ['V2'], []]
    assert set(al.source_taxonomy) == {'openai-moderation'} and set(al.taxonomy) == {'llama-guard-3'}
    codes = {w['code']: w for w in ws}
    assert codes['mapped_categories']['mapping'] == {'H': 'S10', 'S3': 'S4', 'SH': 'S11'}
    assert codes['mapped_categories']['taxonomy'] == 'openai-moderation' and codes['mapped_categories']['rows'] == 3
    assert codes['foreign_categories']['codes'] == ['HR', 'V2'] and codes['foreign_categories']['rows'] == 2
    assert 'HR: no llama-guard-3 counterpart: harassment of any target' in codes['foreign_categories']['message']
    assert len(al) == len(oa_set()) and al.label.tolist() == oa_set().label.tolist()   # no row dropped
    assert oa_set().categories.tolist() == [['S3'], ['S3', 'H'], ['HR'], ['SH'], ['V2'], []]  # the input is not changed


def test_openai_taxonomy_matches_published_definitions():
    tx = T._taxonomies()['openai-moderation']
    assert {k: v['name'] for k, v in tx['codes'].items()} == OPENAI_README
    assert 'under 18' in tx['codes']['S3']['description'] and tx['source'] == 'https://github.com/openai/moderation-api-release'
    assert T.LLAMA_GUARD_CATEGORIES['S3']['name'] == 'Sex-Related Crimes' and T.LLAMA_GUARD_CATEGORIES['S4']['name'] == 'Child Sexual Exploitation'


def test_declared_taxonomy_wins_over_inference():
    df = pd.DataFrame(dict(text=['a', 'b'], label=[1, 1], categories=[['S3'], ['S3']]))
    al, ws = T.align_categories(df)                              # S3 alone fits two taxonomies: not guessed
    assert al.categories.tolist() == [[], []] and al.foreign_categories.tolist() == [['S3'], ['S3']]
    assert [w['code'] for w in ws] == ['foreign_categories'] and ws[0]['taxonomy'] == 'undetermined'
    assert 'fit several taxonomies' in ws[0]['message'] and '--taxonomy' in ws[0]['message']
    assert T.align_categories(df, taxonomy='openai')[0].categories.tolist() == [['S4'], ['S4']]
    al, ws = T.align_categories(df, taxonomy='llama-guard-3')
    assert al.categories.tolist() == [['S3'], ['S3']] and ws == []
    mixed = df.assign(taxonomy=['openai-moderation', None])      # per-row column, the argument fills the gaps
    assert T.align_categories(mixed, taxonomy='lg3')[0].categories.tolist() == [['S4'], ['S3']]
    with pytest.raises(BadColumn, match="column taxonomy, row 1: unknown taxonomy 'lg-5'"):
        T.align_categories(df.assign(taxonomy='lg-5'))
    with pytest.raises(BadParameter, match="taxonomy: unknown taxonomy 'nope'"): T.align_categories(df, taxonomy='nope')
    with pytest.raises(BadColumn, match="row 1: unknown taxonomy 1.5"): T.align_categories(df.assign(taxonomy=[1.5, None]))


def test_mlcommons_codes_map_one_to_one_only():
    df = pd.DataFrame(dict(text=list('abc'), label=[1, 1, 1], categories=[['VCR'], ['cse', 'hte'], ['spc']]))
    al, ws = T.align_categories(df)
    assert al.categories.tolist() == [['S1'], ['S4', 'S10'], []]
    assert al.foreign_categories.tolist() == [[], [], ['spc']]     # spc -> S6 or S13: cannot say which
    f = next(w for w in ws if w['code'] == 'foreign_categories')
    assert 'several' in f['message'] and f['codes'] == ['spc']


def test_target_codes_and_custom_codes_pass_untouched():
    df = pd.DataFrame(dict(text=list('abc'), label=[1, 1, 0], categories=[['S1', 'X1'], ['s14'], []]))
    al, ws = T.align_categories(df, custom=('X1',))
    assert al.categories.tolist() == [['S1', 'X1'], ['S14'], []] and ws == []
    al, ws = T.align_categories(df)                               # X1 unknown without the card: not guessed
    assert al.categories.tolist() == [[], [], []] and 'no known taxonomy' in ws[0]['message']
    assert T.align_categories(pd.DataFrame(dict(text=['a'])))[1] == []   # no categories column: nothing to align
    only = T.align_categories(pd.DataFrame(dict(text=['a'], categories=[['X1']])), custom=('X1',))[0]
    assert only.source_taxonomy.tolist() == ['llama-guard-3'] and only.categories.tolist() == [['X1']]


def test_infer_taxonomy_rules():
    assert T.infer_taxonomy(['S1', 'S3']) == ('llama-guard-3', 'every code is a llama-guard-3 code')
    assert T.infer_taxonomy(['S3', 'H'])[0] == 'openai-moderation'
    assert T.infer_taxonomy(list(OPENAI_README))[0] == 'openai-moderation'          # every code of a taxonomy still fits it
    assert T.infer_taxonomy([f'S{i}' for i in range(1, 15)])[0] == 'llama-guard-3'
    assert T.infer_taxonomy(['S3'])[0] is None and T.infer_taxonomy(['S1', 'HR']) == (None, 'codes HR, S1 mix taxonomies')
    assert T.infer_taxonomy(['S1', 'X1']) == (None, 'codes X1 belong to no known taxonomy')
    assert T.infer_taxonomy([]) == (None, 'no hazard codes')


def test_crosswalk_files_are_consistent():
    for p in sorted((datasets_dir() / 'crosswalks').glob('*.yaml')):
        s, t = p.stem.split('_to_')
        cw = T.crosswalk(s, t)
        assert set(cw['map']) == set(T._taxonomies()[s]['codes']), p     # every source code is decided
        assert cw['source'] and all(cw['why'].values()), p
    inv = T.crosswalk('llama-guard-3', 'mlcommons-ailuminate')['map']
    for ml, lgs in T.mlcommons_to_lg().items():
        for lg in lgs: assert inv[lg] == [ml]                    # the two directions agree


def test_bad_crosswalk_file_is_a_bad_file(tmp_path, monkeypatch):
    import shutil
    d = tmp_path / 'data'; shutil.copytree(datasets_dir() / 'taxonomies', d / 'taxonomies'); (d / 'crosswalks').mkdir()
    (d / 'crosswalks' / 'openai-moderation_to_llama-guard-3.yaml').write_text(
        'from: openai-moderation\nto: llama-guard-3\nmap:\n  S3: {to: [S99]}\n')
    monkeypatch.setattr(T, 'datasets_dir', lambda: d)
    monkeypatch.setattr(T, '_CROSSWALKS', {})
    with pytest.raises(BadFile, match='map.S3: expected a openai-moderation code mapped onto a list of llama-guard-3 codes'):
        T.crosswalk('openai-moderation', 'llama-guard-3')


ALIAS_BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
              + ''.join(f'{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n' for p, c in zip('abcdefgh', 'bcdefghi')))


@pytest.mark.parametrize('text,match', [(ALIAS_BOMB, 'alias'), ('a: ' + '[' * 20_000 + ']' * 20_000, 'nest'),
                                        ('a:\n' + ''.join('  ' * i + f'k{i}:\n' for i in range(1, 200)), 'nest')])
def test_load_yaml_is_bounded(tmp_path, text, match):
    p = tmp_path / 'c.yaml'; p.write_text(text)
    for src, kw in ((p, {}), (text, dict(text=True))):
        t0 = time.perf_counter()
        with pytest.raises(BadFile, match=match) as e: T.load_yaml(src, 'use-case card', **kw)
        assert time.perf_counter() - t0 < 1.0 and '\n' not in str(e.value)


# --- crosswalks between the guard and benchmark taxonomies (issue 14, item 3) ---------------------------------
HUB = ['aegis-2', 'beavertails', 'wildguard', 'qwen3guard', 'shieldgemma', 'openai-moderation', 'mlcommons-ailuminate']


def test_every_taxonomy_has_a_crosswalk_with_llama_guard_both_ways():
    for t in HUB:
        there, back = T.crosswalk(t, 'llama-guard-3'), T.crosswalk('llama-guard-3', t)
        assert there is not None and back is not None, t
        assert set(back.map) == set(T.LLAMA_GUARD_CATEGORIES), t
        for a, tos in there.map.items():                         # the two directions agree, relations turned round
            for b in tos:
                assert a in back.map[b], (t, a, b)
                inv = dict(exact='exact', narrower='broader', broader='narrower', partial='partial')
                assert back.relation[b][a] == inv[there.relation[a][b]], (t, a, b)


def test_crosswalk_files_give_a_relation_for_every_mapped_code():
    for p in sorted((datasets_dir() / 'crosswalks').glob('*.yaml')):
        s, t = p.stem.split('_to_')
        cw = T.crosswalk(s, t)
        assert not cw.derived
        for c, tos in cw.map.items():
            assert set(cw.relation[c]) == set(tos) and set(cw.relation[c].values()) <= set(T.RELATIONS), (p, c)
        tab = cw.table
        assert set(tab.code) == set(cw.map)
        assert set(tab.evidence) <= {'mapped', 'approximate', 'kept out: several targets', 'kept out: no counterpart'}
    cws = T.crosswalks()
    assert len(cws) == len(list((datasets_dir() / 'crosswalks').glob('*.yaml')))
    assert (cws['mapped'] + cws['approximate'] + cws['kept out'] == cws['codes']).all()


def test_crosswalk_table_says_what_alignment_does_with_each_code():
    tab = T.crosswalk('shieldgemma', 'llama-guard-3').table
    ev = tab.drop_duplicates('code').set_index('code').evidence.to_dict()
    assert ev == {'Dangerous Content': 'kept out: several targets', 'Harassment': 'kept out: no counterpart',
                  'Hate Speech': 'mapped', 'Sexually Explicit Information': 'mapped'}
    assert tab[tab.code == 'Dangerous Content'].to.tolist() == ['S1', 'S9', 'S11']
    md = T.crosswalk('llama-guard-3', 'shieldgemma')._repr_markdown_()
    assert md.startswith('**llama-guard-3 → shieldgemma** (derived') and '| S10 | Hate | Hate Speech |' in md


def test_a_crosswalk_without_a_relation_is_a_bad_file(tmp_path, monkeypatch):
    import shutil
    d = tmp_path / 'data'; shutil.copytree(datasets_dir() / 'taxonomies', d / 'taxonomies'); (d / 'crosswalks').mkdir()
    (d / 'crosswalks' / 'openai-moderation_to_llama-guard-3.yaml').write_text(
        'from: openai-moderation\nto: llama-guard-3\nmap:\n  S3: {to: [S4], why: minors}\n')
    monkeypatch.setattr(T, 'datasets_dir', lambda: d)
    monkeypatch.setattr(T, '_CROSSWALKS', {})
    with pytest.raises(BadFile, match=r"map.S3: expected a relation \(exact, narrower, broader, partial\) for its"):
        T.crosswalk('openai-moderation', 'llama-guard-3')


def test_evidence_through_a_partial_relation_is_labelled():
    df = pd.DataFrame(dict(text=list('abc'), label=[1, 1, 1], taxonomy='wildguard',
                           categories=[['violence_and_physical_harm'], ['private_information_individual'],
                                       ['cyberattack', 'others']]))
    al, ws = T.align_categories(df)
    assert al.categories.tolist() == [['S1'], ['S7'], ['S2']]
    assert al.approximate_categories.tolist() == [['S1'], [], []]        # partial: labelled; exact, narrower: not
    m = next(w for w in ws if w['code'] == 'mapped_categories')
    assert m['approximate'] == ['violence_and_physical_harm'] and m['relations']['cyberattack'] == 'narrower'
    assert 'violence_and_physical_harm→S1 (partial)' in m['message'] and 'is approximate' in m['message']
    f = next(w for w in ws if w['code'] == 'foreign_categories')
    assert f['codes'] == ['others']


def test_same_name_in_several_taxonomies_is_never_matched_by_name():
    df = pd.DataFrame(dict(text=['a'], label=[1], categories=[['Harassment']]))    # Aegis, OR-Bench and ShieldGemma
    al, ws = T.align_categories(df)
    assert al.categories.tolist() == [[]] and 'fit several taxonomies' in ws[0]['message']
    for tx in ('aegis-2', 'or-bench', 'shieldgemma'):
        assert T.align_categories(df, taxonomy=tx)[0].foreign_categories.tolist() == [['harassment' if tx == 'or-bench'
                                                                                         else 'Harassment']]
    q = pd.DataFrame(dict(text=['a'], label=[1], categories=[['PII']], taxonomy='qwen3guard'))
    assert T.align_categories(q)[0].categories.tolist() == [['S7']]
