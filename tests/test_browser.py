"""In a real browser (Chromium driven by Playwright): an assessment bundle opens from disk cleanly, text planted in a
dataset shows as text and runs nothing, and the threshold tuner works in JupyterLab.

Skips, with the reason, only when no Chromium exists (see browser_util.find_chromium)."""
import os, json, re, shutil, time
from pathlib import Path
import pytest
from browser_util import (browser, PageWatch, JupyterLab, open_page, report_page_problems, planted_problems, check_site,
                          run_all_cells, wait_for_output)

HERE = Path(__file__).resolve().parent
PLANTED = ['<script>window.__pwned=1</script>', "<img src=x onerror='window.__pwned=1'>"]

# ---------------------------------------------------------------- reports opened from disk

CARD = 'bundled:usecases/customer_support.yaml'

def planted_eval_set(folder:Path)->Path:
    """A stratified 25% sample of the bundled eval set (every language and label kept) with the hostile texts planted
    twice: as valid rows (scored, measured, sampled into examples) and as rows with a bad label, which every report that
    loads the set must list among its rejected rows, raw record and all"""
    import pandas as pd
    from riskbench.core import resolve_input
    df = pd.read_json(resolve_input('bundled:demo_prompts.jsonl', 'eval set'), lines=True)
    df = df.groupby(['language', 'label']).sample(frac=0.25, random_state=0)
    planted = pd.DataFrame([dict(id='planted-0', text=PLANTED[0], label=0, categories=[], language='en'),
                            dict(id='planted-1', text=PLANTED[1], label=1, categories=['S14'], language='en'),
                            dict(id='planted-2', text=PLANTED[0], label='maybe', categories=[], language='en'),
                            dict(id='planted-3', text=PLANTED[1], label='maybe', categories=[], language='en')])
    rows = pd.concat([planted, df], ignore_index=True).to_dict('records')
    p = folder/'planted.jsonl'  # json.dumps, not pandas: pandas writes '</script>' as '<\\/script>'
    p.write_text(''.join(json.dumps({k: v for k, v in r.items() if v is not None and v == v}, ensure_ascii=False) + '\n'
                         for r in rows), encoding='utf-8')
    return p

PLANTED_GUARD = 'python:planted_guard_rb:score'  # a guard whose service fails with hostile text in its error

@pytest.fixture(scope='module')
def bundle(tmp_path_factory):
    """`riskbench assess` on the planted eval set with the baseline guard and a guard that fails with hostile text (its parts
    become evidence_missing warnings on the index); plus the index re-rendered with a warning whose subject is hostile (built once)"""
    from riskbench.bundle import assess, overview_html
    from riskbench.core import evidence_warning, write_text
    tmp = tmp_path_factory.mktemp('bundle')
    (tmp/'planted_guard_rb.py').write_text(f"def score(texts):\n    raise RuntimeError({' '.join(PLANTED)!r})\n")
    t0 = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('RISKBENCH_CACHE_DIR', str(tmp/'cache'))  # the template kernels inherit it: no score cache outside tmp
        mp.syspath_prepend(str(tmp))
        b = assess(CARD, data=str(planted_eval_set(tmp)), finetune='bundled:demo_finetune.jsonl', guards=['baseline', PLANTED_GUARD],
                   out=tmp/'bundle', progress=False)
    print(f'bundle ({len(b["parts"])} parts) built in {time.perf_counter() - t0:.1f}s')
    hostile = evidence_warning('below_floor', f'recall in {PLANTED[0]} is below the floor', language=PLANTED[0], hazard=PLANTED[1], part=PLANTED[1])
    write_text(tmp/'bundle', 'planted_index.html', overview_html({**b, 'warnings': [hostile, *b['warnings']]}))
    return tmp/'bundle', b

def test_bundle_opens_cleanly(browser, bundle):
    """index.html and every report from disk: no console errors, nothing fetched from outside, every figure drawn, planted text inert,
    in the dataset's rows and in the evidence warnings shown first on the index (a failing guard's error, a warning's subject)"""
    from riskbench.bundle import guard_slug
    out, b = bundle
    slug = guard_slug(PLANTED_GUARD)
    not_ok = {n: p.get('error') for n, p in b['parts'].items() if p['status'] != 'ok'}
    assert set(not_ok) == {f'thresholds-{slug}', f'bias-{slug}', f'languages-{slug}', 'guard_comparison'}, f'bundle parts failed: {not_ok}'
    missing = {w['part'] for w in b['warnings'] if w['code'] == 'evidence_missing'}
    assert b['status'] == 'failed' and missing >= set(not_ok) | {f'scores:{slug}'}, missing
    reports = [out/n/'report.html' for n in b['parts'] if n not in not_ok]
    index, planted_index = out/'index.html', out/'planted_index.html'
    problems, seen = check_site(browser, index, must_link=reports, extra=[planted_index],
                                planted={out/'dataset_overview'/'report.html': PLANTED, index: PLANTED, planted_index: PLANTED})
    bad = {k: v for k, v in problems.items() if v}
    assert not bad, 'pages with problems:\n' + '\n'.join(f'{k}:\n  ' + '\n  '.join(v) for k, v in bad.items())
    assert len(seen) >= len(reports) + 2 and all(seen[str(r.resolve())] > 0 for r in reports), seen
    ctx, page, _ = open_page(browser)
    try:  # the warnings come first, then the parts with their status; the hostile subject reads as text in them
        page.goto(planted_index.resolve().as_uri(), wait_until='load')
        heads, warnings = page.locator('h2').all_inner_texts(), page.locator('.rb-warnings').inner_text()
    finally: ctx.close()
    assert heads[0].startswith('Evidence warnings') and heads[1] == 'Parts', heads
    assert all(p in warnings for p in PLANTED) and 'below_floor' in warnings and 'evidence_missing' in warnings, warnings
    print('pages checked (plotly figures on each):', {str(Path(k).relative_to(out)): v for k, v in seen.items()})

