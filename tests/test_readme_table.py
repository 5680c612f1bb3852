"""README.md's routine table is the spec table: every routine, its precisions and mode."""

from pathlib import Path

from _tools import load_tool

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    return load_tool("gen_routine_table")


def test_readme_routine_table_matches_the_specs():
    gen = _generator()
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(gen.BEGIN), readme.index(gen.END) + len(gen.END)
    assert readme[start:end] == gen.table(), (
        "README's routine table is stale: run python tools/gen_routine_table.py"
    )


def test_every_public_routine_is_in_the_table():
    import blasad as ba

    gen = _generator()
    for name in ba.SPECS:
        assert callable(getattr(ba, name)), name
        assert f"| `{name}` |" in gen.table()
