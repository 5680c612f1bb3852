"""Everything mechanical, generated from blasad's spec table (``blasad.specs``): one emitter per
output, and the two ways the outputs are used.

Build-time outputs, compiled in and never committed: tools/build_native.py writes them into
build/generated/ on every build (include path; cffi's cdef reads routines.h too):

    routines.h        the spec routines' C prototypes               (entries.py)
    dispatch.inc      their entries, a switch over the spec's dtypes, and ba_entry_call,
                      every entry by index with its arguments as words (entries.py)
    fast_generic.inc  the C fast path's table                       (fast.py)
    checked.h         the checked builds' footprint macros          (checked.py, its own table)

Committed documents, rewritten by `python tools/generate.py`; tests/test_generated.py fails
when one is stale:

    docs/api.md                     the API reference               (api_docs.py)
    README.md, its routine table    routine × precision × mode      (routine_table.py)
    blasad/_signatures.pyi          the routines' signatures, for type checkers
                                    (blasad._routines.signatures)

The build reads the spec table without importing blasad/__init__.py, which loads the built
extension (spec_table()); the documents read the imported package.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"
BUILD_DIR = ROOT / "build" / "generated"


def spec_table() -> Any:
    """The module blasad.specs. Without an imported blasad, it is imported under a bare package
    `blasad` (its __path__ the source tree's blasad/, no __init__.py run), which is then removed
    from sys.modules again: blasad.specs needs NumPy only."""
    if "blasad" in sys.modules:
        return importlib.import_module("blasad.specs")
    bare = types.ModuleType("blasad")
    bare.__path__ = [str(ROOT / "blasad")]
    sys.modules["blasad"] = bare
    try:
        return importlib.import_module("blasad.specs")
    finally:
        for name in [n for n in sys.modules if n == "blasad" or n.startswith("blasad.")]:
            del sys.modules[name]


def build_outputs() -> dict[str, str]:
    """The build-time outputs: file name under build/generated/ -> text."""
    from gen import checked, entries, fast, signature

    routines = spec_table().ROUTINES
    rules = signature.rules(p.read_text(encoding="utf-8") for p in sorted(CSRC.glob("*.inc")))
    return {
        "routines.h": entries.header(routines),
        "dispatch.inc": entries.dispatch(routines, rules)
        + entries.entries(routines)
        + entries.tangents(routines, rules),
        "fast_generic.inc": fast.table(routines),
        "checked.h": checked.macros(),
    }


def write_build(directory: Path = BUILD_DIR) -> list[Path]:
    """Write the build-time outputs into directory (a file only when its text changed, so that
    an unchanged one does not trigger a rebuild); returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in build_outputs().items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _api_md(_: str) -> str:
    from gen import api_docs

    return api_docs.render()


def _readme(text: str) -> str:
    from gen import routine_table

    return routine_table.readme(text)


def _signatures(_: str) -> str:
    from blasad._routines import signatures

    return str(signatures())


# the committed documents: path under the repository -> its new text from its current text
DOCUMENTS: dict[str, Callable[[str], str]] = {
    "docs/api.md": _api_md,
    "README.md": _readme,
    "blasad/_signatures.pyi": _signatures,
}


def stale() -> dict[str, str]:
    """The committed documents that differ from what the generators make: path -> new text."""
    out = {}
    for path, render in DOCUMENTS.items():
        text = (ROOT / path).read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            out[path] = new
    return out
