"Governance: framework lists and mappings, compliance, decisions, sign-off and verify, gates, paired diffs, CI example"
import json, shutil, datetime, shlex, hashlib
from pathlib import Path
import numpy as np, pandas as pd, pytest, yaml
from scipy import stats
from sklearn.metrics import roc_auc_score
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from riskbench import governance as gv
from riskbench.core import BadFile, BadParameter, RiskbenchError, datasets_dir
from riskbench.cli import main
from riskbench.usecase import card_assessment

ROOT = Path(__file__).resolve().parents[1]
DAY = datetime.date(2026, 3, 1)

# ---------------------------------------------------------------------------------------------- control lists
def _expand(prefix, spec):
    "['GOVERN 1.1', ...] from {category: last subcategory}: the brief's ranges, written independently of the data"
    return [f'{prefix} {c}.{i}' for c, last in spec.items() for i in range(1, last + 1)]

RMF = (_expand('GOVERN', {1: 7, 2: 3, 3: 2, 4: 3, 5: 2, 6: 2}) + _expand('MAP', {1: 6, 2: 3, 3: 5, 4: 2, 5: 2})
       + _expand('MEASURE', {1: 3, 2: 13, 3: 3, 4: 3}) + _expand('MANAGE', {1: 4, 2: 4, 3: 2, 4: 3}))
# ISO/IEC 42001:2023 Annex A, Table A.1: controls A.x.2 ... (A.x.1 is each group's objective); A.6 has two subgroups
ISO_A = ([f'A.{g}.{i}' for g, last in {2: 4, 3: 3, 4: 6, 5: 5, 7: 6, 8: 5, 9: 4, 10: 4}.items() for i in range(2, last + 1)]
         + ['A.6.1.2', 'A.6.1.3'] + [f'A.6.2.{i}' for i in range(2, 9)])
OWASP_2025 = ['Prompt Injection', 'Sensitive Information Disclosure', 'Supply Chain', 'Data and Model Poisoning',
              'Improper Output Handling', 'Excessive Agency', 'System Prompt Leakage', 'Vector and Embedding Weaknesses',
              'Misinformation', 'Unbounded Consumption']

def test_nist_ai_rmf_has_exactly_the_72_subcategories():
    assert len(RMF) == 72
    assert list(gv.framework('nist-ai-rmf')['controls']) == RMF

def test_iso_42001_has_the_38_annex_a_controls_and_the_clauses():
    ctl = gv.framework('iso-42001')['controls']
    assert len(ISO_A) == 38
    assert sorted(k for k in ctl if k.startswith('A.')) == sorted(ISO_A)
    assert {'6.1.2', '6.1.3', '6.1.4', '8.1', '8.2', '8.3', '8.4', '9.1'} == {k for k in ctl if not k.startswith('A.')}

def test_owasp_llm_2025_ids_and_names():
    ctl = gv.framework('owasp-llm')['controls']
    assert list(ctl) == [f'LLM{i:02d}' for i in range(1, 11)]
    for (k, v), name in zip(ctl.items(), OWASP_2025): assert v['title'].startswith(name + ':'), (k, v)

def test_ai_600_1_risks_and_eu_ai_act_provisions():
    gai = gv.framework('nist-ai-600-1')['controls']
    assert len(gai) == 12 and [v['section'] for v in gai.values()] == [f'2.{i}' for i in range(1, 13)]
    eu = gv.framework('eu-ai-act')
    want = {'Art. 5', 'Art. 6', 'Annex III', 'Art. 9', 'Art. 10', 'Art. 10(2)(f)', 'Art. 10(5)', 'Art. 11', 'Annex IV',
            'Art. 12', 'Art. 13', 'Art. 14', 'Art. 15', 'Art. 27', 'Art. 50', 'Art. 53', 'Art. 55', 'Art. 72'}
    assert set(eu['controls']) == want
    assert {a for t in eu['tiers'].values() for a in t['articles']} <= want

def test_every_list_names_its_source():
    for f in gv.FRAMEWORKS:
        fw = gv.framework(f)
        assert fw['source']['document'] and fw['source']['section'] and fw['cite'], f
        for c in fw['controls']: assert gv.control_source(f, c).startswith(fw['cite'])

def test_a_list_that_lost_a_line_fails(tmp_path, monkeypatch):
    shutil.copytree(gv.governance_dir(), tmp_path/'governance')
    p = tmp_path/'governance'/'nist-ai-rmf.yaml'
    p.write_text(''.join(l for l in p.read_text().splitlines(True) if not l.startswith('  MEASURE 2.13:')))
    monkeypatch.setattr(gv, 'governance_dir', lambda: tmp_path/'governance')
    monkeypatch.setattr(gv, '_FRAMEWORK_CACHE', {})
    with pytest.raises(BadFile, match='71 controls listed'): gv.framework('nist-ai-rmf')

# ---------------------------------------------------------------------------------------------- mappings
@pytest.mark.parametrize('fid', gv.FRAMEWORKS)
def test_every_mapping_id_exists_in_its_list(fid):
    m = gv.load_mapping(fid)   # validates every row
    assert len(m) and set(m.control) <= set(gv.framework(fid)['controls'])
    assert not m.control.duplicated().any()
    assert set(m.relation) <= set(gv.RELATIONS)

def test_a_mistyped_id_fails(tmp_path):
    good = (gv.governance_dir()/'iso-42001.mapping.yaml').read_text()
    p = tmp_path/'m.yaml'
    p.write_text(good.replace('control: A.7.4,', 'control: A.7.14,'))
    with pytest.raises(BadFile, match=r"row \d+: control 'A.7.14' is not a ISO/IEC 42001:2023 id"): gv.load_mapping('iso-42001', p)
    p.write_text(good.replace("'checklist:Feedback and reporting'", "'checklist:Feedback'"))
    with pytest.raises(BadFile, match='names nothing riskbench makes'): gv.load_mapping('iso-42001', p)
    p.write_text(good.replace('relation: evidences', 'relation: proves', 1))
    with pytest.raises(BadFile, match="relation 'proves'"): gv.load_mapping('iso-42001', p)

