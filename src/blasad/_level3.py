"""Level 3 BLAS routines: one spec each, run by the generic front end (_generic.run)."""

from __future__ import annotations

from blasad._specs import Spec

LEVEL3: tuple[Spec, ...] = ()

__all__: list[str] = []
