"""The threshold tuner in JupyterLab, in a real browser (Chromium driven by Playwright), left untouched: the browser
rounds each slider to its step and sends the value back, and the tuner must not take that echo for a move. Exported
untouched, the policy keeps the objective that chose it (not `manual`) and holds exactly the numbers the tuner shows.

Skips, with the reason, only when no Chromium exists (see browser_util.find_chromium)."""
import json, re, time
from pathlib import Path
import numpy as np, pandas as pd, pytest
from browser_util import browser, JupyterLab, run_all_cells, wait_for_output

SETUP = '''import pandas as pd
from riskbench.tuner import ThresholdTuner
scores = pd.read_parquet('scores.parquet')
tuner = ThresholdTuner(scores, objective='max-recall-at-fpr', target_fpr=0.05, prevalence=0.4393, by='language',
                       min_support=20, out='policy.json', n_boot=100, static=False)
print(f'chosen {tuner.threshold!r} prevalence {tuner.prevalence!r}')
tuner.widget()'''


def scores_table(n=900, seed=6)->pd.DataFrame:
    "Synthetic guard scores with 4 decimals (the chosen threshold off the slider's 0.001 grid), three languages"
    r = np.random.default_rng(seed)
    y = (r.random(n) < 0.4).astype(int)
    lang = r.choice(['en', 'fr', 'th'], n, p=[0.6, 0.3, 0.1])
    s = np.round(np.clip(r.normal(0.35 + 0.3 * y, 0.15), 0, 1), 4)
    return pd.DataFrame(dict(id=[f'r{i}' for i in range(n)], text=[f'prompt {i}' for i in range(n)], label=y, score=s,
                             language=lang))


def notebook(cells:list)->str:
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')
    return nbformat.writes(nb)


@pytest.fixture
def untouched_lab(tmp_path):
    "JupyterLab serving a notebook that shows the tuner on `scores.parquet`; shut down at the end"
    root = tmp_path/'notebooks'; root.mkdir()
    scores_table().to_parquet(root/'scores.parquet')
    (root/'untouched.ipynb').write_text(notebook([SETUP]), encoding='utf-8')
    server = JupyterLab(root, tmp_path/'jupyter')
    try:
        server.start()
        yield server
    finally: server.stop()


def _chosen(scores:pd.DataFrame, target_fpr:float)->float:
    "max-recall-at-fpr by scikit-learn: the highest threshold of best recall among those refusing at most target_fpr"
    from sklearn.metrics import roc_curve
    fpr, tpr, thr = roc_curve(scores.label, scores.score, drop_intermediate=False)
    ok = fpr <= target_fpr + 1e-12
    return float(thr[ok & (tpr == tpr[ok].max())].max())


def test_untouched_tuner_exports_what_it_shows(browser, untouched_lab, tmp_path):
    from playwright.sync_api import expect
    lab = untouched_lab
    ctx = browser.new_context(viewport={'width': 1600, 'height': 1000}, service_workers='block')
    page = ctx.new_page(); page.set_default_timeout(30_000)
    try:
        page.goto(lab.url('lab/tree/untouched.ipynb'), wait_until='domcontentloaded', timeout=60_000)
        run_all_cells(page)
        tuner = wait_for_output(page, '.widget-html.rb-metrics', timeout_s=120)
        metrics, confusion = tuner.locator('.widget-html.rb-metrics'), tuner.locator('.widget-html.rb-confusion')
        expect(confusion).to_contain_text('blocked')
        page.wait_for_timeout(3000)  # time for the browser to snap the sliders and send their values back
        shown_metrics, shown_confusion = metrics.inner_text(), confusion.inner_text()
        scores = pd.read_parquet(lab.root/'scores.parquet')
        t0 = _chosen(scores, 0.05)
        assert round(t0, 3) != t0, 'the chosen threshold must be off the slider grid for this test to mean anything'
        assert f'threshold {t0:.4f}' in shown_metrics, shown_metrics

        tuner.get_by_role('button', name='Export policy').click()   # nothing moved: export at once
        expect(tuner.locator('.rb-status')).to_contain_text('policy written to', timeout=60_000)
        pol = json.loads((lab.root/'policy.json').read_text())
        assert pol['objective'] == 'max-recall-at-fpr', pol['objective']
        assert pol['threshold'] == t0 and pol['prevalence'] == 0.4393, (pol['threshold'], pol['prevalence'])
        assert all(v['reason'] != 'set by hand in the tuner' for v in pol['groups']['values'].values())
        # the exported numbers are the ones on the screen, and both are the policy's own decisions counted directly
        own = {g: v['threshold'] for g, v in pol['groups']['values'].items() if not v['fallback']}
        hit = scores.score.to_numpy() >= scores.language.map(own).fillna(t0).to_numpy()
        unsafe = scores.label.to_numpy() == 1
        counts = [int((h & u).sum()) for h, u in ((hit, unsafe), (~hit, unsafe), (hit, ~unsafe), (~hit, ~unsafe))]
        assert [int(x.replace(',', '')) for x in re.findall(r'\d[\d,]*', shown_confusion)] == counts, shown_confusion
        for k in ('recall', 'fpr'):
            assert f"{pol['metrics'][k]['value']:.1%}" in shown_metrics, (k, pol['metrics'][k], shown_metrics)
        assert pol['metrics']['recall']['value'] == pytest.approx(counts[0] / unsafe.sum())
        assert pol['metrics']['fpr']['value'] == pytest.approx(counts[2] / (~unsafe).sum())
        assert metrics.inner_text() == shown_metrics  # and the display did not move while exporting
    except Exception:
        try: page.screenshot(path=tmp_path/'failure.png', full_page=True)
        except Exception: pass
        print('jupyter lab log (tail):\n' + lab.log_tail())
        raise
    finally: ctx.close()


