"Templates under papermill: parameters checked first, outputs written, failures kept, text escaped"
import json, re
from pathlib import Path
import pytest
from conftest import riskbench, ROOT

HOSTILE = ['<script>window.__pwned=1</script>', '<img src=x onerror="window.__pwned=1">']

def hostile_data(tmp_path):
    rows = [dict(id=f'r{i}', text=f'benign prompt {i}', label=0, language='en') for i in range(30)]
    rows += [dict(id=f'h{i}', text=t, label=0, language='en') for i, t in enumerate(HOSTILE)]
    p = tmp_path/'hostile.jsonl'
    p.write_text('\n'.join(json.dumps(r) for r in rows) + '\n{"broken\n')
    return p

def test_run_writes_all_outputs_and_escapes(tmp_path):
    data = hostile_data(tmp_path)
    r = riskbench('run', 'dataset_overview', '-p', 'data', data, '-p', 'max_examples', '40', '--out', tmp_path/'out')
    assert r.returncode == 0, r.stderr
    out = tmp_path/'out'
    for f in ('report.html', 'report.ipynb', 'summary.json', 'manifest.json'): assert (out/f).exists()
    page = (out/'report.html').read_text()
    for h in HOSTILE: assert h not in page
    assert '&lt;script&gt;window.__pwned=1&lt;/script&gt;' in page
    import re
    assert not re.search(r'<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*["\']?(https?:)?//', page), 'the report loads something from the network'
    assert page.count('<script>') == 2  # plotly.js once, and the drawing script
    s = json.loads((out/'summary.json').read_text())
    assert s['rows']['read'] == 33 and s['rows']['rejected'] == 1
    m = json.loads((out/'manifest.json').read_text())
    assert m['status'] == 'ok' and m['parameters']['max_examples'] == 40
    assert m['inputs']['data']['rows_kept'] == 32 and len(m['inputs']['data']['sha256']) == 64
    assert {'python', 'pandas', 'papermill'} <= set(m['versions'])

def test_unknown_parameter_lists_valid_ones(tmp_path):
    r = riskbench('run', 'dataset_overview', '-p', 'dta', 'x', '--out', tmp_path)
    assert r.returncode == 2 and "no parameter 'dta'; valid parameters: data (str" in r.stderr

def test_wrong_type(tmp_path):
    r = riskbench('run', 'dataset_overview', '-p', 'max_examples', 'lots', '--out', tmp_path)
    assert r.returncode == 2 and "expects int, got 'lots'" in r.stderr

def test_missing_input_caught_before_running(tmp_path):
    r = riskbench('run', 'dataset_overview', '-p', 'data', tmp_path/'nope.jsonl', '--out', tmp_path/'o')
    assert r.returncode == 2 and 'does not exist' in r.stderr
    assert not (tmp_path/'o').exists()

def test_params_file(tmp_path):
    data = hostile_data(tmp_path)
    (tmp_path/'p.yaml').write_text(f'data: {data}\nmax_examples: 2\n')
    r = riskbench('run', 'dataset_overview', '-f', tmp_path/'p.yaml', '--out', tmp_path/'o')
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path/'o'/'manifest.json').read_text())['parameters']['max_examples'] == 2
    (tmp_path/'bad.yaml').write_text('- a\n- b\n')
    r = riskbench('run', 'dataset_overview', '-f', tmp_path/'bad.yaml')
    assert r.returncode == 2 and 'mapping' in r.stderr

def test_failing_template_keeps_partial_report(tmp_path):
    import nbformat as nbf
    nb = nbf.v4.new_notebook()
    nb.cells = [nbf.v4.new_markdown_cell('# Fails'), nbf.v4.new_code_cell('x = 1  # a number'),
                nbf.v4.new_code_cell('from riskbench.report import record\nrecord(before=x)'),
                nbf.v4.new_code_cell('1/0'), nbf.v4.new_code_cell('record(after=True)')]
    nb.cells[1].metadata['tags'] = ['parameters']
    nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')
    nbf.write(nb, tmp_path/'fails.ipynb')
    r = riskbench('run', tmp_path/'fails.ipynb', '--out', tmp_path/'o')
    assert r.returncode == 1 and 'ZeroDivisionError' in r.stderr
    s = json.loads((tmp_path/'o'/'summary.json').read_text())
    assert s['before'] == 1 and 'after' not in s and s['status'] == 'failed'
    assert 'FAILED' in (tmp_path/'o'/'report.html').read_text()
    assert json.loads((tmp_path/'o'/'manifest.json').read_text())['status'] == 'failed'

def test_templates_command_lists_parameters():
    r = riskbench('templates')
    assert r.returncode == 0 and 'dataset_overview' in r.stdout and 'data (str)' in r.stdout
    r = riskbench('templates', '--json')
    assert json.loads(r.stdout)['dataset_overview']['parameters']['data']['input_path'] is True
