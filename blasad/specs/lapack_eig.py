"""LAPACK: (routines to come)."""

from __future__ import annotations

from blasad.specs.core import Spec

ROUTINES: tuple[Spec, ...] = ()
