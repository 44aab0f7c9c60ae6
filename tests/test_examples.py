"The bundled examples of datasets/examples each raise the evidence warning they teach (datasets/examples/README.md)"
import json, subprocess, sys
from conftest import riskbench, ROOT


def codes(ws): return {w['code'] for w in ws}


def test_examples_are_what_their_generator_writes(tmp_path):
    "make_examples.py regenerates the bundled files byte for byte"
    import shutil
    work = tmp_path/'datasets'; (work/'examples').mkdir(parents=True)
    shutil.copy(ROOT/'datasets'/'demo_prompts.jsonl', work)
    shutil.copy(ROOT/'datasets'/'examples'/'make_examples.py', work/'examples')
    subprocess.run([sys.executable, str(work/'examples'/'make_examples.py')], check=True, capture_output=True)
    for f in ('redteam_all_unsafe.jsonl', 'worse_than_chance_scores.jsonl', 'openai_moderation_scores.jsonl'):
        assert (work/'examples'/f).read_bytes() == (ROOT/'datasets'/'examples'/f).read_bytes(), f


def test_worse_than_chance_example():
    from riskbench.thresholds import tune_file
    pol = tune_file('bundled:examples/worse_than_chance_scores.jsonl')
    assert pol.info['auc_roc'] < 0.5 and 'worse_than_chance' in codes(pol.info['warnings'])


def test_openai_codes_example_is_mapped_never_matched_by_name():
    from riskbench.thresholds import tune_file
    pol = tune_file('bundled:examples/openai_moderation_scores.jsonl', by='category')
    ws = pol.info['warnings']
    assert {'mapped_categories', 'foreign_categories'} <= codes(ws)
    groups = set((pol.groups or {}).get('values', {}))
    assert groups and groups <= {'S1', 'S10', 'S11', 'S12'}, groups  # Llama Guard codes only: no 'S', 'H', 'HR'


def test_close_languages_card_example():
    from riskbench.multilingual import detection_check, detection_warnings
    from riskbench.usecase import load_usecase
    card = load_usecase('bundled:examples/close_languages_card.yaml')
    ws = detection_warnings(detection_check(card.languages))
    assert {w['language'] for w in ws if w['code'] == 'undetectable_language'} == {'hr', 'bs'}


def test_redteam_all_unsafe_example(tmp_path):
    r = riskbench('score', 'bundled:examples/redteam_all_unsafe.jsonl', '--guard', 'baseline', '--out', tmp_path/'s.parquet')
    assert r.returncode == 0, r.stderr
    r = riskbench('thresholds', tmp_path/'s.parquet', '--out', tmp_path/'thr')
    assert r.returncode == 0, r.stderr
    assert 'one_class_set' in r.stdout
