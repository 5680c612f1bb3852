"""docs/api.md must not rot: it is regenerated in memory from the docstrings and ``ba.SPECS`` and
compared with the checked-in page, which must cover the whole public API; the public functions are
typed and documented. (The CI workflow and the wheel configuration: tests/test_ci_config.py.)"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

import blasad as ba
from blasad.linalg import blas as twin

ROOT = Path(__file__).resolve().parents[1]


def _gen_api_docs() -> Any:
    spec = importlib.util.spec_from_file_location("gen_api_docs", ROOT / "tools" / "gen_api_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_api_docs"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def api_md() -> str:
    return _gen_api_docs().render()


def test_api_docs_are_up_to_date(api_md):
    on_disk = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    if on_disk != api_md:
        diff = "".join(
            list(
                difflib.unified_diff(
                    on_disk.splitlines(True), api_md.splitlines(True), "docs/api.md", "generated", n=1
                )
            )[:60]
        )
        pytest.fail(f"docs/api.md is out of date; run `python tools/gen_api_docs.py`:\n{diff}")


def test_api_docs_cover_the_public_api(api_md):
    """Every public name, every spec (formula, every argument, every adjoint rule, what it saves)
    and every row of the SciPy twin's table is in the page."""
    for name in ba.__all__:
        if name != "SPECS":
            assert f"### `{name}`" in api_md, name
    for name, spec in ba.SPECS.items():
        section = api_md.split(f"### `{name}`\n", 1)[1].split("\n### ", 1)[0]
        assert f"**{spec.formula}**" in section
        for arg in spec.args:
            assert f"| `{arg.name}` | {arg.kind} |" in section, (name, arg.name)
        for rule in spec.adjoint:
            assert f"- {rule}" in section, (name, rule)
        assert f"Saves: {spec.saves}." in section
        assert "ba." + name + "(" in section  # the signature
    for key, fam in twin.FAMILIES.items():
        assert f"#### `{key}` → `ba.{fam.routine}`" in api_md
        assert fam.scipy_call() in api_md
    for name in twin.TWINS:
        assert f"`{name}`" in api_md


def test_public_functions_are_typed_and_documented():
    """Type hints on the public API; docstrings that start with the formula for routines."""
    import inspect

    for name in ba.__all__:
        obj = getattr(ba, name)
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            assert sig.return_annotation is not sig.empty, name
            assert all(p.annotation is not p.empty for p in sig.parameters.values()), name
            assert obj.__doc__, name

    for name in ba.SPECS:  # a formula first: "y ← α op(A) x + β y, ..."
        first = getattr(ba, name).__doc__.split("\n")[0].split(";")[0]
        assert any(arrow in first for arrow in "←↔"), (name, first)
    for name, f in twin.TWINS.items():
        assert f.__doc__.startswith(f.family.spec.formula), name


def test_signature_stub_is_up_to_date():
    """blasad/_signatures.pyi (the routines' signatures for type checkers) is the spec table's."""
    from blasad._routines import signatures

    on_disk = (ROOT / "blasad" / "_signatures.pyi").read_text(encoding="utf-8")
    assert on_disk == signatures(), (
        'blasad/_signatures.pyi is stale: run python -c "from blasad._routines import signatures; '
        "open('blasad/_signatures.pyi', 'w').write(signatures())\""
    )


def test_functions_follow_their_specs():
    """Each routine's public function: the spec's arguments in order, its defaults, its docstring."""
    import inspect

    for name, spec in ba.SPECS.items():
        params = inspect.signature(getattr(ba, name)).parameters
        positional = [p for p in params.values() if p.kind is not p.KEYWORD_ONLY]
        assert [p.name for p in positional] == [a.name for a in spec.args], name
        assert [p.name for p in params.values() if p.kind is p.KEYWORD_ONLY] == sorted(
            spec.keywords, key=lambda k: k in spec.defaults
        ), name
        for p in params.values():
            assert (p.default is p.empty) == (p.name not in spec.defaults), (name, p.name)
        assert getattr(ba, name).__doc__ == spec.doc and spec.doc.startswith(spec.formula.split(" ")[0]), name
