"""Regenerate what is generated from blasad's spec table (tools/gen/ says what and how).

    python tools/generate.py              # rewrite the stale committed documents
    python tools/generate.py --check      # exit 1, naming them, when any is stale
    python tools/generate.py --build DIR  # write the build-time outputs into DIR

The committed documents are docs/api.md and README.md's routine table; the build writes the
build-time outputs into build/generated/ itself (--build is for looking at them).

The documents read the imported blasad of this source tree: build it first (`pip install .`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]  # this tree's blasad, and gen

import gen  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only report stale documents (exit 1)")
    parser.add_argument("--build", metavar="DIR", type=Path, help="write the build-time outputs into DIR")
    args = parser.parse_args(argv)
    if args.build is not None:
        for path in gen.write_build(args.build):
            print(f"wrote {path}")
        return 0
    stale = gen.stale()
    for path, text in stale.items():
        if args.check:
            print(f"{path} is out of date: run python tools/generate.py")
        else:
            (ROOT / path).write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
