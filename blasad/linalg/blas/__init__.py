"""r = blas.dgemm(α, a, b, β, c) is scipy.linalg.blas.dgemm's r, recorded: a differentiable twin.

Replace ``from scipy.linalg import blas`` with ``from blasad.linalg import blas``. Every routine
blasad supports has its SciPy name (``dgemm``, ``sgemv``, ``zaxpy``, ``dznrm2``, ...), SciPy's
parameters in SciPy's order with SciPy's keyword names and defaults, SciPy's integer flags
(trans 0/1/2 = N/T/C), offsets and increments (``offx``/``incx`` address ``x[offx::incx]``; a
negative increment walks the same elements backwards, as BLAS does), SciPy's results and
SciPy's overwrite rules. ``get_blas_funcs`` and ``find_best_blas_type`` pick prefixes by
SciPy's rules. Each call runs blasad's public routine (``ba.gemm``, ``ba.gemv``, ``ba.axpy``,
...) on views of the arguments, so under ``ba.Tape`` or ``ba.autodiff`` it is recorded and
differentiable.

Outputs, overwrite and gradients:

* ``c = dgemm(..., c, overwrite_c=0)`` (the default) returns a new Fortran-ordered array and
  leaves ``c`` untouched. The twin makes that array with recorded blasad calls (a copy of
  ``c``, then ``ba.gemm`` with β into it), so the reverse sweep passes ``c̄ += β C̄`` back to
  ``c`` through the copy, and ``c`` keeps its own adjoint. When β is a Python zero the old
  ``c`` is not read, so no copy is made. (The copy is ``y ← 1·x + y`` into a buffer of -0.0,
  exact for real values, or ``ba.copy`` for complex ones: one call when ``c`` and the new array
  share an element order, else one per row or column of the shorter side.)
* ``overwrite_c=1`` writes into ``c`` and returns ``c`` itself when ``c`` is a writeable,
  aligned, Fortran-contiguous array of the routine's dtype (what SciPy's f2py wrappers check);
  otherwise it makes a new array, as SciPy does. Gradients then follow blasad's in-place rules
  (``C̄ ← β C̄``).
* Outputs without an overwrite flag (axpy's ``y``, scal's ``x``, swap's ``x`` and ``y``) are
  updated in place and returned when they are contiguous arrays of the routine's dtype, and
  copied otherwise, as SciPy does. Strided outputs (gemv's ``y``) are returned whole, with only
  ``y[offy::incy]`` updated.
* Reductions (dot, nrm2, asum) return blasad's 0-d array where SciPy returns a Python number:
  equal in value and in arithmetic, and differentiable. So do ``c, s = drotg(a, b)`` (c of the
  real dtype) and ``param = drotmg(d1, d2, x1, y1)`` (a vector): blasad's rotg and rotmg run on
  new 0-d arrays holding a, b (d1, d2, x1), recorded copies where those are 0-d arrays of the
  dtype (so their gradients flow back), and SciPy's arguments are left as they are.
* ``isamax``, ``idamax``, ``icamax``, ``izamax`` return SciPy's 0-based index as an int (-1
  where BLAS does not search: n <= 0 or incx < 0); an index is not differentiable.
* Scalars: α and β given as 0-d (or size-1) arrays of the routine's dtype are buffers and are
  differentiated when active; every other scalar is converted like SciPy does and is constant.
* Arguments SciPy would convert (a list, an int array, float32 passed to a ``d`` routine, a
  byte-swapped array) are converted with NumPy: the converted copy is a new constant, so no
  gradient reaches the original. Pass arrays of the routine's dtype to differentiate them.
* BLAS's and SciPy's own conventions stay: gemv with an empty ``a`` leaves ``y`` unscaled (BLAS
  returns at once), scal/asum with ``incx < 0`` do nothing, nrm2 rejects ``incx < 0``, a flag
  value BLAS rejects (csyrk's trans=2, cherk's trans=1) or a matrix without rows where BLAS
  wants ld >= 1 (syrk with trans and k = 0) leaves the outputs as they are.
* Shapes are checked as SciPy checks them, which allows more than BLAS reads (the leading
  block is used): a band matrix and syr2k's ``b`` may have more rows, symm's and hemm's ``a``
  more columns with ``b`` as many more rows (side R: ``a`` more rows, ``b`` more columns),
  trmm's ``a`` more rows and columns, a packed ``ap`` more than n(n+1)/2 elements. A band
  matrix of one diagonal and no columns may be 0 x 0 (SciPy's ld is max(rows, 1)), and ``ap``
  empty for n = 0 (only vectors with an offset parameter need an element at the offset).

Deliberate differences from SciPy, all for calls whose SciPy result is unsafe or undefined:
a read-only output is never written (SciPy's wrappers write into read-only arrays; the twin
returns a new array), and an output that shares memory with an input of the same call is
computed into a new array (BLAS's result would be undefined; blasad rejects such aliasing).
``crotg``/``zrotg`` return c as a real 0-d array: SciPy returns a complex number whose
imaginary part BLAS never sets (c is real in BLAS), and, for a or b tiny or huge or |a| far
below |b|, a wrong s from OpenBLAS's scaled branches, which the twin does not reproduce.
Errors SciPy's wrappers raise as ``_fblas.error`` are raised as :class:`BlasError`, a
``ValueError``; conversion errors are the same ``TypeError``/``ValueError``.

The twin is built from one table, :data:`FAMILIES`: one :class:`Family` per BLAS name,
mapping each argument of blasad's routine (``ba.SPECS[name].args``) to the SciPy parameter it
comes from. Adding a routine is one row (and, for a SciPy quirk, an adapter); its twins appear
for the dtypes the spec lists once the routine is in ``ba.SPECS``.
"""

# The package, by role: vocabulary (Family and its Sources), table (FAMILIES), call (argument
# conversion and checks, as f2py does them, and the call of blasad's routine) and functions
# (the twins made from the table, get_blas_funcs, find_best_blas_type).

from blasad.linalg.blas.functions import ALIASES as ALIASES
from blasad.linalg.blas.functions import SUPPORTED_PREFIXES as SUPPORTED_PREFIXES
from blasad.linalg.blas.functions import TWINS as TWINS
from blasad.linalg.blas.functions import BlasFunction as BlasFunction
from blasad.linalg.blas.functions import find_best_blas_type as find_best_blas_type
from blasad.linalg.blas.functions import get_blas_funcs as get_blas_funcs
from blasad.linalg.blas.table import FAMILIES as FAMILIES
from blasad.linalg.blas.vocabulary import REQUIRED as REQUIRED
from blasad.linalg.blas.vocabulary import Array as Array
from blasad.linalg.blas.vocabulary import BlasError as BlasError
from blasad.linalg.blas.vocabulary import Family as Family
from blasad.linalg.blas.vocabulary import Flag as Flag
from blasad.linalg.blas.vocabulary import Output as Output
from blasad.linalg.blas.vocabulary import Result as Result
from blasad.linalg.blas.vocabulary import Scalar as Scalar
from blasad.linalg.blas.vocabulary import Source as Source

globals().update(TWINS)


def __getattr__(name: str) -> BlasFunction:
    """Twins are defined from the table at import; this only types them for mypy."""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FAMILIES", "BlasError", "Family", "find_best_blas_type", "get_blas_funcs", *sorted(TWINS)]
