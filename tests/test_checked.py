"""Checked builds: every CBLAS call verifies its operands' footprints (checked.h, generated
at build time by tools/gen/checked.py).

Build one with `BLASAD_CHECKED=1 pip install .` (.ci/run does, and runs the whole suite
on it: conftest.py then fails any test during which a check failed).
"""

from pathlib import Path

import numpy as np
import pytest
from _tools import generator

from blasad._lowering import CHECKED
from blasad._native_loader import ffi, lib
from blasad._tape import address

ROOT = Path(__file__).resolve().parent.parent


def test_every_cblas_function_blasad_calls_is_checked():
    # every scipy_cblas_* symbol the C sources call has a checking macro
    import re

    called = set()
    for f in (ROOT / "csrc").glob("*.[ci]*"):
        called |= set(re.findall(r"CB\((\w+)\)", f.read_text()))
        called |= {m[1:] for m in re.findall(r"scipy_cblas_(\w+?)64_", f.read_text())}
    checked = set(re.findall(r"#define scipy_cblas_(\w+?)64_\(", generator("checked").macros()))
    called.discard("name")  # the CB(name) macro's own definition
    missing = {name for name in called if not any(c.endswith(name) for c in checked)}
    assert not missing, f"CBLAS functions called without a footprint check: {sorted(missing)}"


@pytest.mark.expects_violation
def test_an_operand_outside_the_given_arrays_is_reported():
    """A gemm told that A has 4 x 4 elements where the call was given only 10 of them."""
    big = np.zeros(64)
    A, B, C = big[:16], np.zeros(16), np.zeros(16)
    before = lib.ba_checked_violations()
    lib.ba_checked_reset()
    for x, n in ((A, 10), (B, 16), (C, 16)):  # A's allowed span is shorter than its footprint
        lib.ba_checked_allow(address(x), address(x) + n * 8)
    rc = lib.ba_gemm(ffi.NULL, 1, 0, 0, 0, 4, 4, 4, 1.0, 0.0, 0, address(A), 4, 0, address(B), 4, 0,
                     0.0, 0.0, 0, address(C), 4, 0)  # fmt: skip
    assert rc == 0
    after = lib.ba_checked_violations()
    if CHECKED:
        assert after == before + 1
        assert "dgemm A" in ffi.string(lib.ba_checked_last()).decode()
    else:  # not a checked build: the counters say so, and nothing is checked
        assert before == after == -1
