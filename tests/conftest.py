"""Shared fixtures for the blasad tests."""

import zlib

import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """A NumPy Generator seeded from the test's node id: reproducible, and different per test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(autouse=True, params=["fast", "validating"])
def dispatch_path(request, monkeypatch):
    """Run every test twice: through the C fast paths (common layouts handled without the
    Python validator), and through the validating Python path alone."""
    import blasad._routines as routines

    monkeypatch.setattr(routines, "FAST", routines.FAST and request.param == "fast")
    return request.param
