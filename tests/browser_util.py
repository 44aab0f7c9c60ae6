"""Helpers for the browser tests: find the system's Chromium, drive it with Playwright, watch what a page
does (console errors, uncaught exceptions, requests), and run a throw-away JupyterLab server.

Browser builds cannot be downloaded on CI, so Playwright launches the system's Chromium (Debian's
`chromium` package, installed by `make browser`). Tests skip, with the reason, only when no Chromium
can be found; a Chromium that is found but fails to start is a failure."""
import os, re, sys, json, time, shutil, socket, secrets, subprocess, urllib.parse, urllib.request, urllib.error
from pathlib import Path
import pytest

CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']
LOCAL_SCHEMES = ('file:', 'data:', 'blob:', 'about:')  # requests that never leave the machine

def find_chromium()->str|None:
    "Path of a Chromium executable: $RISKBENCH_CHROMIUM, then chromium / chromium-browser on PATH, then /usr/bin/chromium"
    env = os.environ.get('RISKBENCH_CHROMIUM')
    if env:
        p = shutil.which(env) or env
        return p if os.path.isfile(p) and os.access(p, os.X_OK) else None
    for name in ('chromium', 'chromium-browser'):
        if p := shutil.which(name): return p
    return '/usr/bin/chromium' if os.access('/usr/bin/chromium', os.X_OK) else None

NO_CHROMIUM = ("no Chromium found (looked at $RISKBENCH_CHROMIUM, chromium and chromium-browser on PATH, /usr/bin/chromium): "
               "browser tests skipped; `make browser` installs Debian's chromium")

@pytest.fixture(scope='module')
def browser():
    "A headless Chromium (fresh temporary profile) driven by Playwright; skips when no Chromium exists"
    exe = find_chromium()
    if exe is None:
        if os.environ.get('RISKBENCH_REQUIRE_BROWSER'): pytest.fail(NO_CHROMIUM + ', but RISKBENCH_REQUIRE_BROWSER is set')
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, timeout=60_000)
        try: yield b
        finally: b.close()

class PageWatch:
    "Records what a page does: console errors, uncaught exceptions, every request; aborts requests that would leave the machine"
    def __init__(self, page, allow=None):
        self.page, self.allow = page, allow or (lambda url: url.startswith(LOCAL_SCHEMES))
        self.console_errors, self.page_errors, self.requests, self.blocked = [], [], [], []
        page.on('console', lambda m: self.console_errors.append(f"{m.text} ({m.location.get('url', '')})") if m.type == 'error' else None)
        page.on('pageerror', lambda e: self.page_errors.append(str(e)))
        page.on('request', lambda r: self.requests.append(r.url))
        page.route('**/*', self._route)

    def _route(self, route):
        url = route.request.url
        if self.allow(url): route.continue_()
        else:
            self.blocked.append(url)
            route.abort('blockedbyclient')

    def outside(self)->list:
        "Requests (seen or aborted) to anything but the allowed local URLs"
        return sorted({u for u in self.requests + self.blocked if not self.allow(u)})

    def clear(self):
        for l in (self.console_errors, self.page_errors, self.requests, self.blocked): l.clear()

    def problems(self)->list:
        "Console errors, uncaught exceptions and outside requests, as readable lines"
        return ([f'console error: {m}' for m in self.console_errors] + [f'uncaught exception: {e}' for e in self.page_errors]
                + [f'request leaving the machine: {u}' for u in self.outside()])

# JavaScript run in a report page: the state of every plotly placeholder
FIGURES_JS = """() => [...document.querySelectorAll('.rb-plotly')].map(gd => ({
  id: gd.id, drawn: gd.getAttribute('data-drawn'), svg: gd.querySelectorAll('.main-svg').length,
  traces: (gd.data || []).length, shown: (gd._fullData || []).filter(t => t.visible !== false).length,
  marks: gd.querySelectorAll('.trace, .hm, .pielayer .slice, .imagelayer image, .table-control-view').length,
  text: gd.textContent.slice(0, 200)}))"""

def figure_problems(page)->list:
    "Plotly placeholders that did not draw their data (JSON blocks without a div, divs not drawn, empty plots)"
    out = []
    n_data = page.locator('script.rb-plotly-data').count()
    figs = page.evaluate(FIGURES_JS)
    if n_data != len(figs): out.append(f'{n_data} figure data blocks but {len(figs)} figure divs')
    for f in figs:
        if f['drawn'] != '1' or not f['svg']: out.append(f"figure {f['id']} not drawn: {f['text']!r}")
        elif not (f['traces'] and f['shown'] and f['marks']): out.append(f"figure {f['id']} drew no data: {f}")
    return out

def wait_for_figures(page, timeout_ms:int=20_000):
    "Wait until every plotly placeholder is marked drawn and holds an svg (or the time is up)"
    if not page.locator('.rb-plotly').count(): return
    try:
        page.wait_for_function("() => [...document.querySelectorAll('.rb-plotly')].every("
                               "d => d.getAttribute('data-drawn') === '1' && d.querySelector('.main-svg'))", timeout=timeout_ms)
    except Exception: pass  # figure_problems says which ones

