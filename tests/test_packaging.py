"The package builds as a wheel that works outside the checkout, and the notebooks match the library"
import os, sys, shutil, subprocess, filecmp, site
from pathlib import Path
import pytest
from conftest import ROOT

def test_nbdev_export_leaves_tree_unchanged(tmp_path):
    work = tmp_path/'repo'
    shutil.copytree(ROOT/'nbs', work/'nbs')
    shutil.copytree(ROOT/'riskbench', work/'riskbench', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(ROOT/'pyproject.toml', work)
    exe = Path(sys.executable).parent/'nbdev-export'
    r = subprocess.run([str(exe)], cwd=work, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for f in sorted((ROOT/'riskbench').glob('*.py')):
        assert filecmp.cmp(f, work/'riskbench'/f.name, shallow=False), f"nbdev-export changes {f.name}: run nbdev-export and commit"

def test_wheel_installs_and_runs(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(tmp_path/'dist'), str(ROOT)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next((tmp_path/'dist').glob('riskbench-*.whl'))
    venv = tmp_path/'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
    vpy = venv/'bin'/'python'
    # the dependencies come from the test environment; riskbench itself only from the wheel
    sp = subprocess.run([str(vpy), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], capture_output=True, text=True, check=True).stdout.strip()
    Path(sp, 'deps.pth').write_text('\n'.join(p for p in site.getsitepackages()) + '\n')
    r = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', sp, str(wheel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (venv/'bin'/'riskbench').write_text(f'#!{vpy}\nimport sys\nfrom riskbench.cli import main\nsys.exit(main())\n'); (venv/'bin'/'riskbench').chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    code = ("import riskbench, riskbench.core as c; from pathlib import Path; "
            "pkg = Path(riskbench.__file__).parent; "
            "assert c.datasets_dir().is_relative_to(pkg) and c.templates_dir().is_relative_to(pkg), (c.datasets_dir(), pkg); "
            "print(riskbench.__file__); print(c.datasets_dir()); print(c.templates_dir()); "
            "df, rep = c.load_eval_set('bundled:demo_prompts.jsonl'); print(rep.kept)")
    r = subprocess.run([str(vpy), '-c', code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.split()
    assert lines[0].startswith(sp) and lines[1].startswith(sp) and lines[2].startswith(sp), r.stdout
    assert int(lines[3]) > 400
    r = subprocess.run([str(venv/'bin'/'riskbench'), '--help'], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0 and 'templates' in r.stdout
    r = subprocess.run([str(venv/'bin'/'riskbench'), 'templates'], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0 and 'dataset_overview' in r.stdout

def _wheel(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(tmp_path), str(ROOT)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return next(tmp_path.glob('riskbench-*.whl'))

def test_wheel_metadata_as_a_user_meets_it(tmp_path):
    "The licence ships, the generator and its sources do not, no placeholder URL, and every import is declared"
    import zipfile, ast, re
    from importlib.metadata import packages_distributions
    z = zipfile.ZipFile(_wheel(tmp_path))
    names = z.namelist()
    lic = [n for n in names if n.endswith('LICENSE') and '.dist-info/' in n]
    assert lic and 'Apache License' in z.read(lic[0]).decode()
    assert not [n for n in names if 'make_datasets' in n or '/bundled/src/' in n], [n for n in names if 'src/' in n][:5]
    assert 'riskbench/tutorials/00_core.ipynb' in names and 'riskbench/tutorials/index.ipynb' not in names  # for `riskbench lab`
    meta = z.read(next(n for n in names if n.endswith('.dist-info/METADATA'))).decode()
    assert 'example.invalid' not in meta
    declared = {re.split(r'[<>=!~;\[ ]', l.split(':', 1)[1].strip())[0].lower().replace('_', '-')
                for l in meta.splitlines() if l.startswith('Requires-Dist:') and 'extra ==' not in l}
    # every top-level third-party import in the library is a declared dependency (or the standard library)
    dists = packages_distributions()
    missing = set()
    for py in (ROOT/'riskbench').glob('*.py'):
        for node in ast.walk(ast.parse(py.read_text())):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                   [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for m in mods:
                top = m.split('.')[0]
                if top in sys.stdlib_module_names or top in ('riskbench', '__future__'): continue
                owners = {d.lower().replace('_', '-') for d in dists.get(top, [top])}
                if not owners & declared: missing.add((py.name, top))
    optional = {'presidio_analyzer', 'ray', 'triton', 'nbdev', 'pytest', 'playwright', 'datasets'}  # extras, or dev-only
    assert not {m for m in missing if m[1] not in optional}, sorted(missing)

def test_wheel_carries_every_bundled_file(tmp_path):
    "Each file under datasets/ reaches the wheel (the generators and their sources stay in the checkout)"
    import zipfile
    names = set(zipfile.ZipFile(_wheel(tmp_path)).namelist())
    src = ROOT/'datasets'
    files = [p.relative_to(src).as_posix() for p in src.rglob('*') if p.is_file() and '__pycache__' not in p.parts]
    kept = [f for f in files if not f.startswith('src/') and not (f.rsplit('/', 1)[-1].startswith('make_') and f.endswith('.py'))]
    assert 'langid/detector.npz' in kept
    assert [f for f in kept if f'riskbench/bundled/{f}' not in names] == []