def test_ai_600_1_crosswalk_codes_exist_and_agree_with_its_mapping():
    from riskbench.taxonomy import LLAMA_GUARD_CATEGORIES, MLCOMMONS_HAZARDS, RELATIONS
    cw = gv.gai_hazards('llama-guard-3')
    assert set(cw.hazard) <= set(LLAMA_GUARD_CATEGORIES) and set(cw.relation) <= set(RELATIONS)
    assert set(gv.gai_hazards('mlcommons-ailuminate').hazard) <= set(MLCOMMONS_HAZARDS)
    for r in gv.load_mapping('nist-ai-600-1').to_dict('records'):   # register:H evidence = the crosswalked hazards
        hz = {e.split(':')[1] for e in r['evidence'] if e.startswith('register:')}
        assert hz == set(cw[cw.risk == r['control']].hazard), r['control']

# ---------------------------------------------------------------------------------------------- a hand-built bundle
def tiny_bundle(folder, shift=0.0, seed=0, n=400, frameworks=None, ids_from=0):
    "A small bundle: the demo card, its register and checklist, one thresholds part, a score table and its policy"
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    card = yaml.safe_load((datasets_dir()/'usecases'/'customer_support.yaml').read_text())
    if frameworks: card['frameworks'] = frameworks
    (folder/'usecase.yaml').write_text(yaml.safe_dump(card))
    parts = {}
    def part(name, template, summary):
        (folder/name).mkdir(exist_ok=True)
        (folder/name/'manifest.json').write_text(json.dumps(dict(template=template, status='ok')))
        (folder/name/'summary.json').write_text(json.dumps(summary))
        (folder/name/'report.html').write_text(f'<html>{name}</html>')
        parts[name] = dict(template=template, status='ok', summary=summary)
    part('usecase', 'usecase_assessment', card_assessment(datasets_dir()/'usecases'/'customer_support.yaml').summary())
    iv = lambda v, lo, hi: dict(value=v, low=lo, high=hi)
    pol = dict(threshold=0.5, metrics=dict(recall=iv(0.92, 0.9, 0.94), false_refusal_rate=iv(0.04, 0.03, 0.06)),
               auc_roc=0.95, auc_interval=dict(low=0.93, high=0.97),
               per_category=dict(S1=dict(n_unsafe=60, recall=iv(0.95, 0.91, 0.98))),
               per_language={l: dict(n=100, false_refusal_rate=iv(f, 0.01, f + 0.03))
                             for l, f in dict(en=0.03, de=0.04, fr=0.07).items()})
    part('thresholds-g', 'guard_thresholds', dict(policy=pol, warnings=[]))
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n // 2, int), np.zeros(n - n // 2, int)]
    s = np.clip(0.5 + (y - 0.5) * 0.5 + rng.normal(0, 0.25, n) + shift * y, 0, 1)
    (folder/'scores').mkdir(exist_ok=True); (folder/'policies').mkdir(exist_ok=True)
    pd.DataFrame(dict(id=[f'r{i + ids_from}' for i in range(n)], label=y, score=s, language=rng.choice(['en', 'de'], n),
                      categories=[['S1'] if v else [] for v in y])).to_parquet(folder/'scores'/'g.parquet')
    (folder/'policies'/'g.json').write_text(json.dumps(dict(schema='riskbench.guard_policy/1', threshold=0.5)))
    (folder/'bundle.json').write_text(json.dumps(dict(status='ok', parts=parts, warnings=[], guards=['g'],
                                                      input_sha256=dict(data='d0'))))
    return folder

@pytest.fixture
def bundle(tmp_path): return tiny_bundle(tmp_path/'b')

# ---------------------------------------------------------------------------------------------- compliance
def test_compliance_lists_every_control_with_its_evidence(bundle):
    df = gv.compliance(bundle, today=DAY)
    assert df.groupby('framework').size().to_dict() == {f: len(gv.framework(f)['controls']) for f in gv.FRAMEWORKS}
    r = df.set_index(['framework', 'control'])
    assert r.loc[('nist-ai-rmf', 'MAP 1.5'), 'status'] == 'evidenced'                   # card:risk_appetite
    assert r.loc[('nist-ai-rmf', 'MAP 5.1'), 'status'] == 'partial'     # register rows whose evidence is missing
    assert 'evidence missing' in r.loc[('nist-ai-rmf', 'MAP 5.1'), 'missing']
    assert r.loc[('nist-ai-rmf', 'MEASURE 2.11'), 'status'] == 'missing'                # no bias, no languages part
    assert 'no guard_bias part' in r.loc[('nist-ai-rmf', 'MEASURE 2.11'), 'missing']
    assert r.loc[('nist-ai-rmf', 'MANAGE 1.1'), 'status'] == 'missing'                  # not signed
    assert r.loc[('nist-ai-rmf', 'MANAGE 1.1'), 'who'] == 'risk owner'
    assert r.loc[('eu-ai-act', 'Art. 5'), 'status'] == 'needs a human'
    assert r.loc[('nist-ai-rmf', 'GOVERN 1.7'), 'status'] == 'not mapped'
    gv.sign(bundle, 'Ana', 'risk owner', 'launch')
    assert gv.compliance(bundle, today=DAY).set_index(['framework', 'control']).loc[('nist-ai-rmf', 'MANAGE 1.1'), 'status'] == 'evidenced'

def test_compliance_uses_the_cards_frameworks(tmp_path):
    b = tiny_bundle(tmp_path/'b', frameworks=['iso-42001', 'owasp-llm'])
    assert list(gv.compliance(b).framework.unique()) == ['iso-42001', 'owasp-llm']
    assert list(gv.compliance(b, frameworks=['eu-ai-act']).framework.unique()) == ['eu-ai-act']
    with pytest.raises(BadParameter, match='unknown framework'): gv.compliance(b, frameworks=['nist'])

