"""The generators of tools/ as modules for the tests: tools/gen/ (what is made from the spec
table at build time), and the scripts of the committed documents."""

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def generator(name: str = "") -> ModuleType:
    """The package tools/gen, or its module `name` (api_docs, checked, entries, fast, ...)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        return importlib.import_module("gen." + name if name else "gen")
    finally:
        sys.path.remove(str(ROOT / "tools"))


def load_tool(name: str) -> ModuleType:
    """A script of tools/ as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
