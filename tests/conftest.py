import os, sys, subprocess
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
