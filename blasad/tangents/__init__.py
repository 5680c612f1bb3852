"""Forward mode's tangent rules: one per routine, by name (the conventions: _util.py).

Each rule is made of blasad's own routines applied to the tangents, so it runs on the same
native BLAS/LAPACK kernels as the call itself: gemm's tangent is two or three gemms.
"""

from __future__ import annotations

from blasad.tangents import batched, lapack_eig, lapack_lu, lapack_qr, level1, level2, level3  # noqa: F401 (registry)
from blasad.tangents._util import BATCHED, RULES, Rule

__all__ = ["BATCHED", "RULES", "Rule"]
