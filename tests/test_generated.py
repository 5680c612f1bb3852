"""What tools/gen/ generates from the spec table: the committed documents are up to date, the
build compiled the current build-time outputs, and the C entries follow the specs."""

from __future__ import annotations

import difflib
import sys

import numpy as np
import pytest
from _tools import ROOT, generator

import blasad as ba
from blasad._native_loader import ffi, lib

gen = generator()
signature = generator("signature")
pytestmark = pytest.mark.parametrize("dispatch_path", ["fast"], indirect=True)  # once: no routine runs


@pytest.mark.parametrize("path", sorted(gen.DOCUMENTS))
def test_committed_document_is_up_to_date(path):
    on_disk = (ROOT / path).read_text(encoding="utf-8")
    new = gen.DOCUMENTS[path](on_disk)
    if new != on_disk:
        diff = difflib.unified_diff(on_disk.splitlines(True), new.splitlines(True), path, "generated", n=1)
        pytest.fail(f"{path} is out of date: run python tools/generate.py\n{''.join(list(diff)[:60])}")


@pytest.fixture(scope="module")
def build_outputs() -> dict[str, str]:
    return gen.build_outputs()


@pytest.mark.parametrize("name", ["routines.h", "dispatch.inc", "fast_generic.inc", "checked.h"])
def test_the_build_compiled_the_current_specs(name, build_outputs):
    """build/generated/ holds what the last build compiled: it must be what the specs make now."""
    built = gen.BUILD_DIR / name
    assert build_outputs[name].strip()
    if built.exists():  # (a build made elsewhere, e.g. from an sdist, leaves none here)
        assert built.read_text(encoding="utf-8") == build_outputs[name], (
            f"{name} was generated from other specs than these: rebuild (pip install .)"
        )


def test_every_routine_has_its_entry_in_the_spec_dtypes_only():
    """ba_<name> exists for every spec; a generated one takes the rule's parameters and returns
    -2 (before it reads anything else) for a dtype outside the spec's."""
    for spec in ba.SPECS.values():
        fn = getattr(lib, "ba_" + spec.name)
        params = ffi.typeof(fn).args
        assert [p.cname for p in params[3:]] == [ty for ty, _ in signature.params(spec)], spec.name
        for code, prefix in enumerate("sdcz"):
            if prefix not in spec.dtypes:
                assert fn(ffi.NULL, code, *[0] * (len(params) - 2)) == -2, (spec.name, prefix)


def test_every_public_routine_is_in_the_readme_table():
    table = generator("routine_table").table()
    for name in ba.SPECS:
        assert callable(getattr(ba, name)), name
        assert f"| `{name}` |" in table


def test_the_builder_reads_the_specs_without_importing_blasad(monkeypatch):
    """spec_table() with no blasad imported: blasad.specs alone, and sys.modules as it was."""
    for name in [n for n in sys.modules if n == "blasad" or n.startswith("blasad.")]:
        monkeypatch.delitem(sys.modules, name)
    specs = gen.spec_table()
    assert [s.name for s in specs.ROUTINES] == list(ba.SPECS)
    assert not any(n == "blasad" or n.startswith("blasad.") for n in sys.modules)
    assert np.dtype(np.float64) in specs.DTYPE_CODES
