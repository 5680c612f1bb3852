"""The README's PyTorch and JAX examples (its ```py blocks) run as written, each in a fresh
namespace (tests/test_readme.py runs the ```python ones, which need neither)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```py\n(.*?)```", README, flags=re.S)


def test_the_readme_has_interop_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_interop_example_runs(i: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(BLOCKS[i], f"README.md py block {i}", "exec"), {"__name__": f"readme_py_{i}"})
