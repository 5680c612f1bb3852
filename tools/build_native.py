"""cffi out-of-line API-mode builder for blasad's native core (setup.py's cffi_modules).

It lives outside the shipped package: nothing in `blasad/` imports it. It first writes the
files generated from the spec table (tools/gen/: the routines' prototypes and entries, the
fast path's table, the checked builds' macros) into build/generated/, an include directory;
they are never committed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy
import scipy_openblas64
from cffi import FFI

ROOT = Path(__file__).resolve().parents[1]
CSRC = ROOT / "csrc"

sys.path.insert(0, str(ROOT / "tools"))
try:
    import gen  # reads blasad.specs without importing blasad (which needs this build)
finally:
    sys.path.remove(str(ROOT / "tools"))

GENERATED = gen.write_build()  # build/generated/: routines.h, dispatch.inc, fast_generic.inc, checked.h

# the public headers: cffi's cdef reads them, and the generated module includes them
HEADERS = (CSRC / "blasad.h", gen.BUILD_DIR / "routines.h")
# read by cffi's cdef only: raw CBLAS and LAPACK prototypes, declared to the compiler by
# OpenBLAS's cblas.h and lapack.h (LAPACK_PRELUDE)
CDEF_ONLY = (CSRC / "cblas_cdef.h", CSRC / "lapack_cdef.h")
# lapack.h's Fortran routines under scipy-openblas64's symbols (scipy_dpotrf_64_, int64 ints), as
# csrc/rules.c declares them
LAPACK_PRELUDE = (
    "#define LAPACK_ILP64\n#define LAPACK_GLOBAL(lcname, UCNAME) scipy_##lcname##_64_\n#include <lapack.h>\n"
)


def _cdef() -> str:
    """The public headers minus comments: cffi's cdef reads plain declarations."""
    lines = []
    in_comment = False
    for line in "\n".join(h.read_text() for h in HEADERS + CDEF_ONLY).splitlines():
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


# BLASAD_SANITIZE=1: build with AddressSanitizer + UndefinedBehaviorSanitizer (tools/sanitize.sh).
# The extension then needs the ASan runtime loaded first: LD_PRELOAD=$(gcc -print-file-name=libasan.so).
SANITIZE = os.environ.get("BLASAD_SANITIZE", "0") not in ("", "0")
_SANITIZE_FLAGS = [
    "-fsanitize=address,undefined",
    "-fno-omit-frame-pointer",
    "-fno-sanitize-recover=undefined",
]
_EXTRA = ["-O1", "-g", *_SANITIZE_FLAGS] if SANITIZE else []
# BLASAD_CHECKED=1: every CBLAS call checks that its operands' footprints (from dims, ld
# and inc) lie inside the arrays the call was given (checked.h, tools/gen/checked.py).
CHECKED = os.environ.get("BLASAD_CHECKED", "0") not in ("", "0")
if CHECKED:
    _EXTRA = [*_EXTRA, "-DBA_CHECKED"]

ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "blasad._native",
    "#include <cblas.h>\n" + LAPACK_PRELUDE + "".join(f'#include "{h.name}"\n' for h in HEADERS),
    sources=[
        os.path.relpath(CSRC / f)
        for f in ("tape.c", "rules.c", "scalar.c", "fast.c", "replay.c", "checkpoint.c")
    ],
    # rebuild when a header, an .inc or a generated file changes
    depends=sorted(os.path.relpath(p) for p in [*CSRC.glob("*.[hi]*"), *GENERATED]),
    include_dirs=[str(CSRC), str(gen.BUILD_DIR), scipy_openblas64.get_include_dir(), numpy.get_include()],
    library_dirs=[scipy_openblas64.get_lib_dir()],
    libraries=[scipy_openblas64.get_library()],
    extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", *_EXTRA],
    extra_link_args=[*_rpath(), *(_SANITIZE_FLAGS if SANITIZE else [])],
    py_limited_api=False,  # csrc/fast.c reads CPython and NumPy object layouts: not the stable ABI
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