def test_watch_catches_what_it_should(browser):
    "The page checks can fail: an outside request, a console error, an exception, a running script and an undrawn figure are all caught"
    ctx, page, watch = open_page(browser)
    try:
        page.set_content('<img src="http://example.invalid/pixel.png"><div class="rb-plotly" id="f"></div>'
                         '<script type="application/json" class="rb-plotly-data" data-for="f">{}</script>' + PLANTED[1] +
                         '<script>console.error("boom"); setTimeout(() => { throw new Error("bang") })</script>')
        page.wait_for_timeout(300)
        found = '\n'.join(report_page_problems(page, watch) + planted_problems(page, PLANTED))
    finally: ctx.close()
    for want in ('example.invalid', 'console error: boom', 'uncaught exception: ', 'bang', 'window.__pwned is set', 'planted <img',
                 'figure f not drawn', 'Content-Security-Policy meta', 'planted text not shown as text: <script>'):
        assert want in found, f'{want!r} not caught in:\n{found}'

# ---------------------------------------------------------------- JupyterLab

@pytest.fixture
def lab(tmp_path):
    "JupyterLab on a free loopback port with a token, serving a folder holding a copy of the tuner notebook; shut down at the end"
    root = tmp_path/'notebooks'
    root.mkdir()
    shutil.copy(HERE/'notebooks'/'tuner_demo.ipynb', root)
    server = JupyterLab(root, tmp_path/'jupyter')
    try:
        server.start()
        yield server
    finally: server.stop()

def _cells(table_text:str)->dict:
    "Confusion-matrix counts from the readout's text"
    nums = [int(x.replace(',', '')) for x in re.findall(r'\d[\d,]*', table_text)]
    assert len(nums) == 4, f'confusion matrix readout: {table_text!r}'
    return dict(zip(('tp', 'fn', 'fp', 'tn'), nums))

def _counts(scores, t:float)->dict:
    "The confusion matrix at threshold `t`, counted directly from the score table (block when score >= t)"
    blocked, unsafe = scores.score >= t, scores.label == 1
    return dict(tp=int((blocked & unsafe).sum()), fn=int((~blocked & unsafe).sum()), fp=int((blocked & ~unsafe).sum()), tn=int((~blocked & ~unsafe).sum()))

TUNER_FIGURES_JS = """els => els.map(gd => ({title: ((gd.layout || {}).title || {}).text || '', traces: (gd.data || []).length,
  marks: gd.querySelectorAll('.trace').length, marker: gd.data && gd.data[1] && gd.data[1].x && [Array.from(gd.data[1].x)[0], Array.from(gd.data[1].y)[0]],
  line: (((gd.layout || {}).shapes || [])[0] || {}).x0}))"""