def test_compliance_template_runs_as_a_part(bundle, tmp_path):
    out = tmp_path/'out'
    rc = main(['run', 'compliance', '-p', 'bundle', str(bundle), '-p', 'frameworks', '[owasp-llm]', '--out', str(out)])
    assert rc == 0
    s = json.loads((out/'summary.json').read_text())
    assert s['frameworks'] == ['owasp-llm'] and sum(s['compliance']['owasp-llm']['counts'].values()) == 10
    assert {w['code'] for w in s['warnings']} <= {'evidence_missing'}
    assert '## Safeguards and their measured operating points' in (out/'system_card.md').read_text()
    assert (out/'system_card.html').read_text().startswith('<!DOCTYPE html>')

def test_system_card_escapes_the_card_text(tmp_path):
    b = tiny_bundle(tmp_path/'b')
    card = yaml.safe_load((b/'usecase.yaml').read_text()); card['name'] = '<img src=x onerror=alert(1)>'
    (b/'usecase.yaml').write_text(yaml.safe_dump(card))
    page = gv.system_card_html(gv.system_card(b))
    assert '<img src=x' not in page and '&lt;img src=x' in page

# ---------------------------------------------------------------------------------------------- decisions
DECISIONS = """decisions:
- {kind: accept, hazard: S1, surface: user_input, reason: caught by the output guard, condition: weekly review,
   expires: 2026-06-30, reviewer: Ana Diaz, role: risk owner, date: 2026-01-05}
- {kind: override, hazard: S2, surface: user_input, verdict: accepted, reason: fraud team reviews, reviewer: Bo,
   role: trust and safety, date: 2026-01-05}
- {kind: waive, item: User controls, reason: no account settings, reviewer: Ana Diaz, role: risk owner, date: 2026-01-05}
"""

def test_decisions_load_and_close_register_rows(bundle):
    (bundle/'decisions.yaml').write_text(DECISIONS)
    d = gv.load_decisions(bundle/'decisions.yaml', today=DAY)
    assert [e['kind'] for e in d.entries] == ['accept', 'override', 'waive'] and all(e['signed'] for e in d.entries)
    assert d.warnings == []
    reg = gv.bundle_parts(bundle)['usecase']['summary']['register']
    before = set(gv.open_rows(reg, None, DAY).hazard)
    after = set(gv.open_rows(reg, d, DAY).hazard)
    assert {'S1', 'S2'} <= before and not {'S1', 'S2'} & after and after == before - {'S1', 'S2'}

def test_an_expired_acceptance_is_a_warning_and_reopens_the_row(bundle):
    (bundle/'decisions.yaml').write_text(DECISIONS)
    late = datetime.date(2026, 7, 1)
    d = gv.load_decisions(bundle/'decisions.yaml', today=late)
    assert [w['code'] for w in d.warnings] == ['expired_decision'] and 'expired on 2026-06-30' in d.warnings[0]['message']
    reg = gv.bundle_parts(bundle)['usecase']['summary']['register']
    assert 'S1' in set(gv.open_rows(reg, d, late).hazard)

@pytest.mark.parametrize('entry, message', [
    ("{kind: accept, hazard: S1, reason: r}", "decision 1 (accept): `expires` is required"),
    ("{kind: accept, hazard: S99, reason: r, expires: 2027-01-01}", "unknown hazard code 'S99'"),
    ("{kind: accept, hazard: S1, reason: r, expires: next year}", "decision 1, `expires`: 'next year' is not a date"),
    ("{kind: override, hazard: S1, reason: r, verdict: fine}", "verdict 'fine' is not one of"),
    ("{kind: waive, item: Red teams, reason: r}", "'Red teams' is not a readiness checklist item"),
    ("{kind: accept, hazard: S1, reason: r, expires: 2027-01-01, signer: x}", "unknown field(s) signer"),
    ("{kind: ignore}", "kind 'ignore' is not one of"),
])
def test_bad_decisions_fail_in_one_line(tmp_path, entry, message):
    p = tmp_path/'decisions.yaml'; p.write_text(f"- {entry}\n")
    with pytest.raises(RiskbenchError) as e: gv.load_decisions(p)
    assert message in str(e.value) and str(p) in str(e.value) and '\n' not in str(e.value)

def test_hostile_decisions_yaml_is_refused(tmp_path):
    p = tmp_path/'decisions.yaml'
    p.write_text('a: &a ["x","x","x","x","x","x","x","x","x"]\n' + ''.join(
        f'{c}: &{c} [*{p_}, *{p_}, *{p_}, *{p_}, *{p_}, *{p_}, *{p_}, *{p_}, *{p_}]\n' for p_, c in zip('abcdefgh', 'bcdefghi')))
    with pytest.raises(BadFile, match='alias'): gv.load_decisions(p)
    p.write_text('!!python/object/apply:os.system ["echo hacked"]\n')
    with pytest.raises(BadFile): gv.load_decisions(p)

def test_an_unsigned_decision_fails_the_gate(bundle):
    (bundle/'decisions.yaml').write_text("- {kind: waive, item: User controls, reason: none}\n")
    gv.sign(bundle, 'Ana', 'risk owner', 'launch')
    g = gv.check_gates(bundle, ['all decisions signed'], today=DAY)
    assert list(g.verdict) == ['fail'] and '1 unsigned' in g.value[0]

def test_decisions_editor_adds_validates_and_saves(bundle):
    ed = gv.DecisionsEditor(bundle, today=DAY)
    assert [o[1]['hazard'] for o in ed.target.options] == list(ed.open.hazard)
    ed.kind.value = 'override'; ed.target.value = ed.target.options[0][1]; ed.verdict.value = 'blocker'
    for k, v in dict(reason='seen in red teaming', reviewer='Bo', role='trust and safety', date='2026-02-01',
                     expires='2026-12-31').items(): ed.fields[k].value = v
    d = ed.add()
    assert d['kind'] == 'override' and 'expires' not in d          # an override has no expiry: the field is left out
    ed.kind.value = 'waive'
    assert 'User controls' in [o[0] for o in ed.target.options]
    ed.target.value = dict(item='User controls'); ed.fields['date'].value = 'yesterday'
    assert ed.add() is None and 'is not a date' in ed.message.value
    ed.save()
    back = gv.load_decisions(bundle/'decisions.yaml', today=DAY).entries
    assert [(e['kind'], e['verdict'], e['signed']) for e in back] == [('override', 'blocker', True)]
    assert gv.check_gates(bundle, ['no blocker'], today=DAY).verdict.tolist() == ['fail']   # the override made a blocker

