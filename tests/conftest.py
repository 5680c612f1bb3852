"""Shared fixtures for the blasad tests."""

import os
import zlib

import numpy as np
import pytest
from hypothesis import settings

# CI (CI=true) draws the same hypothesis examples on every run: a random program that exposes a
# bug is found by the nightly-style local runs (no CI variable), never as a flaky landing.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def rng(request):
    """A NumPy Generator seeded from the test's node id: reproducible, and different per test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(autouse=True, params=["fast", "validating"])
def dispatch_path(request, monkeypatch):
    """Run every test twice: through the C fast paths (common layouts handled without the
    Python validator), and through the validating Python path alone."""
    import blasad._lowering as routines

    monkeypatch.setattr(routines, "FAST", routines.FAST and request.param == "fast")
    return request.param


@pytest.fixture(autouse=True)
def no_footprint_violation(request):
    """Checked builds (BLASAD_CHECKED=1): fail a test during which a CBLAS call reached
    outside the arrays it was given. A no-op in normal builds."""
    from blasad._native_loader import ffi, lib

    if request.node.get_closest_marker("expects_violation"):
        yield
        return
    before = lib.ba_checked_violations()
    yield
    after = lib.ba_checked_violations()
    if before >= 0 and after != before:
        raise AssertionError(ffi.string(lib.ba_checked_last()).decode())
