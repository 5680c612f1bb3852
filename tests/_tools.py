"""Helpers for the tests: tools/gen/ (the generators of what is made from the spec table) as
modules, and work run on several threads at once."""

import importlib
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def run_threads(work: Callable[[int], None], n: int = 4) -> None:
    """work(k) for k = 0..n-1, each on its own thread, all at once; the first error any of them
    raised is raised here, after every thread ended."""
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            work(k)
        except BaseException as e:  # (raised below, on the test's thread)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def generator(name: str = "") -> ModuleType:
    """The package tools/gen, or its module `name` (api_docs, checked, entries, fast, ...)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        return importlib.import_module("gen." + name if name else "gen")
    finally:
        sys.path.remove(str(ROOT / "tools"))