def open_page(browser, timeout_ms:int=20_000):
    "A fresh context (no service workers) and page, watched from its first request: (context, page, PageWatch)"
    ctx = browser.new_context(service_workers='block')
    page = ctx.new_page()
    page.set_default_timeout(timeout_ms)
    return ctx, page, PageWatch(page)

def report_page_problems(page, watch)->list:
    "Everything wrong with a loaded riskbench page: console errors, exceptions, outside requests, figures, CSP, planted code that ran"
    out = watch.problems() + figure_problems(page)
    csp = page.locator('meta[http-equiv="Content-Security-Policy"]')
    if csp.count() != 1: out.append(f'{csp.count()} Content-Security-Policy meta tags (expected 1)')
    else:
        c = csp.get_attribute('content') or ''
        if "default-src 'none'" not in c: out.append(f"CSP does not start from default-src 'none': {c}")
        if re.search(r"script-src[^;]*('unsafe-inline'|'unsafe-eval'|\*|https?:)", c): out.append(f'CSP lets other scripts run: {c}')
    if page.evaluate('typeof window.__pwned') != 'undefined': out.append('planted script ran: window.__pwned is set')
    if page.locator('img[src="x"]').count(): out.append('planted <img> became an element')
    return out

def planted_problems(page, planted:list)->list:
    "Planted texts that do not appear, as text, in the page"
    text = page.inner_text('body')
    return [f'planted text not shown as text: {p}' for p in planted if p not in text]

def check_site(browser, index:Path, must_link=(), extra=(), planted=None)->tuple:
    """Open `index` from disk and every page it links (plus `extra` pages); `must_link`: pages the index must link;
    `planted`: {page: texts that must show as text}. Returns ({page: problems}, {page: number of plotly figures})"""
    planted = {Path(k).resolve().as_uri(): v for k, v in (planted or {}).items()}
    ctx, page, watch = open_page(browser)
    problems, figures = {}, {}
    def check(url):
        watch.clear()
        page.goto(url, wait_until='load')
        wait_for_figures(page)
        problems[url] = report_page_problems(page, watch) + (planted_problems(page, planted[url]) if url in planted else [])
        figures[url] = page.locator('.rb-plotly').count()
    try:
        check(index.resolve().as_uri())
        hrefs = page.eval_on_selector_all('a[href]', 'els => els.map(e => e.getAttribute("href"))')
        linked = {urllib.parse.urljoin(page.url, h).split('#')[0] for h in hrefs}
        missing = sorted(p.resolve().as_uri() for p in map(Path, must_link) if p.resolve().as_uri() not in linked)
        if missing: problems[index.resolve().as_uri()].append(f'index does not link: {missing}')
        pages = sorted({u for u in linked if u.endswith('.html')} | {Path(p).resolve().as_uri() for p in extra})
        for url in pages:
            path = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))
            if not url.startswith('file://') or not path.exists(): problems[url] = [f'broken link: {url}']; continue
            check(url)
    finally: ctx.close()
    return ({urllib.parse.unquote(urllib.parse.urlparse(k).path): v for k, v in problems.items()},
            {urllib.parse.unquote(urllib.parse.urlparse(k).path): v for k, v in figures.items()})

def free_port()->int:
    "A TCP port free on the loopback interface right now"
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def _children(pid:int)->list:
    "The direct children of `pid` (the kernels a server started), as psutil processes (they detect pid reuse)"
    try:
        import psutil
        return psutil.Process(pid).children()
    except Exception: return []

