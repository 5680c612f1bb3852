"""Active scalars' operations: one spec each (their C rules: csrc/scalar.c, by name).

An active scalar (blasad.Scalar) is what a reduction returns; its arithmetic, the NumPy
ufuncs below, and its .real/.imag/.conj() are recorded on the tape recording on this thread,
each as z ← op(x, y) with the adjoint listed (the rules' convention: for complex z,
z̄ = ∂L/∂Re z + i ∂L/∂Im z, so a holomorphic op gives x̄ += conj(f′(x)) z̄; an operand of a
real dtype takes the real part of what reaches it). z's old value reaches nothing: z̄ ← 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ScalarOp:
    name: str  # the C rule's name (csrc/scalar.c)
    reference: Callable[..., Any]  # the forward formula on NumPy values (the ufunc, np.real, ...)
    formula: str
    adjoint: tuple[str, ...]
    # where the tests draw operands: "any", "positive" (sqrt, log: real operands > 0),
    # "nonzero" (div's y, reciprocal)
    domain: str = "any"
    real_only: bool = False  # NumPy defines it for real operands only (hypot)
    operator: str = ""  # the Python operator that records it ("+", "unary -", "abs()", ...)

    @property
    def arity(self) -> int:
        return 2 if self.name in ("add", "sub", "mul", "div", "pow", "hypot") else 1

    @property
    def ufunc(self) -> np.ufunc | None:
        """The NumPy ufunc that records it when applied to an active scalar (np.real and
        np.imag are not ufuncs: they read the .real and .imag attributes, which record)."""
        return self.reference if isinstance(self.reference, np.ufunc) else None


OPS: tuple[ScalarOp, ...] = (
    ScalarOp("add", np.add, "z ← x + y", ("x̄ += z̄", "ȳ += z̄"), operator="+"),
    ScalarOp("sub", np.subtract, "z ← x − y", ("x̄ += z̄", "ȳ −= z̄"), operator="-"),
    ScalarOp("mul", np.multiply, "z ← x y", ("x̄ += conj(y) z̄", "ȳ += conj(x) z̄"), operator="*"),
    ScalarOp(
        "div",
        np.true_divide,
        "z ← x / y",
        ("x̄ += z̄ / conj(y)", "ȳ −= conj(x / y²) z̄"),
        "nonzero",
        operator="/",
    ),
    ScalarOp(
        "pow",
        np.power,
        "z ← x ** y",
        ("x̄ += conj(y x^(y−1)) z̄", "ȳ += conj(z log x) z̄  (0 at x = 0)"),
        "positive",
        operator="**",
    ),
    ScalarOp("neg", np.negative, "z ← −x", ("x̄ −= z̄",), operator="unary -"),
    ScalarOp("pos", np.positive, "z ← x  (a recorded copy; +r is r itself)", ("x̄ += z̄",)),
    ScalarOp("abs", np.absolute, "z ← |x|  (real)", ("x̄ += Re(z̄) x / |x|  (0 at x = 0)",), operator="abs()"),
    ScalarOp("sqrt", np.sqrt, "z ← √x", ("x̄ += z̄ / (2 conj(z))",), "positive"),
    ScalarOp("exp", np.exp, "z ← exp x", ("x̄ += conj(z) z̄",)),
    ScalarOp("log", np.log, "z ← log x", ("x̄ += z̄ / conj(x)",), "positive"),
    ScalarOp("sin", np.sin, "z ← sin x", ("x̄ += conj(cos x) z̄",)),
    ScalarOp("cos", np.cos, "z ← cos x", ("x̄ −= conj(sin x) z̄",)),
    ScalarOp("conj", np.conjugate, "z ← conj(x)", ("x̄ += conj(z̄)",), operator=".conj()"),
    ScalarOp("real", np.real, "z ← Re x  (real)", ("x̄ += Re z̄",), operator=".real"),
    ScalarOp("imag", np.imag, "z ← Im x  (real)", ("x̄ += i Re z̄",), operator=".imag"),
    ScalarOp(
        "hypot",
        np.hypot,
        "z ← √(x² + y²)  (real)",
        ("x̄ += z̄ x / z", "ȳ += z̄ y / z  (0 at z = 0)"),
        real_only=True,
    ),
    ScalarOp("reciprocal", np.reciprocal, "z ← 1 / x", ("x̄ −= conj(z²) z̄",), "nonzero"),
)
BY_NAME: dict[str, ScalarOp] = {op.name: op for op in OPS}
