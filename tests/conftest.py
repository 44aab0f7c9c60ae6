import os, sys, subprocess, contextlib
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def riskbench(*args, cwd=None, env=None, timeout=600):
    "Run the `riskbench` console script; returns the CompletedProcess"
    exe = BIN/'riskbench'
    cmd = [str(exe), *map(str, args)] if exe.exists() else [sys.executable, '-m', 'riskbench.cli', *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=timeout)

@pytest.fixture
def cli():
    return riskbench

@contextlib.contextmanager
def read_only(folder:Path):
    "Make `folder` read-only, for root too (root ignores mode bits: the immutable attribute stops it)"
    folder.chmod(0o555)
    root = os.geteuid() == 0
    if root: subprocess.run(['chattr', '+i', str(folder)], check=True)
    try: yield folder
    finally:
        if root: subprocess.run(['chattr', '-i', str(folder)], check=True)
        folder.chmod(0o755)
