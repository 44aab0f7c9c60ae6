"The `riskbench` command: exit codes (0 ok, 1 failed run, 2 bad input or usage), one-line errors, --help, the demo"
import contextlib, errno, io, json, os, re, subprocess, sys
from pathlib import Path
import pytest
from conftest import riskbench, ROOT, read_only

def _csv(p, text):
    p.write_text(text); return p

def _tiny_template(folder, cells):
    "A template notebook with an `x` parameter and `cells` after it"
    import nbformat as nbf
    nb = nbf.v4.new_notebook()
    nb.cells = [nbf.v4.new_markdown_cell('# Tiny'), nbf.v4.new_code_cell('x = 1  # a number'),
                *[nbf.v4.new_code_cell(c) for c in cells]]
    nb.cells[1].metadata['tags'] = ['parameters']
    nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')
    p = Path(folder)/'tiny.ipynb'
    nbf.write(nb, p)
    return p

def _noscore(t): return _csv(t/'noscore.csv', 'id,text,label\na,hello,0\nb,world,1\n')
def _notext(t): return _csv(t/'notext.jsonl', '{"id": "a", "prompt_x": "hi", "label": 0}\n')

CASES = {  # name -> the arguments, given a temporary folder
    'bad file: missing input':         lambda t: ['run', 'dataset_overview', '-p', 'data', t/'nope.jsonl', '--out', t/'o'],
    'bad file: missing score table':   lambda t: ['thresholds', t/'nope.csv', '--out', t/'o'],
    'bad column: no score':            lambda t: ['thresholds', _noscore(t), '--out', t/'o'],
    'bad column: found by a template': lambda t: ['run', 'dataset_overview', '-p', 'data', _notext(t), '--out', t/'o'],
    'bad parameter: unknown name':     lambda t: ['run', 'dataset_overview', '-p', 'dta', 'x', '--out', t/'o'],
    'bad parameter: wrong type':       lambda t: ['run', 'dataset_overview', '-p', 'max_examples', 'lots', '--out', t/'o'],
    'bad parameter: unknown guard':    lambda t: ['score', _noscore(t), '--guard', 'nonsense:x', '--out', t/'o'],
    'unknown command':                 lambda t: ['frobnicate'],
    'usage: no command':               lambda t: [],
    'usage: missing argument':         lambda t: ['thresholds'],
    'usage: unknown option':           lambda t: ['run', 'dataset_overview', '--no-such-option'],
}

@pytest.mark.parametrize('case', list(CASES))
def test_exit_code_2_for_each_kind_of_bad_input(tmp_path, case):
    args = CASES[case](tmp_path)
    r = riskbench(*args)
    assert r.returncode == 2, (case, r.returncode, r.stderr)
    assert 'Traceback' not in r.stderr and 'Traceback' not in r.stdout
    err = [l for l in r.stderr.strip().splitlines() if l.strip()]
    if case.startswith('usage: no command'): assert 'usage: riskbench' in r.stdout + r.stderr; return
    if case.startswith('usage'): assert err[-1].startswith(f'riskbench {args[0]}: error:'), err; return
    assert err and re.match(r'riskbench( \w+)?: error: ', err[0]), err
    assert len(err) <= 2, err  # one line naming the problem (plus at most one hint)

def test_bad_column_found_inside_a_template_keeps_a_failed_report(tmp_path):
    r = riskbench('run', 'dataset_overview', '-p', 'data', _notext(tmp_path), '--out', tmp_path/'o')
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('riskbench run: error: BadColumn:') and 'text' in err[0], err
    assert json.loads((tmp_path/'o'/'manifest.json').read_text())['status'] == 'failed'
    assert json.loads((tmp_path/'o'/'summary.json').read_text())['status'] == 'failed'
    assert 'FAILED' in (tmp_path/'o'/'report.html').read_text()

def test_unknown_parameter_caught_before_anything_runs(tmp_path):
    r = riskbench('run', 'dataset_overview', '-p', 'nope', '1', '--out', tmp_path/'o')
    assert r.returncode == 2 and "no parameter 'nope'" in r.stderr
    assert not (tmp_path/'o').exists()

def test_out_an_existing_file(tmp_path):
    (tmp_path/'f').write_text('keep')
    r = riskbench('run', 'dataset_overview', '--out', tmp_path/'f')
    assert r.returncode == 2 and r.stderr.strip() == f"riskbench run: error: --out {tmp_path/'f'}: a file, not a folder"
    assert (tmp_path/'f').read_text() == 'keep'


def test_out_read_only_checked_before_running(tmp_path):
    ro = tmp_path/'ro'; ro.mkdir()
    with read_only(ro):
        r = riskbench('run', 'dataset_overview', '--out', ro/'report')
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"riskbench run: error: --out {ro/'report'}: cannot write in {ro}"), err
    assert r.stdout == ''  # nothing ran
    assert list(ro.iterdir()) == []

