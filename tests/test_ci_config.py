"""Checked-in configuration that must not rot: the CI workflow (.github/workflows/ci.yml, parsed
by a small block-YAML reader and checked for the jobs the project relies on) and the wheel
configuration (pyproject.toml's cibuildwheel settings and the run-time link to scipy-openblas64)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


# -- the CI workflow -------------------------------------------------------------------------------


def _scalar(text: str) -> Any:
    text = text.strip()
    if text[:1] in "\"'":
        assert text[-1] == text[0], f"unterminated string {text!r}"
        return text[1:-1]
    if text.startswith("["):
        assert text.endswith("]"), f"unterminated list {text!r}"
        return [_scalar(t) for t in text[1:-1].split(",") if t.strip()]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return {"true": True, "false": False, "null": None, "": None}.get(text, text)


def parse_yaml(text: str) -> Any:
    """The block YAML a GitHub workflow uses: mappings, "- " lists, [flow, lists], quoted and
    plain scalars, | blocks and comments. Anything else fails loudly."""
    lines = [
        (len(raw) - len(raw.lstrip(" ")), raw.strip(), raw)
        for raw in text.splitlines()
        if raw.strip() and not raw.lstrip().startswith("#")
    ]
    assert all("\t" not in raw[: ind + 1] for ind, _, raw in lines), "tabs in indentation"

    def block(i: int, indent: int) -> tuple[Any, int]:
        if lines[i][1].startswith("- "):
            items: list[Any] = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                raw = lines[i][2]
                # "- key: value" opens a mapping whose keys sit 2 columns further in
                lines[i] = (indent + 2, lines[i][1][2:], raw)
                item, i = node(i, indent + 2)
                items.append(item)
            return items, i
        mapping: dict[str, Any] = {}
        while i < len(lines) and lines[i][0] == indent:
            content = lines[i][1]
            m = re.fullmatch(r"([\w.\-/]+|\"[^\"]+\"):(?:\s+(.*))?", content)
            assert m, f"not a mapping entry: {content!r}"
            key, rest = m.group(1).strip('"'), (m.group(2) or "").split(" #")[0].strip()
            assert key not in mapping, f"duplicate key {key!r}"
            i += 1
            if rest == "|":
                body = []
                deeper = lines[i][0] if i < len(lines) else indent
                while i < len(lines) and lines[i][0] > indent:
                    body.append(lines[i][2][deeper:])
                    i += 1
                mapping[key] = "\n".join(body) + "\n"
            elif rest:
                mapping[key] = _scalar(rest)
            elif i < len(lines) and lines[i][0] > indent:
                mapping[key], i = block(i, lines[i][0])
            else:
                mapping[key] = None
        return mapping, i

    def node(i: int, indent: int) -> tuple[Any, int]:
        if re.match(r"[\w.\-/\"]+:(\s|$)", lines[i][1]):
            return block(i, indent)
        return _scalar(lines[i][1]), i + 1

    doc, end = block(0, lines[0][0])
    assert end == len(lines), f"unparsed from line {lines[end][2]!r}"
    return doc


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    text = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    doc = parse_yaml(text)
    try:
        import yaml
    except ModuleNotFoundError:
        pass  # PyYAML is not a test dependency; the parser above reads the file alone
    else:
        other = yaml.safe_load(text)
        other["on"] = other.pop(True)  # YAML 1.1 reads the key `on` as true
        assert other == doc, "the test's YAML reader disagrees with PyYAML"
    return doc


def test_workflow_runs_the_readme_commands_on_linux_and_macos(workflow):
    assert set(workflow["on"]) >= {"push", "pull_request"}
    test = workflow["jobs"]["test"]
    matrix = test["strategy"]["matrix"]
    assert "ubuntu-latest" in matrix["os"]
    assert any(os in ("macos-14", "macos-latest", "macos-15") for os in matrix["os"])  # arm64
    assert matrix["python"] == ["3.10", "3.11", "3.12", "3.13"]
    runs = "\n".join(step.get("run", "") for step in test["steps"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install '.[test]' && pytest" in readme
    assert "pip install '.[test]' && pytest" in runs
    assert "python -m blasad" in runs
    for step in test["steps"]:
        assert ("uses" in step) != ("run" in step), step


def test_workflow_lints_and_builds_wheels(workflow):
    lint = "\n".join(step.get("run", "") for step in workflow["jobs"]["lint"]["steps"])
    for command in ("ruff check .", "ruff format --check .", "mypy", "actionlint"):
        assert command in lint
    wheels = workflow["jobs"]["wheels"]["steps"]
    assert any(step.get("uses", "").startswith("pypa/cibuildwheel@v") for step in wheels)
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w\-]+/[\w\-]+@v[\d.]+", step["uses"]), step["uses"]


def test_the_yaml_reader_rejects_what_it_does_not_know():
    with pytest.raises(AssertionError):
        parse_yaml("a: 1\n  b: 2\nc: {x: 1}\n")
    with pytest.raises(AssertionError):
        parse_yaml("a: 1\na: 2\n")
    assert parse_yaml("a:\n  - b: [1, 'x']\n    c: |\n      one\n      two\n  - d\n") == {
        "a": [{"b": [1, "x"], "c": "one\ntwo\n"}, "d"]
    }


# -- the wheel configuration ------------------------------------------------------------------------


def test_wheels_use_the_scipy_openblas64_wheel_at_run_time():
    """The wheels link libscipy_openblas64_ from the scipy-openblas64 wheel (rpath and preload),
    so the repair tools must not vendor it; the test command imports blasad and runs a gemm."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "scipy-openblas64" in " ".join(project["project"]["dependencies"])
    assert "blasad.*" in project["tool"]["setuptools"]["packages"]["find"]["include"]  # blasad.linalg too
    cbw = project["tool"]["cibuildwheel"]
    assert "auditwheel repair --exclude libscipy_openblas64_.so" in cbw["linux"]["repair-wheel-command"]
    assert "delocate-wheel" in cbw["macos"]["repair-wheel-command"]
    assert "--exclude libscipy_openblas64_" in cbw["macos"]["repair-wheel-command"]
    assert "import" in cbw["test-command"] and "ba.gemm(" in cbw["test-command"]
    build = (ROOT / "tools" / "build_native.py").read_text(encoding="utf-8")
    assert "$ORIGIN/../scipy_openblas64/lib" in build and "@loader_path/../scipy_openblas64/lib" in build
    assert "scipy_openblas64" in (ROOT / "blasad" / "_native_loader.py").read_text(encoding="utf-8")