def test_tuner_in_jupyterlab(browser, lab, tmp_path):
    "Run the tuner notebook in JupyterLab, move the threshold, see the readouts and figures follow, export the policy"
    import pandas as pd
    from playwright.sync_api import expect
    ctx = browser.new_context(viewport={'width': 1600, 'height': 1000}, service_workers='block')
    page = ctx.new_page(); page.set_default_timeout(30_000)
    watch = PageWatch(page, allow=lambda u: u.startswith((lab.base + '/', 'data:', 'blob:', 'about:')))
    try:
        page.goto(lab.url('lab/tree/tuner_demo.ipynb'), wait_until='domcontentloaded', timeout=60_000)
        run_all_cells(page)
        tuner = wait_for_output(page, '.widget-html.rb-metrics', timeout_s=120)
        metrics, confusion = tuner.locator('.widget-html.rb-metrics'), tuner.locator('.widget-html.rb-confusion')
        slider = tuner.locator('.widget-slider', has=page.locator('label', has_text=re.compile(r'^threshold$'))).first
        readout = slider.locator('.widget-readout')
        expect(confusion).to_contain_text('blocked')
        scores = pd.read_parquet(lab.root/'scores.parquet')
        P, N = int((scores.label == 1).sum()), int((scores.label == 0).sum())
        figs = lambda: tuner.locator('.js-plotly-plot').evaluate_all(TUNER_FIGURES_JS)
        f0 = figs()
        assert len(f0) == 4 and all(f['traces'] and f['marks'] for f in f0), f'the tuner did not draw its 4 figures: {f0}'

        # the keyboard on the slider's handle: End moves it to the maximum (Home if it starts there)
        m0, c0, r0 = metrics.inner_text(), confusion.inner_text(), float(readout.inner_text())
        slider.locator('.noUi-handle').focus()
        page.keyboard.press('End' if r0 < 1 else 'Home')
        expect(metrics).not_to_have_text(m0, timeout=20_000)
        expect(confusion).not_to_have_text(c0, timeout=20_000)
        t1 = float(readout.inner_text())
        assert t1 in (0.0, 1.0) and t1 != r0, (r0, t1)
        expect(metrics).to_contain_text(f'threshold {t1:.4f}')
        assert _cells(confusion.inner_text()) == _counts(scores, t1)

        # a value typed into the slider's readout; readouts checked against a direct count of the scores
        readout.click(); page.keyboard.press('Control+A'); page.keyboard.type('0.5'); page.keyboard.press('Enter')
        expect(metrics).to_contain_text('threshold 0.5000', timeout=20_000)
        at5 = _counts(scores, 0.5)
        assert 0 < at5['tp'] < P and 0 < at5['fp'] < N, at5  # a threshold where every cell of the matrix is informative
        expect(confusion).to_contain_text(f"{at5['tp']:,}", timeout=20_000)
        assert _cells(confusion.inner_text()) == at5
        recall, fpr = at5['tp'] / P, at5['fp'] / N
        assert f'{recall:.1%}' in metrics.inner_text() and f'{fpr:.1%}' in metrics.inner_text(), (recall, fpr, metrics.inner_text())
        deadline = time.monotonic() + 20
        while True:  # the ROC point and the histogram's threshold line follow
            f = {x['title'].split(' ')[0]: x for x in figs()}
            roc_ok = f['ROC']['marker'] and f['ROC']['marker'][0] == pytest.approx(fpr) and f['ROC']['marker'][1] == pytest.approx(recall)
            if roc_ok and f['Scores']['line'] == pytest.approx(0.5): break
            assert time.monotonic() < deadline, f'figures did not follow the slider: {f}'
            page.wait_for_timeout(250)

        # export: the policy file appears next to the notebook
        policy = lab.root/'policy.json'
        assert not policy.exists()
        tuner.get_by_role('button', name='Export policy').click()
        expect(tuner.locator('.rb-status')).to_contain_text('policy written to', timeout=60_000)
        pol = json.loads(policy.read_text())
        assert pol['threshold'] == pytest.approx(0.5), pol['threshold']
        assert pol['metrics']['recall']['value'] == pytest.approx(recall) and pol['metrics']['fpr']['value'] == pytest.approx(fpr), pol['metrics']

        # screenshot of the whole tuner: a viewport tall enough to hold it, figures redrawn after the resize
        shot = tmp_path/'tuner.png'
        page.set_viewport_size({'width': 1600, 'height': int(min(tuner.bounding_box()['height'] + 300, 4000))})
        page.wait_for_timeout(500)
        tuner.scroll_into_view_if_needed()
        page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].every(gd => gd.data && gd.data.length && "
                               "gd.querySelectorAll('.trace').length === gd.data.length)", timeout=20_000)
        page.wait_for_timeout(500)
        tuner.screenshot(path=shot)
        assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
        if os.environ.get('RISKBENCH_BROWSER_OUT'):  # CI can keep it as an artifact
            Path(os.environ['RISKBENCH_BROWSER_OUT']).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(os.environ['RISKBENCH_BROWSER_OUT'])/'tuner.png')
        print(f'screenshot of the tuner: {shot}')
        assert not watch.outside(), f'JupyterLab made requests leaving the machine: {watch.outside()}'
    except Exception:
        try:
            page.screenshot(path=tmp_path/'failure.png', full_page=True)
            print(f'page at failure: {tmp_path/"failure.png"}')
        except Exception: pass
        print('jupyter lab log (tail):\n' + lab.log_tail())
        raise
    finally: ctx.close()

_GLYPHS_JS = """([font, pairs]) => pairs.map(([a, b]) => {
  const draw = ch => { const c = document.createElement('canvas'); c.width = 64; c.height = 64;
    const x = c.getContext('2d'); x.font = '40px ' + font; x.fillText(ch, 8, 48);
    return Array.from(x.getImageData(0, 0, 64, 64).data).join(','); };
  return draw(a) !== draw(b); })"""

def test_thai_and_devanagari_render_as_glyphs(browser):
    "With the fonts `make browser` installs, two different letters of each script draw differently (missing fonts draw the same box)"
    from riskbench.report import _CSS
    font = re.search(r'font-family:([^;]+);', _CSS).group(1)
    page = browser.new_page()
    try:
        page.set_content(f'<style>{_CSS}</style><p>ภาษาไทย हिन्दी</p>')
        pairs = [('ก', 'ข'), ('क', 'ख'), ('a', 'b')]
        got = page.evaluate(_GLYPHS_JS, [font, pairs])
    finally: page.close()
    assert got == [True, True, True], dict(zip(['Thai', 'Devanagari', 'Latin'], got))
