"""`riskbench lab`: the workspace it makes for a card (files, parameters read back by papermill's own parser), the
folders it refuses, a second run that keeps what the user changed, and the command itself serving the workspace to
JupyterLab, where Chromium runs the first notebook.

The browser test skips, with the reason, only when no Chromium exists (see browser_util.find_chromium)."""
import json, os, re, signal, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from conftest import riskbench, ROOT
from browser_util import browser, JupyterLab, run_all_cells

DEMO = ROOT/'datasets'/'demo_prompts.jsonl'
CARD = ROOT/'datasets'/'usecases'/'customer_support.yaml'
N_EVAL = 40

def _card(folder:Path, n:int=N_EVAL, name='Lab test assistant')->Path:
    "A copy of the demo card naming its own eval set (the first `n` demo prompts) and fine-tuning data, relative paths"
    folder.mkdir(parents=True, exist_ok=True)
    rows = DEMO.read_text(encoding='utf-8').splitlines(True)
    (folder/'eval.jsonl').write_text(''.join(rows[:n]), encoding='utf-8')
    (folder/'ft.jsonl').write_text(''.join(rows[n:n + 20]), encoding='utf-8')
    text = CARD.read_text(encoding='utf-8').replace('name: ACME Telecom support assistant', f'name: {name}')
    text = text.replace('data:\n', 'data:\n  eval: eval.jsonl\n  finetune: ft.jsonl\n')
    (folder/'card.yaml').write_text(text, encoding='utf-8')
    return folder/'card.yaml'

def _defaults(nb_path:Path)->dict:
    "The parameters cell's defaults, as papermill reads them (an independent parser)"
    import ast
    from papermill.inspection import inspect_notebook
    return {k: ast.literal_eval(v['default']) for k, v in inspect_notebook(str(nb_path)).items()}

class _Run:
    def __init__(self, rc, out, err): self.returncode, self.stdout, self.stderr = rc, out, err

def lab(*args):
    "`riskbench lab ARGS` in this process (the console script itself is run by the first and last tests)"
    import contextlib, io
    from riskbench.cli import main
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e): rc = main(['lab', *map(str, args)])
    return _Run(rc, o.getvalue(), e.getvalue())

def _tree(folder:Path)->dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}

def test_workspace_for_a_card(tmp_path):
    card, ws = _card(tmp_path/'cards'), tmp_path/'ws'
    r = riskbench('lab', card, '--dir', ws, '--tutorial', 'thresholds', '--tutorial', '00_core', '--print-only',
                  cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    templates = sorted(p.stem for p in (ROOT/'templates').glob('*.ipynb'))
    files = {str(p.relative_to(ws)) for p in ws.rglob('*') if p.is_file()}
    assert files == {'00_start.ipynb', 'README.md', '.riskbench-lab.json', 'tutorials/04_thresholds.ipynb',
                     'tutorials/00_core.ipynb', *(f'reports/{t}.ipynb' for t in templates)}, files
    ev, ft = str(card.parent/'eval.jsonl'), str(card.parent/'ft.jsonl')
    for t in templates:
        got, orig = _defaults(ws/'reports'/f'{t}.ipynb'), _defaults(ROOT/'templates'/f'{t}.ipynb')
        want = {**orig, **({'usecase': str(card)} if 'usecase' in orig else {}),
                **({'data': ft if t == 'data_audit' else ev} if 'data' in orig else {})}
        assert got == want, (t, got, want)
    assert _defaults(ws/'00_start.ipynb') == {'usecase': str(card), 'data': ev}
    for t in ('04_thresholds', '00_core'):  # a copy with no export directive left, otherwise the library notebook
        copy = json.loads((ws/'tutorials'/f'{t}.ipynb').read_text())['cells']
        src = json.loads((ROOT/'nbs'/f'{t}.ipynb').read_text())['cells']
        assert not [c for c in copy if re.search(r'^\s*#\|\s*(export|default_exp)', ''.join(c['source']), re.M)]
        assert len(copy) == len(src) + 1 and 'riskbench lab' in ''.join(copy[1]['source'])
    readme = (ws/'README.md').read_text()
    assert all(s in readme for s in ('Lab test assistant', ev, ft, 'reports/', 'tutorials/', 'papermill')), readme
    cmd = r.stdout.splitlines()[-1]
    assert cmd.startswith('JupyterLab: ') and f'--ServerApp.root_dir={ws}' in cmd and '--ServerApp.ip=127.0.0.1' in cmd
    assert not list(tmp_path.glob('riskbench-lab*'))
    assert sorted(os.listdir(card.parent)) == ['card.yaml', 'eval.jsonl', 'ft.jsonl']

def test_a_workspace_report_runs_on_the_cards_data(tmp_path):
    "The dataset overview from the workspace, run as it is, reads the card's 40-row eval set"
    card, ws = _card(tmp_path/'cards'), tmp_path/'ws'
    assert lab(card, '--dir', ws, '--tutorial', 'none', '--print-only').returncode == 0
    r = riskbench('run', ws/'reports'/'dataset_overview.ipynb', '--out', tmp_path/'out')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'out'/'manifest.json').read_text())
    assert m['parameters']['data'] == str(card.parent/'eval.jsonl'), m['parameters']
    assert f'{N_EVAL} rows' in (tmp_path/'out'/'report.html').read_text(encoding='utf-8')