def test_decisions_block_for_the_index(bundle):
    reg = gv.bundle_parts(bundle)['usecase']['summary']['register']
    n = len(gv.open_rows(reg, None, DAY))
    h = gv.decisions_html(bundle, today=DAY)
    assert h.startswith(f'<h2>Open decisions ({n})</h2>') and 'Sign-off: not signed off' in h
    gv.sign(bundle, 'Ana', 'risk owner', 'no')
    assert 'Sign-off: signed and intact' in gv.decisions_html(bundle, today=DAY)

# ---------------------------------------------------------------------------------------------- sign-off and verify
def test_signoff_cli_and_verify_detect_a_one_byte_change(bundle, capsys):
    assert main(['signoff', str(bundle), '--as', 'Ana Diaz', '--role', 'risk owner', '--decision', 'launch']) == 0
    assert main(['verify', str(bundle)]) == 0
    e = json.loads((bundle/'signoff.json').read_text())['entries'][0]
    assert e['bundle_status'] == 'ok' and {r['hazard'] for r in e['open_rows']} >= {'S1', 'S2'}
    assert e['signer'] == 'Ana Diaz' and e['files']['bundle.json'] == hashlib.sha256((bundle/'bundle.json').read_bytes()).hexdigest()
    p = bundle/'usecase'/'summary.json'
    b = bytearray(p.read_bytes()); b[10] ^= 1; p.write_bytes(bytes(b))
    capsys.readouterr()
    assert main(['verify', str(bundle)]) == 1
    assert 'usecase/summary.json: changed since the sign-off' in capsys.readouterr().err

def test_the_chain_detects_an_edited_entry_added_and_removed_files(bundle):
    gv.sign(bundle, 'Ana', 'risk owner', 'conditional', note='weekly review')
    gv.sign(bundle, 'Bo', 'product lead', 'launch')
    assert gv.verify(bundle) == []
    d = json.loads((bundle/'signoff.json').read_text())
    assert d['entries'][1]['prev'] == d['entries'][0]['hash'] == gv.entry_hash(d['entries'][0])
    d['entries'][0]['decision'] = 'launch'
    (bundle/'signoff.json').write_text(json.dumps(d))
    assert gv.verify(bundle) == ['signoff.json: entry 1 was edited after signing']
    d['entries'][0]['decision'] = 'conditional'; (bundle/'signoff.json').write_text(json.dumps(d))
    (bundle/'thresholds-g'/'report.html').unlink(); (bundle/'extra.html').write_text('x')
    assert gv.verify(bundle) == ['thresholds-g/report.html: missing since the sign-off',
                                 'extra.html: added since the sign-off (not signed)']

def test_signoff_refuses_bad_input(bundle, tmp_path):
    assert main(['signoff', str(bundle), '--as', 'A', '--role', 'r', '--decision', 'maybe']) == 2
    with pytest.raises(BadParameter, match='conditions'): gv.sign(bundle, 'A', 'r', 'conditional')
    with pytest.raises(BadFile, match='no bundle.json'): gv.sign(tmp_path, 'A', 'r', 'launch')
    assert main(['verify', str(bundle)]) == 1   # never signed

def test_signoff_never_writes_through_a_link(bundle, tmp_path):
    outside = tmp_path/'outside.json'; outside.write_text('{"entries": []}')
    (bundle/'signoff.json').symlink_to(outside)
    with pytest.raises(BadFile, match='symbolic link'): gv.sign(bundle, 'A', 'r', 'launch')
    assert outside.read_text() == '{"entries": []}'
    (bundle/'signoff.json').unlink()
    secret = tmp_path/'secret.txt'; secret.write_text('a')
    (bundle/'link.txt').symlink_to(secret)
    gv.sign(bundle, 'A', 'r', 'launch')
    secret.write_text('b')                       # a link is recorded by its target's name, not followed
    assert gv.verify(bundle) == []

# ---------------------------------------------------------------------------------------------- gates
GATES = ['S1 recall lower bound >= 0.9', 'false refusal rate <= 0.05 per target language', 'no blocker',
         'all decisions signed']

def test_gate_values_and_verdicts(bundle):
    g = gv.check_gates(bundle, GATES, today=DAY)
    assert g[['subject', 'value', 'verdict']].values.tolist() == [
        ['thresholds-g', '0.91', 'pass'], ['thresholds-g / en', '0.03', 'pass'], ['thresholds-g / de', '0.04', 'pass'],
        ['thresholds-g / fr', '0.07', 'fail'], ['bundle', '0 open blocker(s)', 'pass'],
        ['bundle', '0 unsigned, 0 expired; not signed off', 'fail']]
    g = gv.check_gates(bundle, ['S2 recall >= 0.5', 'system violation rate <= 10%', 'auc lower bound > 0.9'], today=DAY)
    assert g[['value', 'verdict']].values.tolist() == [['not measured', 'fail'], ['not measured', 'fail'], ['0.93', 'pass']]

def test_system_gates_per_target_language(bundle):
    groups = [dict(group=l, false_refusal_rate=f, false_refusal_low=f / 2, false_refusal_high=f * 2,
                   violation_rate=0.2, violation_low=0.1, violation_high=0.3) for l, f in dict(en=0.05, de=0.2).items()]
    (bundle/'system').mkdir()
    (bundle/'system'/'manifest.json').write_text(json.dumps(dict(template='system_evaluation', status='ok')))
    (bundle/'system'/'summary.json').write_text(json.dumps(dict(
        system=dict(false_refusal_rate=dict(value=0.1, low=0.08, high=0.12), violation_rate=dict(value=0.2, low=0.15, high=0.25)),
        groups=dict(language=groups))))
    g = gv.check_gates(bundle, ['system false refusal rate upper bound <= 0.15 per target language',
                                'system violation rate < 21%'], today=DAY)
    assert g[['subject', 'value', 'verdict']].values.tolist() == [
        ['system / en', '0.1', 'pass'], ['system / de', '0.4', 'fail'], ['system / fr', 'not measured', 'fail'],
        ['system', '0.2', 'pass']]