def _no_space_on(name):
    real = os.replace
    def replace(src, dst, *a, **kw):
        if Path(dst).name == name: raise OSError(errno.ENOSPC, 'No space left on device')
        return real(src, dst, *a, **kw)
    return replace

def test_disk_full_is_one_line_exit_1_and_manifest_not_ok(tmp_path, monkeypatch, capsys):
    from riskbench import cli
    tpl = _tiny_template(tmp_path, ['from riskbench.report import record\nrecord(x=x)'])
    monkeypatch.setattr(os, 'replace', _no_space_on('report.html'))
    rc = cli.main(['run', str(tpl), '--out', str(tmp_path/'o')])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err == [f"riskbench run: error: no space left on device writing {tmp_path/'o'/'report.html'}"]
    m = json.loads((tmp_path/'o'/'manifest.json').read_text())
    assert m['status'] == 'failed' and 'no space left' in m['error']
    assert sorted(m['files']) == ['report.ipynb', 'summary.json']  # what was written, and only that
    assert not (tmp_path/'o'/'report.html').exists()
    assert not [p for p in (tmp_path/'o').iterdir() if p.name.endswith('.tmp')]  # no half-written temp file left

def test_disk_full_before_the_manifest_leaves_no_ok_manifest(tmp_path, monkeypatch):
    from riskbench.report import run_template
    from riskbench.core import DiskFull
    tpl = _tiny_template(tmp_path, ['print(x)'])
    r = run_template(tpl, {}, tmp_path/'o')
    assert json.loads((r.out/'manifest.json').read_text())['status'] == 'ok'  # a stale ok manifest, then a re-run
    monkeypatch.setattr(os, 'replace', _no_space_on('manifest.json'))
    with pytest.raises(DiskFull): run_template(tpl, {}, tmp_path/'o')
    assert not (tmp_path/'o'/'manifest.json').exists()

def test_help_has_no_doubled_defaults():
    from riskbench.cli import COMMANDS
    for cmd in COMMANDS:
        r = riskbench(cmd, '--help')
        assert r.returncode == 0, (cmd, r.stderr)
        text = ' '.join(r.stdout.split())
        assert '(default: None)' not in text, cmd
        for m in re.finditer(r'default[^()]*\)\s*\(default', text): raise AssertionError(f'{cmd}: {m.group(0)}')
    r = riskbench('thresholds', '--help')
    assert '(default: 0.05)' in ' '.join(r.stdout.split())

def test_demo_the_readmes_first_command(tmp_path):
    r = riskbench('demo', '--out', tmp_path/'demo')
    assert r.returncode == 0, r.stderr[-2000:]
    b = json.loads((tmp_path/'demo'/'bundle.json').read_text())
    assert b['status'] == 'ok'
    assert (tmp_path/'demo'/'index.html').is_file()
    assert 'KeyboardInterrupt' not in r.stderr

def test_templates_says_where_they_are_and_its_papermill_line_runs(tmp_path):
    """The folder `riskbench templates` names holds every template; the plain-papermill line it prints, run by a shell,
    writes the report and the files it saves into the output folder, none into the working folder"""
    import shlex
    r = riskbench('templates')
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.splitlines()[:2]
    folder = Path(first.removeprefix('templates folder: '))
    names = sorted(re.findall(r'^(\w+) — ', r.stdout, re.M))
    assert first.startswith('templates folder: ') and names and sorted(p.stem for p in folder.glob('*.ipynb')) == names
    assert riskbench('templates', '--path').stdout.strip() == str(folder)
    line = second.removeprefix('run one with plain papermill: ')
    assert line.startswith('mkdir -p out/') and ' papermill ' in line and line.endswith(' VALUE'), line
    t = line.split('RISKBENCH_OUT=out/')[1].split()[0]
    data = _csv(tmp_path/'set.csv', 'id,text,label\na,hello there,0\nb,how do I pick a lock,1\nc,good morning,0\n')
    assert line.rsplit(' ', 2)[-2] == 'data', line  # the first template's first parameter: its input
    work = tmp_path/'work'; work.mkdir()
    cmd = line.removesuffix(' VALUE') + ' ' + shlex.quote(str(data)) + ' --log-level WARNING'
    env = {**os.environ, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    p = subprocess.run(['bash', '-c', cmd], cwd=work, capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    out = work/'out'/t
    assert (out/'report.ipynb').is_file() and (out/'summary.json').is_file(), sorted(os.listdir(out))
    assert sorted(os.listdir(work)) == ['out'], os.listdir(work)

def test_lab_is_a_command():
    from riskbench.cli import COMMANDS
    assert COMMANDS['lab'][:2] == ('riskbench.lab', 'lab_cmd')
    r = riskbench('lab', '--help')
    assert r.returncode == 0 and '--dir DIR' in r.stdout and '--print-only' in r.stdout and '[card]' in r.stdout
