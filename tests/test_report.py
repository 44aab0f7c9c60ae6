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

# --- figures, markup, PII, interrupts (issues 11 and 12) ---------------------------------------------------------
import numpy as np

CARD, SSN, MAIL = '4111 1111 1111 1111', '536-22-1234', 'jane.doe@example.com'
EVIL = '<a href="javascript:alert(1)">x</a>'
CURVES = '''import numpy as np
recall = np.linspace(0, 1, 200)
precision = np.where(np.arange(200) % 3 == 0, np.nan, 1 / (1 + np.arange(200)))
precision[0] = np.frombuffer(bytes([0, 0, 0, 0x35, 0xa3, 0x40, 0xe0, 0x3f]), '<f8')[0]  # its base64 spells "NaN"
precision[5], precision[7] = np.inf, -np.inf
'''

def _template(path, cells):
    import nbformat as nbf
    nb = nbf.v4.new_notebook()
    nb.cells = [nbf.v4.new_markdown_cell('# Figures'), nbf.v4.new_code_cell('n = 1  # a number'),
                *[nbf.v4.new_code_cell(c) for c in cells]]
    nb.cells[1].metadata['tags'] = ['parameters']
    nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')
    nbf.write(nb, path)
    return path

def _strings(o):
    if isinstance(o, str): yield o
    elif isinstance(o, dict):
        for v in o.values(): yield from _strings(v)
    elif isinstance(o, list):
        for v in o: yield from _strings(v)

def _typed(o):
    if isinstance(o, np.ndarray): yield o
    elif isinstance(o, dict):
        for v in o.values(): yield from _typed(v)
    elif isinstance(o, list):
        for v in o: yield from _typed(v)

def test_figure_typed_arrays_survive_nan_heavy_curves():
    "the text NaN inside base64 is data, not a NaN (the old code turned a precision into 2e293)"
    import plotly.graph_objects as go, plotly.io as pio
    from riskbench.report import figure_html, figure_specs, render_html
    ns = {}; exec(CURVES, ns)
    fig = go.Figure(go.Scatter(x=ns['recall'], y=ns['precision'])).add_scatter(x=[0, 1, 2], y=[0.5, float('nan'), float('inf')])
    src = json.loads(pio.to_json(fig))
    assert 'NaN' in src['data'][0]['y']['bdata']  # the case that broke
    expected = np.where(np.isinf(ns['precision']), np.nan, ns['precision'])
    native = {'cells': [{'cell_type': 'code', 'source': '', 'metadata': {}, 'outputs': [
        {'output_type': 'display_data', 'data': {'application/vnd.plotly.v1+json': src}, 'metadata': {}}]}]}
    for page in (figure_html(fig), render_html(native)):
        (f,) = figure_specs(page)
        np.testing.assert_array_equal(f['data'][0]['y'], expected)
        np.testing.assert_array_equal(f['data'][0]['x'], ns['recall'])
        assert f['data'][1]['y'] == [0.5, None, None]

def test_report_figures_escaped_masked_and_exact(tmp_path):
    "every typed array of every figure in the report page equals its source; data strings hold no markup and no PII"
    cells = [CURVES + 'import plotly.graph_objects as go, pandas as pd\n'
             'from riskbench.report import show_figure, show_table\n'
             'show_figure(go.Figure(go.Scatter(x=recall, y=precision, name="PR")))',
             f'show_figure(go.Figure(go.Bar(x=[{EVIL!r}, "en"], y=[1, 2], name={EVIL!r}, '
             f'hovertext=["card {CARD}", "x"], customdata=[[{MAIL!r}], ["y"]])).update_xaxes(categoryarray=[{EVIL!r}, "en"]))',
             f'show_table(pd.DataFrame({{"text": ["pay {CARD}", "ssn {SSN} mail {MAIL}", {EVIL!r}]}}))',
             'get_ipython().kernel.log.error("KeyboardInterrupt caught in kernel.")  # what ipykernel logs at shutdown']
    tpl = _template(tmp_path/'figs.ipynb', cells)
    r = riskbench('run', tpl, '--out', tmp_path/'o')
    assert r.returncode == 0, r.stderr
    assert 'KeyboardInterrupt' not in r.stderr and 'IPKernelApp' not in r.stderr
    page = (tmp_path/'o'/'report.html').read_text()
    from riskbench.report import figure_specs, escape_markup
    figs = figure_specs(page)
    assert len(figs) == 2
    ns = {}; exec(CURVES, ns)
    np.testing.assert_array_equal(figs[0]['data'][0]['y'], np.where(np.isinf(ns['precision']), np.nan, ns['precision']))
    np.testing.assert_array_equal(figs[0]['data'][0]['x'], ns['recall'])
    for f in figs:
        for a in _typed(f): assert a.dtype.kind in 'fiu' and not np.isinf(a).any()
        for s in _strings(f['data']) : assert '<a' not in s.lower() and '<script' not in s.lower(), s
    bar = figs[1]['data'][0]
    assert bar['x'][0] == escape_markup(EVIL) and bar['name'] == escape_markup(EVIL)
    assert figs[1]['layout']['xaxis']['categoryarray'] == bar['x']
    assert bar['hovertext'][0] == 'card **** **** **** 1111' and bar['customdata'][0] == ['j***@e***.com']
    for raw in (CARD, SSN, MAIL, EVIL): assert raw not in page
    assert '***-**-1234' in page and '**** **** **** 1111' in page