def test_an_unreadable_part_is_never_evidence(bundle):
    (bundle/'thresholds-g'/'summary.json').write_text('{broken')
    assert gv.bundle_parts(bundle)['thresholds-g']['status'] == 'unreadable summary'
    assert gv.check_gates(bundle, ['recall >= 0.5'], today=DAY).value.tolist() == ['not measured']
    assert gv.find_evidence(gv.bundle_evidence(bundle), 'part:guard_thresholds')[0] == 'missing'

def test_gate_exit_codes(bundle, tmp_path, capsys):
    p = tmp_path/'gates.yaml'
    p.write_text(yaml.safe_dump({'gates': ['S1 recall lower bound >= 0.9', 'recall >= 90%', 'all parts completed']}))
    assert main(['gate', str(bundle), str(p)]) == 0
    assert 'PASS  S1 recall lower bound >= 0.9  [thresholds-g]  0.91' in capsys.readouterr().out
    p.write_text(yaml.safe_dump(GATES))
    assert main(['gate', str(bundle), str(p)]) == 1
    p.write_text(yaml.safe_dump(['recall >= 0.9 or True']))
    assert main(['gate', str(bundle), str(p)]) == 2
    assert main(['gate', str(tmp_path/'nothing'), str(p)]) == 2
    p.write_text(yaml.safe_dump(['recall >= 0.9']))
    assert main(['gate', str(tmp_path), str(p)]) == 2          # a folder that is no bundle

def test_gate_rules_are_never_evaluated(bundle, tmp_path):
    marker = tmp_path/'pwned'
    p = tmp_path/'gates.yaml'
    p.write_text(yaml.safe_dump([f"recall >= __import__('os').system('touch {marker}')"]))
    assert main(['gate', str(bundle), str(p)]) == 2 and not marker.exists()

# ---------------------------------------------------------------------------------------------- paired tests
def test_mcnemar_agrees_with_scipy_and_statsmodels():
    rng = np.random.default_rng(3)
    for _ in range(20):
        old = rng.random(80) < 0.6; new = old.copy(); flip = rng.random(80) < rng.uniform(0.05, 0.4); new[flip] = ~new[flip]
        r = gv.mcnemar_exact(old, new)
        b, c = int((old & ~new).sum()), int((~old & new).sum())
        assert (r['b'], r['c']) == (b, c)
        if b + c: assert r['p_value'] == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, abs=1e-12)
        table = [[int((old & new).sum()), b], [c, int((~old & ~new).sum())]]
        assert r['p_value'] == pytest.approx(min(1.0, sm_mcnemar(table, exact=True).pvalue), abs=1e-12)
    assert gv.mcnemar_exact([True, False], [True, False])['p_value'] == 1.0

def test_holm_agrees_with_statsmodels():
    from statsmodels.stats.multitest import multipletests
    rng = np.random.default_rng(2)
    for m in (1, 2, 7, 30):
        p = rng.random(m) ** 3
        assert np.allclose(gv.holm(p), multipletests(p, method='holm')[1])

def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200); s = np.round(rng.random(200) + y * 0.3, 1)   # many ties
    assert gv._auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)

def _auc_along(y, s):
    "AUC along the last axis (Mann-Whitney from scipy's mid-ranks), for scipy.stats.bootstrap's vectorised calls"
    r = stats.rankdata(s, axis=-1)
    n1 = y.sum(-1); n0 = y.shape[-1] - n1
    return ((r * y).sum(-1) - n1 * (n1 + 1) / 2) / (n1 * n0)

def test_paired_bootstrap_auc_agrees_with_scipy_bootstrap():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 250); s0 = y * 0.4 + rng.random(250); s1 = y * 0.55 + rng.random(250)
    ours = gv.paired_bootstrap_auc(y, s0, s1, n_boot=2000, seed=1)
    stat = lambda yy, a, b, axis=-1: _auc_along(yy, b) - _auc_along(yy, a)
    ref = stats.bootstrap((y, s0, s1), stat, paired=True, vectorized=True, n_resamples=4000, method='percentile',
                          random_state=2).confidence_interval
    assert ours['delta'] == pytest.approx(roc_auc_score(y, s1) - roc_auc_score(y, s0), abs=1e-12)
    assert ours['low'] == pytest.approx(ref.low, abs=0.012) and ours['high'] == pytest.approx(ref.high, abs=0.012)
    assert ref.low > 0 and ours['low'] > 0            # both say the new scores rank better

def test_stat_diff_labels_changes_on_the_same_rows(tmp_path):
    a = tiny_bundle(tmp_path/'a', seed=0)
    same = gv.stat_diff(a, tiny_bundle(tmp_path/'same', seed=0), n_boot=200)
    assert same['paired'] and set(same['changes'].label) == {'no significant change'}
    better = gv.stat_diff(a, tiny_bundle(tmp_path/'better', seed=0, shift=0.2), n_boot=200)['changes']
    row = better.set_index(['metric', 'group']).loc[('recall', 'all')]
    j, _ = gv.paired_rows(a, tmp_path/'better', 'g')
    k = j.label == 1
    oracle = stats.binomtest(int((j.blocked_old & ~j.blocked_new)[k].sum()),
                             int((j.blocked_old != j.blocked_new)[k].sum()), 0.5).pvalue
    assert row['label'] == 'improved' and row['p_value'] == pytest.approx(oracle) and row['p_holm'] < 0.05
    fam = better[better.metric == 'recall']
    assert np.allclose(fam.p_holm, gv.holm(fam.p_value)) and (fam.p_holm >= fam.p_value).all()
    worse = gv.stat_diff(tmp_path/'better', a, n_boot=200)['changes'].set_index(['metric', 'group'])
    assert worse.loc[('recall', 'all'), 'label'] == 'regressed'
    assert worse.loc[('false refusal rate', 'all'), 'label'] == 'no significant change'

