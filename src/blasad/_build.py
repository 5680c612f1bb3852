"""cffi out-of-line API-mode builder for blasad's native core (used by setup.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy
import scipy_openblas64
from cffi import FFI

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"


def _cdef() -> str:
    """The public header minus comments: cffi's cdef reads plain declarations."""
    lines = []
    in_comment = False
    for line in (CSRC / "blasad.h").read_text().splitlines():
        stripped = line.strip()
        if in_comment:
            in_comment = "*/" not in stripped
            continue
        if stripped.startswith("/*"):
            in_comment = "*/" not in stripped
            continue
        lines.append(line)
    return "\n".join(lines)


def _rpath() -> list[str]:
    # The extension lands in site-packages/blasad/, OpenBLAS in site-packages/scipy_openblas64/lib/.
    if sys.platform == "darwin":
        return ["-Wl,-rpath,@loader_path/../scipy_openblas64/lib"]
    if sys.platform.startswith("linux"):
        return ["-Wl,-rpath,$ORIGIN/../scipy_openblas64/lib"]
    return []


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "blasad._native",
    '#include "blasad.h"',
    sources=[os.path.relpath(CSRC / f) for f in ("tape.c", "rules.c", "fast.c")],
    include_dirs=[str(CSRC), scipy_openblas64.get_include_dir(), numpy.get_include()],
    library_dirs=[scipy_openblas64.get_lib_dir()],
    libraries=[scipy_openblas64.get_library()],
    extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    extra_link_args=_rpath(),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