def test_show_raw_text_setting(monkeypatch):
    import pandas as pd
    from riskbench.report import table_html, figure_spec, display_text
    import plotly.graph_objects as go
    df = pd.DataFrame({'text': [f'{CARD} {SSN} {MAIL}']})
    fig = go.Figure(go.Bar(x=[MAIL], y=[1]))
    monkeypatch.delenv('RISKBENCH_SHOW_RAW_TEXT', raising=False)
    t = table_html(df)
    assert CARD not in t and SSN not in t and MAIL not in t and '**** **** **** 1111' in t
    assert figure_spec(fig)['data'][0]['x'] == ['j***@e***.com']
    monkeypatch.setenv('RISKBENCH_SHOW_RAW_TEXT', '1')
    t = table_html(df)
    assert CARD in t and SSN in t and MAIL in t
    assert figure_spec(fig)['data'][0]['x'] == [MAIL] and display_text(MAIL) == MAIL

def test_dataset_overview_masks_pii(tmp_path):
    rows = [dict(id=f'r{i}', text=f'benign prompt {i}', label=0, language='en') for i in range(10)]
    rows += [dict(id='p1', text=f'my card is {CARD}', label=1, language='en'),
             dict(id='p2', text=f'ssn {SSN}, write to {MAIL}', label=0, language='en')]
    p = tmp_path/'pii.jsonl'
    p.write_text('\n'.join(json.dumps(r) for r in rows) + '\n')
    r = riskbench('run', 'dataset_overview', '-p', 'data', p, '-p', 'max_examples', '20', '--out', tmp_path/'o')
    assert r.returncode == 0, r.stderr
    page = (tmp_path/'o'/'report.html').read_text()
    for raw in (CARD, SSN, MAIL): assert raw not in page
    assert 'my card is **** **** **** 1111' in page and 'ssn ***-**-1234, write to j***@e***.com' in page

def test_interrupted_run_is_marked_and_reraised(tmp_path, monkeypatch):
    import pytest
    from riskbench import report
    tpl = _template(tmp_path/'t.ipynb', ['print(n)'])
    def stop(*a, **kw): raise KeyboardInterrupt
    monkeypatch.setattr(report, '_execute', stop)
    with pytest.raises(KeyboardInterrupt): report.run_template(tpl, {}, tmp_path/'o')
    m = json.loads((tmp_path/'o'/'manifest.json').read_text())
    assert m['status'] == 'interrupted' and 'interrupted' in m['error']
    assert json.loads((tmp_path/'o'/'summary.json').read_text())['status'] == 'interrupted'
    assert 'INTERRUPTED' in (tmp_path/'o'/'report.html').read_text()

def test_interrupt_caught_by_the_kernel_exits_130(tmp_path):
    tpl = _template(tmp_path/'t.ipynb', ['raise KeyboardInterrupt'])
    r = riskbench('run', tpl, '--out', tmp_path/'o')
    assert r.returncode == 130, r.stderr
    assert json.loads((tmp_path/'o'/'manifest.json').read_text())['status'] == 'interrupted'

def test_every_run_file_through_the_confined_writer(tmp_path):
    "a symlink planted in --out is replaced, never followed; the manifest lists every file with its SHA-256"
    from riskbench.core import file_sha256
    tpl = _template(tmp_path/'t.ipynb', ['from riskbench.report import record\nrecord(n=n)'])
    out = tmp_path/'o'; out.mkdir()
    outside = tmp_path/'outside.txt'; outside.write_text('keep')
    for f in ('report.html', 'summary.json', 'manifest.json', 'report.ipynb', '.provenance.json'): (out/f).symlink_to(outside)
    r = riskbench('run', tpl, '--out', out)
    assert r.returncode == 0, r.stderr
    assert outside.read_text() == 'keep'
    assert not any((out/f).is_symlink() for f in ('report.html', 'summary.json', 'manifest.json', 'report.ipynb'))
    m = json.loads((out/'manifest.json').read_text())
    assert {k: v['sha256'] for k, v in m['files'].items()} == {f: file_sha256(out/f) for f in ('summary.json', 'report.ipynb', 'report.html')}