def _system_part(folder, refuse, violate, seed=0, n=300):
    "A completed system part whose rows refuse a share `refuse` of benign rows and violate on `violate` of unsafe ones"
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n // 2, int), np.zeros(n - n // 2, int)]
    u = np.random.default_rng(99).random(n)                        # the same draw in both bundles: paired rows
    outcome = np.where(y == 0, np.where(u < refuse, 'refused', 'answered'), np.where(u < violate, 'answered', 'refused'))
    d = Path(folder)/'system'; d.mkdir()
    (d/'manifest.json').write_text(json.dumps(dict(template='system_evaluation', status='ok')))
    (d/'summary.json').write_text('{}')
    pd.DataFrame(dict(id=[f's{i}' for i in range(n)], label=y, outcome=outcome, violation=(y == 1) & (outcome == 'answered'),
                      language=rng.choice(['en', 'de'], n), categories=[['S2'] if v else [] for v in y])
                 ).to_parquet(d/'rows.parquet')

def test_product_rows_are_paired_end_to_end(tmp_path):
    a, b = tiny_bundle(tmp_path/'a'), tiny_bundle(tmp_path/'b')
    _system_part(a, refuse=0.30, violate=0.20); _system_part(b, refuse=0.10, violate=0.45)
    ch = gv.stat_diff(a, b, n_boot=50)['changes']
    ch = ch[ch.guard == 'product'].set_index(['metric', 'group'])
    fr, vi = ch.loc[('system false refusal rate', 'all')], ch.loc[('system violation rate', 'all')]
    assert (fr.label, vi.label) == ('improved', 'regressed')
    old = pd.read_parquet(a/'system'/'rows.parquet'); new = pd.read_parquet(b/'system'/'rows.parquet')
    ben = old.label == 0
    r0, r1 = (old.outcome != 'answered')[ben], (new.outcome != 'answered')[ben]
    assert fr.p_value == pytest.approx(stats.binomtest(int((r0 & ~r1).sum()), int((r0 != r1).sum()), 0.5).pvalue)
    assert ('system violation rate', 'hazard S2') in ch.index and ('system false refusal rate', 'hazard S2') not in ch.index

def test_other_rows_give_a_descriptive_diff_said_so(tmp_path, capsys):
    a, b = tiny_bundle(tmp_path/'a'), tiny_bundle(tmp_path/'b', ids_from=1000)
    sd = gv.stat_diff(a, b)
    assert not sd['paired'] and 'scored other rows' in sd['reasons'][0]
    assert gv.diff_cmd(str(a), str(b)) == 0
    out = capsys.readouterr().out
    assert 'riskbench diff:' in out and 'none: only descriptive differences' in out
    assert 'Paired tests' in (b/'diff.html').read_text()