CATEGORY_SETUP = '''import pandas as pd
from riskbench.tuner import ThresholdTuner
scores = pd.read_parquet('scores.parquet')
tuner = ThresholdTuner(scores, by='category', min_support=1, out='policy.json', n_boot=50, static=False)
tuner.widget()'''

FIGURES_JS = """els => els.map(gd => ({title: ((gd.layout || {}).title || {}).text || '',
  x: (gd.data || []).map(t => Array.from(t.x || []))}))"""


def category_table(n=600, seed=7)->pd.DataFrame:
    "Synthetic scores whose unsafe rows carry S1, S2, S9 or S10: plain text order would list S1, S10, S2, S9"
    r = np.random.default_rng(seed)
    y = (r.random(n) < 0.5).astype(int)
    cat = r.choice(['S10', 'S2', 'S9', 'S1'], n)
    s = np.round(np.clip(r.normal(0.35 + 0.3 * y, 0.15), 0, 1), 4)
    return pd.DataFrame(dict(id=[f'r{i}' for i in range(n)], text=[f'prompt {i}' for i in range(n)], label=y, score=s,
                             categories=[[c] if l else [] for c, l in zip(cat, y)]))


@pytest.fixture
def category_lab(tmp_path):
    root = tmp_path/'notebooks'; root.mkdir()
    category_table().to_parquet(root/'scores.parquet')
    (root/'categories.ipynb').write_text(notebook([CATEGORY_SETUP]), encoding='utf-8')
    server = JupyterLab(root, tmp_path/'jupyter')
    try:
        server.start()
        yield server
    finally: server.stop()


def test_categories_in_natural_order_and_export_success_and_error_look_different(browser, category_lab, tmp_path):
    "Group sliders and the category bars read S1, S2, S9, S10; a mistyped folder is refused in red, a save is green"
    from playwright.sync_api import expect
    lab = category_lab
    ctx = browser.new_context(viewport={'width': 1600, 'height': 1000}, service_workers='block')
    page = ctx.new_page(); page.set_default_timeout(30_000)
    try:
        page.goto(lab.url('lab/tree/categories.ipynb'), wait_until='domcontentloaded', timeout=60_000)
        run_all_cells(page)
        tuner = wait_for_output(page, '.widget-html.rb-metrics', timeout_s=120)
        labels = [t.strip() for t in tuner.locator('.widget-slider label').all_inner_texts()]
        assert [l for l in labels if re.fullmatch(r'S\d+', l)] == ['S1', 'S2', 'S9', 'S10'], labels
        figs = tuner.locator('.js-plotly-plot')
        expect(figs).to_have_count(4, timeout=60_000)       # the four figures, drawn from one widget
        by = [f for f in figs.evaluate_all(FIGURES_JS) if f['title'].startswith('By ')]
        assert by and by[0]['x'][-1] == ['S1', 'S2', 'S9', 'S10'], by

        path = tuner.locator('.widget-text', has=page.locator('label', has_text='policy file')).locator('input')
        status = tuner.locator('.rb-status')
        path.fill('no-such-folder/policy.json'); path.press('Enter'); page.wait_for_timeout(500)
        tuner.get_by_role('button', name='Export policy').click()
        expect(status).to_contain_text('could not save', timeout=30_000)
        expect(status).to_contain_text('does not exist')
        err = status.locator('span.rb-error')
        expect(err).to_have_css('color', 'rgb(207, 34, 46)')  # retried: the status may be redrawn once more
        assert '✗' in err.inner_text() and not (lab.root/'no-such-folder').exists()

        path.fill('policy.json'); path.press('Enter'); page.wait_for_timeout(500)
        tuner.get_by_role('button', name='Export policy').click()
        expect(status).to_contain_text('saved to', timeout=60_000)
        ok = status.locator('span.rb-ok')
        expect(ok).to_have_css('color', 'rgb(26, 127, 55)')
        assert '✓' in ok.inner_text() and status.locator('span.rb-error').count() == 0
        pol = json.loads((lab.root/'policy.json').read_text())
        assert list(pol['groups']['values']) == ['S1', 'S2', 'S9', 'S10']
    except Exception:
        try: page.screenshot(path=tmp_path/'failure.png', full_page=True)
        except Exception: pass
        print('jupyter lab log (tail):\n' + lab.log_tail())
        raise
    finally: ctx.close()