class JupyterLab:
    "A JupyterLab server on a free loopback port with a random token, config/data/runtime dirs under `home`"
    def __init__(self, root:Path, home:Path, start_timeout:float=90):
        self.root, self.home, self.start_timeout = Path(root), Path(home), start_timeout
        self.port, self.token, self.proc, self.kernels = free_port(), secrets.token_hex(24), None, []
        self.log = self.home/'jupyterlab.log'

    @property
    def base(self)->str: return f'http://127.0.0.1:{self.port}'

    def url(self, path:str)->str:
        "URL of `path` in the lab (e.g. lab/tree/x.ipynb), with the token"
        return f"{self.base}/{path.lstrip('/')}?token={self.token}"

    def env(self)->dict:
        h = self.home
        env = {k: v for k, v in os.environ.items() if k not in ('IN_TEST', 'PAPERMILL', 'RISKBENCH_OUT', 'JUPYTER_PATH', 'JUPYTER_CONFIG_PATH')}
        # labextensions (ipywidgets, anywidget, plotly) still come from <sys.prefix>/share/jupyter, which jupyter always searches
        env.update(JUPYTER_CONFIG_DIR=str(h/'config'), JUPYTER_DATA_DIR=str(h/'data'), JUPYTER_RUNTIME_DIR=str(h/'runtime'),
                   IPYTHONDIR=str(h/'ipython'), JUPYTERLAB_SETTINGS_DIR=str(h/'config'/'lab'/'user-settings'),
                   JUPYTERLAB_WORKSPACES_DIR=str(h/'data'/'lab'/'workspaces'), MPLBACKEND='Agg')
        return env

    def _settings(self):
        "User settings: no news or update checks (they would call out), no autosave, start the notebook's kernel without asking, every cell rendered (no windowing)"
        us = self.home/'config'/'lab'/'user-settings'/'@jupyterlab'
        for rel, val in {'apputils-extension/notification.jupyterlab-settings': {'fetchNews': 'false', 'checkForUpdates': False},
                         'docmanager-extension/plugin.jupyterlab-settings': {'autosave': False},
                         'notebook-extension/tracker.jupyterlab-settings': {'autoStartDefaultKernel': True, 'windowingMode': 'none'}}.items():
            (us/rel).parent.mkdir(parents=True, exist_ok=True)
            (us/rel).write_text(json.dumps(val))

    def start(self):
        for d in ('config', 'data', 'runtime', 'ipython'): (self.home/d).mkdir(parents=True, exist_ok=True)
        self._settings()
        cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={self.port}',
               '--ServerApp.port_retries=0', f'--IdentityProvider.token={self.token}', f'--ServerApp.root_dir={self.root}',
               '--ServerApp.terminals_enabled=False', '--LabApp.news_url=None',
               '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.extension_manager=readonly']
        if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')  # CI containers run as root
        self._logf = open(self.log, 'wb')
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env(), stdout=self._logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f'jupyter lab exited with {self.proc.returncode} before answering:\n{self.log_tail()}')
            try:
                self.api('api/status', timeout=2)
                return self
            except (urllib.error.URLError, ConnectionError, OSError): time.sleep(0.25)
        raise RuntimeError(f'jupyter lab did not answer on {self.base} within {self.start_timeout:.0f}s:\n{self.log_tail()}')

    def api(self, path:str, method:str='GET', timeout:float=10):
        "Call the server's REST API with the token; the decoded JSON reply"
        req = urllib.request.Request(f'{self.base}/{path}', method=method, headers={'Authorization': f'token {self.token}'},
                                     data=b'' if method == 'POST' else None)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_tail(self, n:int=4000)->str:
        try: return self.log.read_text(errors='replace')[-n:]
        except OSError: return ''

    def stop(self):
        "Shut the server down (kernels too): the API first, then SIGTERM, then SIGKILL, each bounded"
        if self.proc is None: return
        if self.proc.poll() is None:
            self.kernels = _children(self.proc.pid)
            try: self.api('api/shutdown', 'POST', timeout=5)
            except Exception: pass
            try: self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try: self.proc.wait(10)
                except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait(10)
        for k in self.kernels:  # kernels this server started that outlived it
            try:
                if k.is_running(): k.kill()
            except Exception: pass
        self._logf.close()
        self.proc = None

# ---- driving JupyterLab (4.x) ----

def run_all_cells(page, timeout_ms:int=60_000):
    "Wait for the open notebook's kernel, then Run > Run All Cells"
    import re
    from playwright.sync_api import expect
    page.locator('.jp-NotebookPanel .jp-Cell').first.wait_for(timeout=timeout_ms)
    ready = page.locator('.jp-StatusBar-TextItem, .jp-Dialog').filter(has_text=re.compile(r'Idle|Select Kernel'))
    ready.first.wait_for(timeout=timeout_ms)
    dialog = page.locator('.jp-Dialog', has_text='Select Kernel')  # in case the preferred kernel did not start by itself
    if dialog.count(): dialog.get_by_role('button', name='Select').click()
    expect(page.locator('.jp-StatusBar-TextItem', has_text='Idle')).to_have_count(1, timeout=timeout_ms)
    page.locator('.lm-MenuBar-itemLabel', has_text=re.compile(r'^Run$')).click()
    page.locator('.lm-Menu .lm-Menu-itemLabel', has_text=re.compile(r'^Run All Cells$')).click()

def wait_for_output(page, selector:str, timeout_s:float=120):
    "The output area holding `selector`; fails early with the traceback when a cell raises"
    out = page.locator('.jp-OutputArea-output', has=page.locator(selector))
    errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    deadline = time.monotonic() + timeout_s
    while not out.count():
        tb = [e for e in errors.all_inner_texts() if 'Traceback' in e or 'Error' in e]
        assert not tb, 'a notebook cell failed:\n' + '\n'.join(tb)[-3000:]
        assert time.monotonic() < deadline, (f'no {selector} after {timeout_s:.0f}s; outputs so far:\n'
                                             + '\n'.join(page.locator('.jp-OutputArea-output').all_inner_texts())[-3000:])
        page.wait_for_timeout(500)
    return out.first
