"""The source tree: a checkout whose extension was never built says what to run, and a built
one (pip install . leaves a copy of the extension in blasad/) runs from the repository root."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.parametrize("dispatch_path", ["fast"], indirect=True)  # once: subprocesses


def _run(cwd: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_an_unbuilt_source_tree_raises_one_import_error_saying_what_to_run(tmp_path):
    tree = tmp_path / "checkout"
    shutil.copytree(
        ROOT / "blasad", tree / "blasad", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__")
    )
    (tree / "csrc").mkdir()
    out = _run(tree, "import blasad")
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: blasad: the native extension (blasad._native) is not built"), (
        out.stderr
    )
    assert "pip install ." in last and str(tree) in last
    assert "During handling" not in out.stderr  # one error, not a chain


def test_the_package_imports_from_the_repository_root_and_from_elsewhere(tmp_path):
    here = _run(ROOT, "import blasad, numpy as np; print(blasad.gemm(1.0, np.eye(2), np.eye(2))[1, 1])")
    there = _run(tmp_path, "import blasad, numpy as np; print(blasad.gemm(1.0, np.eye(2), np.eye(2))[1, 1])")
    assert here.stdout.strip() == there.stdout.strip() == "1.0", (here.stderr, there.stderr)