def test_figures_in_a_browser_draw_nan_curves_and_show_markup_as_text(tmp_path):
    "Chromium draws the NaN-heavy curve with its exact values, and a link in a category name shows as text, not a link"
    from browser_util import find_chromium, CHROMIUM_ARGS, open_page, report_page_problems, wait_for_figures
    from playwright.sync_api import sync_playwright
    import plotly.graph_objects as go
    from riskbench.report import figure_html, render_html
    link = '<a href="https://example.com/x">site</a>'
    ns = {}; exec(CURVES, ns)
    figs = [go.Figure(go.Scatter(x=ns['recall'], y=ns['precision'], mode='lines')),
            go.Figure(go.Bar(x=[EVIL, link, 'en'], y=[1, 2, 3], hovertext=[f'card {CARD}', 'b', 'c']))]
    cells = [{'cell_type': 'code', 'source': '', 'metadata': {}, 'outputs': [
        {'output_type': 'display_data', 'data': {'text/html': figure_html(f)}, 'metadata': {}}]} for f in figs]
    page_path = tmp_path/'figures.html'
    page_path.write_text(render_html({'cells': cells}, 'figures'), encoding='utf-8')
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS, timeout=60_000)
        try:
            ctx, page, watch = open_page(b)
            page.goto(page_path.as_uri(), wait_until='load'); wait_for_figures(page)
            problems = report_page_problems(page, watch)
            links = page.locator('.rb-plotly a').count()
            ticks = page.locator('.rb-plotly .xtick text').all_text_contents()
            y = page.evaluate("() => Array.from(document.querySelectorAll('.rb-plotly')[0]._fullData[0].y)")
        finally: b.close()
    assert not problems, problems
    assert links == 0, 'a category name became a link'
    assert EVIL in ticks and link in ticks, ticks
    expected = np.where(np.isinf(ns['precision']), np.nan, ns['precision'])
    np.testing.assert_array_equal(np.array([np.nan if v is None else v for v in y], float), expected)

def test_printed_text_and_tracebacks_are_masked_in_the_page():
    "dataset text reaches a page through print(), plain outputs and errors too: masked there as in tables"
    from riskbench.report import render_html
    def nb(o): return {'cells': [{'cell_type': 'code', 'source': '', 'metadata': {}, 'outputs': [o]}]}
    outputs = [dict(output_type='stream', name='stdout', text=[f'row 3: {CARD} {SSN}\n']),
               dict(output_type='error', ename='BadFile', evalue='', traceback=[f'row 3: {MAIL}']),
               dict(output_type='execute_result', data={'text/plain': MAIL}, metadata={}),
               dict(output_type='display_data', data={'text/markdown': f'**{MAIL}**'}, metadata={})]
    for o in outputs:
        page = render_html(nb(o), error=f'BadFile: {MAIL}')
        for raw in (CARD, SSN, MAIL): assert raw not in page, (o['output_type'], raw)
    assert '**** **** **** 1111 ***-**-1234' in render_html(nb(outputs[0]))

def test_run_never_changes_this_process_folder(tmp_path, monkeypatch):
    "parts run in threads: a template runs in its output folder without chdir-ing the process (relative paths of other parts)"
    import os
    from riskbench import report
    here, real_chdir = Path.cwd().resolve(), os.chdir
    def no_chdir(p):  # papermill's file handler re-enters the folder it is in: harmless
        if Path(p).resolve() != here: raise AssertionError(f'os.chdir({p}) while a template ran')
        real_chdir(p)
    monkeypatch.setattr(os, 'chdir', no_chdir)
    tpl = _template(tmp_path/'t.ipynb', ['import os\nfrom riskbench.report import record\nrecord(cwd=os.getcwd())'])
    r = report.run_template(tpl, {}, tmp_path/'o')
    assert r.ok, r.error
    assert json.loads((tmp_path/'o'/'summary.json').read_text())['cwd'] == str((tmp_path/'o').resolve())

def test_every_summary_has_a_warnings_list(tmp_path):
    "a template that records no warning still writes `warnings: []` (the bundle and users can rely on the key)"
    from riskbench import report
    r = report.run_template(_template(tmp_path/'t.ipynb', ['from riskbench.report import record\nrecord(n=n)']), {}, tmp_path/'o')
    assert r.ok and json.loads((tmp_path/'o'/'summary.json').read_text())['warnings'] == []
