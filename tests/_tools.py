"""tools/gen/, the generators of what is made from the spec table, as modules for the tests."""

import importlib
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
