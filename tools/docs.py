"""Build riskbench's documentation site from the notebooks: `make docs` (or `python tools/docs.py --out DIR`).

Where Quarto is installed, this is `nbdev-docs`. Otherwise (Quarto cannot be installed everywhere) it is the same idea
with mkdocs-material and mkdocs-jupyter: each notebook goes through nbdev's own processors (`#| hide` cells and export
directives dropped, a `show_doc` entry after every exported definition), the `show_doc` entries are rendered from the
generated modules into markdown (the API reference: signature, docments, docstring), backticked names become links to
their entries, and mkdocs builds a static site with search: the README's notebook (`index.ipynb`) as the home page, a
page per module. Nothing is executed: pages show the outputs saved in the notebooks."""
import argparse, html, importlib, json, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_LINE = re.compile(r'^\[source\]\(.*$\n?', re.M)  # nbdev's link to a code host this project does not name
WIDGET = 'application/vnd.jupyter.widget-view+json'
DEFAULT_EXP = re.compile(r'^\s*#\|\s*default_exp\s+(\S+)', re.M)
TICKED = re.compile(r'(?<![\w`\[])`((?:riskbench\.)?[A-Za-z_][\w.]*)`(?![\w`\]])')

def page_name(nb_path:Path)->str:
    "The page a notebook becomes: its module's name (`core`), `index` for the README's notebook"
    cells = json.loads(nb_path.read_text(encoding='utf-8'))['cells']
    m = DEFAULT_EXP.search('\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'code'))
    return m.group(1).replace('.', '/') if m else nb_path.stem

def notebooks(nbs:Path)->list:
    "(page name, notebook path) for every notebook in `nbs`, the index first, then in file order"
    nbs_ = sorted(p for p in nbs.glob('*.ipynb') if not p.name.startswith(('.', '_')))
    return sorted(((page_name(p), p) for p in nbs_), key=lambda x: (x[0] != 'index', x[1].name))

def symbol_index(entries:dict)->dict:
    "Name -> page.html#anchor of every API entry ({page: [names]}): `mod.name`, `riskbench.mod.name`, `name` if unique"
    full, short = {}, {}
    for page, names in entries.items():
        for name in names:
            anchor = f"{page}.html#{name}"
            for k in (f'{page}.{name}', f'riskbench.{page}.{name}'): full[k] = anchor
            short.setdefault(name, set()).add(anchor)
    return {**{k: next(iter(v)) for k, v in short.items() if len(v) == 1}, **full}

def _show_doc_markdown(name:str, module)->str|None:
    "The markdown API entry of `name` (evaluated in `module`), its heading's id the name; None when it cannot be found"
    from nbdev.showdoc import show_doc
    try: obj = eval(name, vars(module))
    except Exception: return None
    md = SOURCE_LINE.sub('', show_doc(obj, name=name)._repr_markdown_()).lstrip('-\n ')
    head = lambda m: f'<h3 id="{name}" class="rb-api-entry">{html.escape(m.group(1))}</h3>'
    return re.sub(r'^#{2,4} (.+)$', head, md, count=1, flags=re.M)

def _linkify(text:str, links:dict, page:str)->str:
    "Backticked riskbench names in markdown (outside code blocks) as links to their API entries"
    parts = re.split(r'(```.*?```)', text, flags=re.S)
    def link(m):
        target = links.get(m.group(1))
        if not target: return m.group(0)
        if target.startswith(page + '.html#'): target = target[len(page) + 5:]
        return f'[`{m.group(1)}`]({target})'
    heading = lambda p: re.split(r'(^#.*$)', p, flags=re.M)  # headings keep their text: their ids come from it
    return ''.join(p if p.startswith('```') else
                   ''.join(h if h.startswith('#') else TICKED.sub(link, h) for h in heading(p)) for p in parts)

def process_notebook(path:Path)->tuple:
    "A notebook ready for the site (nbdev's processors, show_doc entries rendered, no directives), its entries' names"
    from fastcore.nbio import read_nb
    from nbdev.process import NBProcessor
    from nbdev import processors as P
    nb = read_nb(path)
    mod = DEFAULT_EXP.search('\n'.join(c.source for c in nb.cells if c.cell_type == 'code'))
    module = importlib.import_module(f'riskbench.{mod.group(1)}') if mod else None
    names = []

    def render_show_docs(cell):
        "show_doc(NAME) cells as markdown cells holding the rendered entry"
        m = re.fullmatch(r'\s*show_doc\(([\w.]+)\)\s*', cell.source) if cell.cell_type == 'code' else None
        if not m: return
        md = _show_doc_markdown(m.group(1), module) if module else None
        if md is None: del cell['source']; return
        cell.cell_type, cell.source, cell.metadata = 'markdown', md, {}
        names.append(m.group(1))
        for k in ('outputs', 'execution_count'): cell.pop(k, None)

    def finish(cell):
        cell.pop('directives_', None); cell.pop('idx_', None)

    procs = [P.populate_language, P.add_show_docs, P.strip_ansi, P.hide_line, P.filter_stream_, P.rm_header_dash,
             render_show_docs, P.rm_export, P.clean_magics, P.hide_, P.strip_hidden_metadata, finish]
    NBProcessor(nb=nb, procs=procs, rm_directives=True).process()
    nb.metadata.pop('widgets', None)  # saved widget state would make the page fetch a widget manager from a CDN
    for c in nb.cells:
        for o in c.get('outputs', []):
            if 'data' in o and WIDGET in o['data'] and len(o['data']) > 1: o['data'].pop(WIDGET)
    return nb, names

def prepare(src:Path, nbs:Path=ROOT/'nbs')->list:
    "Write the processed notebooks into `src` (emptied first), backticked names linked to their entries; the nav"
    from fastcore.nbio import write_nb
    if src.exists(): shutil.rmtree(src)
    src.mkdir(parents=True)
    done = {page: process_notebook(path) for page, path in notebooks(nbs)}
    links = symbol_index({page: names for page, (_, names) in done.items()})
    for page, (nb, _) in done.items():
        for c in nb.cells:
            if c.cell_type == 'markdown' and 'rb-api-entry' not in c.source: c.source = _linkify(c.source, links, page)
        (src/f'{page}.ipynb').parent.mkdir(parents=True, exist_ok=True)
        write_nb(nb, src/f'{page}.ipynb')
    return [('Home' if page == 'index' else page, f'{page}.ipynb') for page in done]

def fix_toc(site:Path)->int:
    """Point each page's table of contents (and the search index) at the ids its section headings really have: mkdocs
    makes the TOC's anchors from the markdown, nbconvert the headings' ids from the rendered text, and the two differ
    where a heading holds code. Returns the number of anchors changed"""
    moved, index = {}, site/'search'/'search_index.json'
    for f in sorted(site.glob('*.html')):
        page = f.read_text(encoding='utf-8')
        start = page.find('<article')
        heads = re.findall(r'<h2 id="([^"]+)"', page[start:]) if start >= 0 else []
        toc = list(dict.fromkeys(re.findall(r'<a href="#([^"]+)" class="md-nav__link', page)))
        if len(heads) != len(toc): continue  # not the same sections: leave it (tests/test_docs.py finds such links)
        fix = {t: h for t, h in zip(toc, heads) if t != h}
        if not fix: continue
        moved_href = lambda m: f'href="#{fix.get(m.group(1), m.group(1))}"'
        page = re.sub(r'href="#([^"]+)"(?= class="md-nav__link)', moved_href, page)
        f.write_text(page, encoding='utf-8')
        moved.update({f'{f.name}#{t}': f'{f.name}#{h}' for t, h in fix.items()})
    if moved and index.exists():
        d = json.loads(index.read_text(encoding='utf-8'))
        for doc in d['docs']: doc['location'] = moved.get(doc['location'], doc['location'])
        index.write_text(json.dumps(d), encoding='utf-8')
    return len(moved)

def build(out:Path=ROOT/'_docs', src:Path=ROOT/'_docs_src', config:Path=ROOT/'mkdocs.yml', quiet:bool=True)->Path:
    "Build the site into `out` from the notebooks (processed into `src`); the site's folder"
    import logging
    from mkdocs.config import load_config
    from mkdocs.commands.build import build as mk_build
    nav = prepare(Path(src))
    cfg = load_config(str(config), docs_dir=str(Path(src).resolve()), site_dir=str(Path(out).resolve()),
                      nav=[{t: f} for t, f in nav])
    for p in cfg.plugins.values():  # mkdocs-jupyter's cache lives beside the processed notebooks, not in the checkout
        if hasattr(p, 'config') and 'cache_dir' in p.config: p.config['cache_dir'] = str(Path(src).resolve()/'.cache')
    if quiet: logging.getLogger('mkdocs').setLevel(logging.WARNING)
    mk_build(cfg)
    fix_toc(Path(out))
    return Path(out)

def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(ROOT/'_docs'), help='the site folder (default: _docs)')
    ap.add_argument('--src', default=str(ROOT/'_docs_src'), help='the processed notebooks (default: _docs_src)')
    ap.add_argument('--mkdocs', action='store_true', help='use mkdocs even where Quarto is installed')
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    if shutil.which('quarto') and not a.mkdocs:
        return subprocess.call([str(Path(sys.executable).parent/'nbdev-docs')], cwd=ROOT)
    site = build(Path(a.out), Path(a.src))
    print(f'docs: {site}/index.html ({len(list(site.rglob("*.html")))} pages) in {time.perf_counter() - t0:.1f}s')
    return 0

if __name__ == '__main__': sys.exit(main())