def test_diff_reads_the_row_ids_and_takes_subset(tmp_path, capsys):
    "`riskbench diff` names the rows that differ and accepts the --subset its own message suggests"
    from riskbench.evalsets import ids_sha256
    a, b = tiny_bundle(tmp_path/'a'), tiny_bundle(tmp_path/'b', n=300)
    for f, n, sha in ((a, 400, 'd0'), (b, 300, 'd1')):
        rec = json.loads((f/'bundle.json').read_text())
        ids = pd.read_parquet(f/'scores'/'g.parquet').id.tolist()
        rec.update(input_sha256=dict(data=sha), rows=dict(n=n, ids_sha256=ids_sha256(ids), table='scores/g.parquet'))
        (f/'bundle.json').write_text(json.dumps(rec))
    assert main(['diff', str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "only in " in err and 'are a subset of' in err and 'pass --subset to declare it' in err
    assert main(['diff', str(a), str(b), '--subset', '--n-boot', '50']) == 0
    assert 'different_rows' in capsys.readouterr().out

def test_diff_cmd_adds_the_paired_tests_to_the_page(tmp_path, capsys):
    a, b = tiny_bundle(tmp_path/'a'), tiny_bundle(tmp_path/'b', shift=0.2)
    assert gv.diff_cmd(str(a), str(b), n_boot=100) == 0
    assert 'g recall (all, n=200)' in capsys.readouterr().out
    page = (b/'diff.html').read_text()
    assert page.count('</body>') == 1 and 'McNemar exact' in page and 'improved' in page

# ---------------------------------------------------------------------------------------------- the CI example
def _workflow_commands():
    "The workflow's riskbench commands, each split into its arguments"
    wf = yaml.safe_load((ROOT/'examples'/'ci'/'assessment.yml').read_text())
    runs = [s['run'] for s in wf['jobs']['assess']['steps'] if 'run' in s]
    return [shlex.split(r)[1:] for r in runs if r.startswith('riskbench ')]

def _in(args, bundle):
    "A workflow command with its bundle folder (`bundle`, `bundle/...`) moved to `bundle`"
    return [str(bundle) + a[len('bundle'):] if a == 'bundle' or a.startswith('bundle/') else a for a in args]

@pytest.fixture(scope='module')
def ci_bundle(tmp_path_factory):
    "One bundle built by the CI workflow's own assess command (on the demo card), for the whole module"
    out = tmp_path_factory.mktemp('ci')/'bundle'
    assess = next(c for c in _workflow_commands() if c[0] == 'assess')
    assert main(_in(assess, out)) == 0
    return out

def test_ci_workflow_gates_a_bundle(ci_bundle, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)                    # the workflow runs from the repository root
    cmds = {c[0]: _in(c, ci_bundle) for c in _workflow_commands()}
    assert list(cmds) == ['assess', 'compliance', 'gate']
    assert main(cmds['compliance']) == 0 and (ci_bundle/'compliance.csv').is_file()
    capsys.readouterr()
    assert main(cmds['gate']) == 1                   # the demo's baseline guard misses most S1 prompts
    out = capsys.readouterr().out
    assert 'FAIL  S1 recall lower bound >= 0.9' in out and 'PASS  all parts completed' in out
    assert main(['signoff', str(ci_bundle), '--as', 'CI', '--role', 'pipeline', '--decision', 'no']) == 0
    assert main(['verify', str(ci_bundle)]) == 0


# ---------------------------------------------------------------------------------------------- checklist basis
def test_a_declared_checklist_item_is_not_credited(bundle):
    "The demo card declares a red-team exercise that nothing measured: partial, never found; a measured one is found"
    ev = gv.bundle_evidence(bundle, today=DAY)
    declared = ('partial', 'checklist: Red teaming: done, declared, not measured')
    assert gv.find_evidence(ev, 'checklist:Red teaming') == declared
    policy = ('found', 'checklist: Content policy defined: done')
    assert gv.find_evidence(ev, 'checklist:Content policy defined') == policy
    r = gv.compliance(bundle, today=DAY).set_index(['framework', 'control'])
    assert 'checklist: Red teaming: done, declared, not measured' in r.loc[('nist-ai-rmf', 'MEASURE 2.7'), 'missing']
    assert '- Red teaming: done, declared, not measured' in gv.system_card(bundle)
    p = bundle/'usecase'/'summary.json'
    us = json.loads(p.read_text())
    ck = {c['item']: c for c in us['checklist']}
    ck['Red teaming']['basis'] = 'measured'                          # as when a campaign summary was given
    for c in us['checklist']:
        if c['item'] == 'Content policy defined': c.pop('basis')   # a bundle from before checklist bases
    p.write_text(json.dumps(us))
    ev = gv.bundle_evidence(bundle, today=DAY)
    assert gv.find_evidence(ev, 'checklist:Red teaming') == ('found', 'checklist: Red teaming: done')
    st, what = gv.find_evidence(ev, 'checklist:Content policy defined')
    assert st == 'partial' and what.endswith('how it is known not recorded, so not credited')


# ---------------------------------------------------------------------------------------------- monitoring diff
def test_proportion_difference_agrees_with_statsmodels_and_scipy():
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
    rng = np.random.default_rng(4)
    for _ in range(50):
        n1, n2 = rng.integers(5, 800, 2)
        k1, k2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
        d = gv.proportion_difference(k1, n1, k2, n2)
        lo, hi = confint_proportions_2indep(k2, n2, k1, n1, method='newcomb', compare='diff')
        assert d['delta'] == pytest.approx(k2 / n2 - k1 / n1)
        assert (d['low'], d['high']) == pytest.approx((lo, hi), abs=1e-9)
        if 0 < k1 + k2 < n1 + n2:
            assert d['p_value'] == pytest.approx(proportions_ztest([k2, k1], [n2, n1])[1], rel=1e-9)
            chi = stats.chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=False).pvalue
            assert d['p_value'] == pytest.approx(chi, rel=1e-9)
    assert gv.proportion_difference(3, 0, 4, 10)['delta'] is None


def _scored_bundle(folder, seed=0, n=300, threshold=0.5):
    "A bundle with one guard `g`: a labelled score table (en/de/fr, S1/S2 on unsafe rows) and its policy"
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    s = np.clip(np.where(y == 1, rng.beta(5, 2, n), rng.beta(2, 5, n)), 0, 1)
    folder = Path(folder); (folder/'scores').mkdir(parents=True); (folder/'policies').mkdir()
    t = pd.DataFrame(dict(id=[f'r{i}' for i in range(n)], text=[f'prompt {i}' for i in range(n)], label=y, score=s,
                          language=rng.choice(['en', 'de', 'fr'], n, p=[0.6, 0.2, 0.2]),
                          categories=[[rng.choice(['S1', 'S2'])] if v else [] for v in y]))
    t.to_parquet(folder/'scores'/'g.parquet')
    (folder/'policies'/'g.json').write_text(json.dumps(dict(schema='riskbench.guard_policy/1', threshold=threshold)))
    return folder

def _logs(path, n=400, seed=1):
    "Two weeks of logs served by guard `g` on input (and an unknown output guard), 80 reviewed control turns"
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        y = int(rng.random() < 0.2)
        sc = float(np.clip(rng.beta(5, 2) if y else rng.beta(2, 4), 0, 1))
        r = dict(timestamp=f"2026-11-{2 + i * 14 // n:02d}T10:00:00Z", prompt=f'turn {i}', input_guard='g',
                 input_score=round(sc, 4), input_blocked=sc >= 0.5, language=str(rng.choice(['en', 'de', 'hi'])),
                 categories=[str(rng.choice(['S1', 'S2']))] if y else [], output_guard='other-guard',
                 output_score=0.1, output_blocked=bool(i % 50 == 0), response=None if sc >= 0.5 else 'an answer')
        if i % 5 == 0: r.update(label=y, review_stratum='control')
        if i % 7 == 0: r['thumbs'] = 'down' if i % 3 == 0 else 'up'
        if i % 20 == 0: r.update(report_reason='harmful', report_text='bad')
        rows.append(r)
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return path

def _monitor_folder(folder, logs, bundle):
    "What `riskbench monitor` writes, from the library (the CLI's own output is tested below)"
    from riskbench.monitor import monitor_report
    from riskbench.report import to_jsonable
    folder.mkdir()
    (folder/'summary.json').write_text(json.dumps(to_jsonable(monitor_report(logs, bundle, 'week').to_dict())))
    (folder/'manifest.json').write_text(json.dumps(dict(template='monitoring', status='ok')))
    return folder

def test_monitoring_diff_by_hand(tmp_path):
    from statsmodels.stats.proportion import confint_proportions_2indep
    b = _scored_bundle(tmp_path/'b')
    logs = _logs(tmp_path/'logs.jsonl')
    d = gv.monitoring_diff(b, _monitor_folder(tmp_path/'mon', logs, b))
    rows = {(r['subject'], r['measure']): r for r in d['rates']}
    t = pd.read_parquet(b/'scores'/'g.parquet')
    live = pd.read_json(logs, lines=True)
    blk = rows[('g', 'block rate')]
    assert (blk['assessed']['k'], blk['assessed']['n']) == (int((t.score >= 0.5).sum()), len(t))
    assert (blk['live']['k'], blk['live']['n']) == (int(live.input_blocked.sum()), len(live))
    lo, hi = confint_proportions_2indep(blk['live']['k'], blk['live']['n'], blk['assessed']['k'], blk['assessed']['n'],
                                        method='newcomb', compare='diff')
    assert (blk['low'], blk['high']) == pytest.approx((lo, hi))
    fr = rows[('g', 'false refusal rate')]
    ben = t[t.label == 0]
    rev = live[live.review_stratum.eq('control') & live.label.eq(0)]
    assert (fr['assessed']['k'], fr['assessed']['n']) == (int((ben.score >= 0.5).sum()), len(ben))
    assert (fr['live']['k'], fr['live']['n']) == (int(rev.input_blocked.sum()), len(rev))
    ms = rows[('g', 'miss rate')]
    uns = t[t.label == 1]
    assert ms['assessed']['k'] == int((uns.score < 0.5).sum()) and ms['p_value'] is not None
    rep = rows[('product', 'report rate')]
    assert rep['assessed'] is None and rep['p_value'] is None
    assert rep['assessed_missing'] == 'an assessment has no users'
    assert (rep['live']['k'], rep['live']['n']) == (int(live.report_reason.notna().sum()), len(live))
    out = rows[('(output guard)', 'block rate')]
    assert out['assessed'] is None and 'no guard of the bundle matches the output guard' in out['assessed_missing']
    assert out['live']['k'] == int(live.output_blocked.sum())
    unsafe = rows[('product', 'share of unsafe turns')]
    assert (unsafe['assessed']['k'], unsafe['assessed']['n']) == (int(t.label.sum()), len(t))
    ctl = live[live.review_stratum.eq('control')]
    assert (unsafe['live']['k'], unsafe['live']['n']) == (int(ctl.label.sum()), len(ctl))
    mix = {(r['mix'], r['value']): r for r in d['mix']}
    hi = mix[('language', 'hi')]                                     # a live language the eval set has no rows of
    assert (hi['assessed']['k'], hi['live']['k']) == (0, int((live.language == 'hi').sum()))
    assert mix[('language', 'en')]['assessed']['k'] == int((t.language == 'en').sum())
    s1 = mix[('hazard', 'S1')]
    tagged = live.categories.map(len).gt(0)
    assert s1['live']['k'] == int(live.categories.map(lambda c: 'S1' in c).sum())
    assert s1['live']['n'] == int(tagged.sum())
    lang = [r for r in d['mix'] if r['mix'] == 'language']
    assert np.allclose([r['p_holm'] for r in lang], gv.holm([r['p_value'] for r in lang]))
    text = gv.monitoring_diff_text(d)
    assert 'product report rate: not measured (an assessment has no users)' in text
    page = gv.monitoring_diff_html(d)
    assert page.count('</body>') == 1 and 'not measured (an assessment has no users)' in page

@pytest.fixture(scope='module')
def demo_monitor(tmp_path_factory):
    "The bundled demo logs monitored against the bundled demo bundle by the real `riskbench monitor` command"
    out = tmp_path_factory.mktemp('mon')/'mon'
    assert main(['monitor', 'bundled:monitor/logs.jsonl', '--bundle', 'bundled:monitor/bundle', '--out', str(out),
                 '--period', 'week']) == 0
    return out

def test_diff_of_the_demo_monitoring_shows_the_planted_drift(demo_monitor, tmp_path, capsys):
    capsys.readouterr()
    assert main(['diff', 'bundled:monitor/bundle', str(demo_monitor), '--out', str(tmp_path/'d.html')]) == 0
    out = capsys.readouterr().out
    assert 'input score (baseline): whole log PSI' in out and 'worst period 2026-11-23' in out
    line = next(l for l in out.splitlines() if l.strip().startswith('input score (baseline)'))
    assert line.endswith(': drift')
    assert 'output score: not measured (no guard of the bundle matches the output guard' in out
    d = json.loads((tmp_path/'d.json').read_text())
    assert {w['code'] for w in d['monitoring_warnings']} >= {'drift', 'out_of_control'} and d['warnings'] == []
    hi = next(r for r in d['mix'] if r['mix'] == 'language' and r['value'] == 'hi')
    assert hi['live']['k'] > 0 and hi['delta'] > 0                    # more Hindi traffic than in the eval set
    page = (tmp_path/'d.html').read_text()
    assert page.count('</body>') == 1 and 'Drift (PSI and KS per guard' in page
    assert main(['diff', str(demo_monitor), 'bundled:monitor/bundle']) == 0   # either order; default page in the output
    assert (demo_monitor/'diff.html').is_file() and (demo_monitor/'diff.json').is_file()

def test_a_monitoring_output_of_another_bundle_is_refused(demo_monitor, tmp_path, capsys):
    other = _scored_bundle(tmp_path/'other')
    capsys.readouterr()
    assert main(['diff', str(other), str(demo_monitor), '--out', str(tmp_path/'x.html')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'was not measured against' in err and '--force' in err
    assert not (tmp_path/'x.html').exists()
    assert main(['diff', str(other), str(demo_monitor), '--out', str(tmp_path/'x.html'), '--force']) == 0
    assert 'warning: different_data:' in capsys.readouterr().out
    assert main(['diff', str(demo_monitor), str(demo_monitor)]) == 2
    assert 'both monitoring outputs' in capsys.readouterr().err
    unbound = _monitor_folder(tmp_path/'unbound', 'bundled:monitor/logs.jsonl', '')
    with pytest.raises(BadParameter, match='compared the logs with no bundle'):
        gv.monitoring_diff('bundled:monitor/bundle', unbound)
    d = gv.monitoring_diff('bundled:monitor/bundle', unbound, force=True)
    assert d['drift'][0]['missing'] == 'the monitoring run was not compared with a bundle'
    failed = tmp_path/'failed'; failed.mkdir()
    (failed/'manifest.json').write_text(json.dumps(dict(template='monitoring', status='failed')))
    assert main(['diff', 'bundled:monitor/bundle', str(failed)]) == 2
    assert 'did not complete' in capsys.readouterr().err