def _refused(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('riskbench lab: error: ') and 'Traceback' not in r.stderr, r.stderr
    assert all(w in err[0] for w in words), err[0]

def test_refusals_write_nothing(tmp_path):
    card = _card(tmp_path/'cards')
    own = tmp_path/'own'; own.mkdir(); (own/'notes.txt').write_text('mine')
    _refused(lab(card, '--dir', own, '--print-only'), str(own), 'not a riskbench lab workspace')
    assert _tree(own) == {'notes.txt': b'mine'}
    (tmp_path/'afile').write_text('x')
    _refused(lab(card, '--dir', tmp_path/'afile', '--print-only'), 'a file, not a folder')
    ws = tmp_path/'ws'
    assert lab(card, '--dir', ws, '--tutorial', 'none', '--print-only').returncode == 0
    (tmp_path/'link').symlink_to(ws)
    _refused(lab(card, '--dir', tmp_path/'link', '--print-only'), 'symbolic link')
    before = _tree(ws)
    bad = tmp_path/'bad.yaml'; bad.write_text(card.read_text().replace('eval: eval.jsonl', 'eval: missing.jsonl'))
    _refused(lab(bad, '--dir', ws, '--print-only'), 'missing.jsonl', 'does not exist')
    _refused(lab(tmp_path/'nope.yaml', '--dir', tmp_path/'new', '--print-only'), 'nope.yaml')
    _refused(lab(card, '--dir', tmp_path/'new', '--tutorial', 'frobnicate', '--print-only'), 'frobnicate')
    _refused(lab(card, '--dir', tmp_path/'new', '--guard', 'nonsense:x', '--print-only'), 'nonsense')
    assert _tree(ws) == before and not (tmp_path/'new').exists()

def test_links_inside_a_workspace_are_not_followed(tmp_path):
    card, ws, outside = _card(tmp_path/'cards'), tmp_path/'ws', tmp_path/'outside'
    assert lab(card, '--dir', ws, '--tutorial', 'none', '--print-only').returncode == 0
    outside.mkdir(); (outside/'keep.ipynb').write_text('outside')
    (ws/'reports'/'guard_bias.ipynb').unlink(); (ws/'reports'/'guard_bias.ipynb').symlink_to(outside/'keep.ipynb')
    r = lab(card, '--dir', ws, '--tutorial', 'none', '--print-only')
    assert r.returncode == 0 and 'kept' in r.stdout and 'reports/guard_bias.ipynb' in r.stdout, r.stdout
    assert (outside/'keep.ipynb').read_text() == 'outside' and (ws/'reports'/'guard_bias.ipynb').is_symlink()
    os.rename(ws/'reports', tmp_path/'reports-real'); (ws/'reports').symlink_to(outside, target_is_directory=True)
    _refused(lab(card, '--dir', ws, '--tutorial', 'none', '--print-only'), 'reports')
    assert sorted(os.listdir(outside)) == ['keep.ipynb']

def test_a_second_run_updates_riskbench_files_and_keeps_the_users(tmp_path):
    ws = tmp_path/'ws'
    first = _card(tmp_path/'a', name='First card')
    assert lab(first, '--dir', ws, '--tutorial', 'cli', '--print-only').returncode == 0
    start = json.loads((ws/'00_start.ipynb').read_text()); start['cells'].append({'cell_type': 'markdown', 'id': 'mine',
                                                                                  'metadata': {}, 'source': 'my notes'})
    edited = {'00_start.ipynb': json.dumps(start), 'reports/guard_bias.ipynb': '{"edited": true}'}
    for rel, text in edited.items(): (ws/rel).write_text(text)
    (ws/'scratch.ipynb').write_text('my own notebook')
    second = _card(tmp_path/'b', n=30, name='Second card')
    r = lab(second, '--dir', ws, '--tutorial', 'cli', '--print-only')
    assert r.returncode == 0, r.stderr
    kept = next(l for l in r.stdout.splitlines() if l.startswith('kept'))
    assert set(re.findall(r'[\w/]+\.ipynb', kept)) == set(edited), kept
    assert all((ws/rel).read_text() == text for rel, text in edited.items())
    assert (ws/'scratch.ipynb').read_text() == 'my own notebook'
    assert _defaults(ws/'reports'/'guard_thresholds.ipynb')['data'] == str(second.parent/'eval.jsonl')
    assert 'Second card' in (ws/'README.md').read_text()
    r = lab(second, '--dir', ws, '--tutorial', 'cli', '--print-only')  # still kept the third time
    assert '0 written, 0 updated' in r.stdout, r.stdout
    assert all((ws/rel).read_text() == text for rel, text in edited.items())

# ---------------------------------------------------------------- the command serving JupyterLab, driven by Chromium

def _serve(ws:Path, card:Path, home:Path):
    "`riskbench lab --no-browser` on a free port with JupyterLab's dirs under `home`: (process, base URL with token)"
    lab = JupyterLab(ws, home)  # its isolated config dirs and quiet settings, not its server
    for d in ('config', 'data', 'runtime', 'ipython'): (home/d).mkdir(parents=True, exist_ok=True)
    lab._settings()
    log = open(home/'lab.log', 'wb')
    exe = Path(sys.executable).parent/'riskbench'
    cmd = [str(exe)] if exe.exists() else [sys.executable, '-m', 'riskbench.cli']
    proc = subprocess.Popen([*cmd, 'lab', str(card), '--dir', str(ws), '--tutorial', 'none', '--no-browser',
                             '--port', str(lab.port)], env=lab.env(), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        text = (home/'lab.log').read_text(errors='replace')
        if m := re.search(rf'http://127\.0\.0\.1:{lab.port}/lab[^\s]*\?token=(\w+)', text):
            try:
                urllib.request.urlopen(f'http://127.0.0.1:{lab.port}/api/status?token={m.group(1)}', timeout=2)
                return proc, f'http://127.0.0.1:{lab.port}', m.group(1), log
            except OSError: pass
        assert proc.poll() is None, f'riskbench lab exited with {proc.returncode}:\n{text[-3000:]}'
        time.sleep(0.25)
    text = (home/'lab.log').read_text(errors='replace')
    raise AssertionError(f'riskbench lab did not serve within 90s:\n{text[-3000:]}')

def _stop(proc, log):
    "SIGTERM to the command's process group (riskbench, JupyterLab), then SIGKILL, each bounded; then any kernel left"
    import psutil
    try: started = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error: started = []
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if proc.poll() is not None: break
        try: os.killpg(proc.pid, sig)
        except ProcessLookupError: break
        try: proc.wait(wait)
        except subprocess.TimeoutExpired: pass
    for k in started:  # kernels run in sessions of their own: kill those that outlived the server
        try:
            if k.is_running(): k.kill()
        except psutil.Error: pass
    log.close()

def test_lab_opens_and_runs_the_first_notebook(browser, tmp_path):
    card, ws = _card(tmp_path/'cards'), tmp_path/'ws'
    t0 = time.perf_counter()
    proc, base, token, log = _serve(ws, card, tmp_path/'jupyter')
    try:
        with urllib.request.urlopen(f'{base}/api/contents?token={token}', timeout=10) as r:
            listed = {c['name'] for c in json.load(r)['content']}
        assert {'00_start.ipynb', 'README.md', 'reports'} <= listed, listed
        ctx = browser.new_context(viewport={'width': 1400, 'height': 1000}, service_workers='block')
        page = ctx.new_page(); page.set_default_timeout(30_000)
        try:
            page.goto(f'{base}/lab/tree/00_start.ipynb?token={token}', wait_until='domcontentloaded', timeout=60_000)
            run_all_cells(page)
            want = f'eval set: {N_EVAL} of {N_EVAL} rows kept'
            out = page.locator('.jp-OutputArea-output', has_text=want)
            errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
            deadline = time.monotonic() + 60
            while not out.count():
                tb = [e for e in errors.all_inner_texts() if 'Traceback' in e or 'Error' in e]
                assert not tb, 'a cell of 00_start failed:\n' + '\n'.join(tb)[-3000:]
                shown = '\n'.join(page.locator('.jp-OutputArea-output').all_inner_texts())
                assert time.monotonic() < deadline, f'no {want!r} after 60s; outputs so far:\n{shown[-3000:]}'
                page.wait_for_timeout(500)
            shown = '\n'.join(page.locator('.jp-OutputArea-output').all_inner_texts())
            assert 'use case: Lab test assistant' in shown, shown[-2000:]
        finally: ctx.close()
    finally: _stop(proc, log)
    assert proc.poll() is not None
    print(f'lab served and first notebook run in {time.perf_counter() - t0:.1f}s')
