"""Level 2 banded and packed BLAS routines: one spec each, run by the generic front end."""

from __future__ import annotations

from blasad._specs import Spec

LEVEL2P: tuple[Spec, ...] = ()

__all__: list[str] = []
