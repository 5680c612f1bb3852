"""``python -m blasad.bench``: the benchmark report (see blasad.bench)."""

from __future__ import annotations

import sys

from blasad.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
