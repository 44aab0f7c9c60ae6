"""The docs site (`make docs`, tools/docs.py): built from the notebooks into a temporary folder, served on 127.0.0.1,
and read in a real browser (Chromium driven by Playwright): a page per module reached from the nav, the README's
notebook as the home page, every internal link and anchor resolving, `load_eval_set`'s API entry with its
signature and docments, and the search box finding a term.

The browser tests skip, with the reason, only when no Chromium exists (see browser_util.find_chromium)."""
import functools, html, http.server, inspect, re, subprocess, sys, threading, time, urllib.parse, urllib.request
from pathlib import Path
import pytest
from conftest import ROOT
from browser_util import browser, PageWatch, LOCAL_SCHEMES

sys.path.insert(0, str(ROOT/'tools'))
import docs  # noqa: E402

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site built by the command `make docs` runs (mkdocs forced, as where Quarto is missing), in a temporary folder"
    tmp = tmp_path_factory.mktemp('docs')
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py'), '--mkdocs', '--out', str(tmp/'site'),
                        '--src', str(tmp/'src')], capture_output=True, text=True, timeout=600, cwd=tmp)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    print(f'docs built in {time.perf_counter() - t0:.1f}s')
    return tmp/'site'

@pytest.fixture(scope='module')
def server(site):
    "A static http server on 127.0.0.1 serving the site; its base URL"
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True); t.start()
    try: yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    finally: httpd.shutdown(); httpd.server_close()

def _open(browser, server:str):
    "A fresh context and page whose requests may go to the site's server only: (context, page, PageWatch)"
    ctx = browser.new_context(viewport={'width': 1400, 'height': 900}, service_workers='block')
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    return ctx, page, PageWatch(page, allow=lambda u: u.startswith(server) or u.startswith(LOCAL_SCHEMES))

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

def _pages()->dict:
    "Page name -> notebook, from the notebooks themselves"
    return dict(docs.notebooks(ROOT/'nbs'))

def test_a_page_per_notebook_and_working_links(site):
    "Every notebook has its page; every relative link and #anchor on every page resolves to a file and an element id"
    pages = _pages()
    assert 'index' in pages and pages['index'].name == 'index.ipynb'
    assert {p.stem for p in site.glob('*.html')} >= set(pages) | {'404'}, sorted(p.name for p in site.glob('*.html'))
    ids, bad = {}, []
    def ids_of(f:Path)->set:
        if f not in ids: ids[f] = set(re.findall(r'\sid="([^"]+)"', f.read_text(encoding='utf-8')))
        return ids[f]
    for f in sorted(site.glob('*.html')):
        for href in re.findall(r'<a\s[^>]*href="([^"]*)"', f.read_text(encoding='utf-8')):
            href = html.unescape(href)
            if not href or re.match(r'^[a-z]+:', href): continue  # outside links (the theme's credit line)
            path, _, frag = href.partition('#')
            base = site if path.startswith('/') else f.parent  # 404.html links from the site's root
            target = (base/urllib.parse.unquote(path.lstrip('/'))).resolve() if path else f
            if target.is_dir(): target = target/'index.html'
            if not target.is_file(): bad.append(f'{f.name}: {href}: no such page'); continue
            if frag and target.suffix == '.html' and urllib.parse.unquote(frag) not in ids_of(target):
                bad.append(f'{f.name}: {href}: no element with that id')
    assert not bad, '\n'.join(bad[:40])

def test_the_home_page_is_the_readme_and_the_nav_reaches_every_module(browser, server):
    ctx, page, watch = _open(browser, server)
    try:
        r = page.goto(server, wait_until='load')
        assert r.status == 200
        readme_h1 = re.search(r'^#\s+(.+)$', (ROOT/'README.md').read_text(encoding='utf-8'), re.M).group(1).strip()
        assert readme_h1 in page.locator('article').inner_text(), 'the home page is not the README'
        hrefs = page.eval_on_selector_all('nav.md-nav--primary a.md-nav__link[href]', 'els => els.map(e => e.href)')
        linked = {urllib.parse.urlparse(h).path.rsplit('/', 1)[-1].removesuffix('.html') for h in hrefs if '#' not in h}
        assert linked >= set(_pages()), f'nav lacks {sorted(set(_pages()) - linked)}'
        for name in sorted(set(_pages()) - {'index'}):
            r = page.goto(urllib.parse.urljoin(server, f'{name}.html'), wait_until='load')
            assert r.status == 200, (name, r.status)
            h1 = page.locator('article h1').first.inner_text()
            assert name in h1, (name, h1)
            assert not page.locator('.jp-Cell-inputArea pre', has_text=re.compile(r'^\s*#\|')).count(), name
        assert not watch.page_errors and not watch.outside(), (watch.page_errors, watch.outside())
    finally: ctx.close()

def test_api_reference_of_load_eval_set(browser, server):
    "The entry shows the signature with each parameter's docment, then the docstring; its exported code is not shown"
    from fastcore.docments import docments
    from riskbench.core import load_eval_set
    ctx, page, watch = _open(browser, server)
    try:
        page.goto(urllib.parse.urljoin(server, 'core.html#load_eval_set'), wait_until='load')
        entry = page.locator('#load_eval_set').locator('xpath=ancestor::div[contains(@class, "jp-Cell")][1]')
        text, article = entry.inner_text(), page.locator('article').inner_text()
    finally: ctx.close()
    assert 'def load_eval_set(' in text, text[:500]
    for name, doc in docments(load_eval_set).items():
        if name == 'return': continue
        assert re.search(rf'{name}:[^\n]*# {re.escape(doc)}', text), (name, doc, text[:1500])
    assert inspect.getdoc(load_eval_set).splitlines()[0].replace('`', '') in text.replace('`', '')
    src = inspect.getsource(load_eval_set).splitlines()
    doc_line = next(i for i, l in enumerate(src) if l.strip().startswith('"'))
    body = next(l.strip() for l in src[doc_line + 1:] if l.strip())
    assert len(body) > 10 and body not in article, f'the exported code should not be on the page: {body}'

def test_search_finds_a_term(browser, server):
    "Typing a term into the search box lists the pages that hold it; the first result opens a page that says it"
    term = 'Wilson'
    ctx, page, watch = _open(browser, server)
    try:
        page.goto(server, wait_until='load')
        box = page.locator('input.md-search__input')
        box.click()
        box.press_sequentially(term, delay=50)
        results = page.locator('.md-search-result__item a')
        results.first.wait_for(timeout=30_000)
        meta = page.locator('.md-search-result__meta').inner_text()
        hrefs = results.evaluate_all('els => els.map(e => e.href)')
        first = hrefs[0]
        page.goto(first, wait_until='load')
        body = page.locator('article').inner_text()
    finally: ctx.close()
    assert re.search(r'\d+ matching document', meta), meta
    assert all(h.startswith(server) for h in hrefs), hrefs
    assert term.lower() in body.lower(), (first, body[:500])
