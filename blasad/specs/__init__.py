"""The spec table: one declarative spec per routine, the single source of truth.

A spec (``blasad.specs.core.Spec``) lists a routine's arguments in BLAS order with their kinds
and symbolic dims, its flags, what it writes, its adjoint rules as text, what the reverse sweep
reads, and a NumPy reference of its formula. Everything else is derived from it: the public
function and its validation (``blasad._routines``, ``blasad._validate``), the lowering to the C
entry ``ba_<name>`` (``blasad._lowering``), the C fast path's table, the docs and the tests.

This package imports NumPy only (no native code), so build tools can read it.
"""

from __future__ import annotations

from blasad.specs import lapack_chol, lapack_eig, lapack_lu, lapack_qr, level1, level2, level3, packed_band
from blasad.specs.core import (
    DIAG,
    DTYPE_CODES,
    FLAG_CODES,
    PREFIX,
    SIDE,
    TRANS,
    UPLO,
    Arg,
    Spec,
    flag_code,
    op,
    real_dtype,
)  # fmt: skip

# every routine, in the order of the docs: level 1, level 2 (dense, then packed and band), level 3,
# LAPACK (Cholesky and triangular, LU, QR, eigen- and singular values)
BLAS: tuple[Spec, ...] = (*level1.ROUTINES, *level2.ROUTINES, *packed_band.ROUTINES, *level3.ROUTINES)
LAPACK: tuple[Spec, ...] = (
    *lapack_chol.ROUTINES, *lapack_lu.ROUTINES, *lapack_qr.ROUTINES, *lapack_eig.ROUTINES,
)  # fmt: skip
ROUTINES: tuple[Spec, ...] = (*BLAS, *LAPACK)
SPECS: dict[str, Spec] = {s.name: s for s in ROUTINES}

__all__ = [
    "BLAS", "DIAG", "DTYPE_CODES", "FLAG_CODES", "LAPACK", "PREFIX", "ROUTINES", "SIDE", "SPECS", "TRANS",
    "UPLO",
    "Arg", "Spec", "flag_code", "op", "real_dtype",
]  # fmt: skip
