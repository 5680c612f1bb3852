"""The benchmark report: blasad against the ideal adjoint and against other AD frameworks.

Run it as ``python -m blasad.bench`` (``--help`` lists the options; ``--cases`` picks some of
what follows). It measures, in one run and for each BLAS thread count asked for (the active
scalars, which call no BLAS, under the first only):

- one gemm, gemv and axpy per size n (axpy on vectors of length n², the data volume of the
  n × n gemv): forward, reverse sweep, total, reverse/forward, total/ideal;
- chains of 1000 tiny dependent calls (4 × 4 gemm X ← W X, 8-vector gemv + axpy), in µs per step,
  the gemm chain also in float32, complex128 and complex64 (autodiff and PyTorch);
- the single-call fixed cost (``single``; under the first thread count only): one 4 × 4 gemm
  differentiated end to end through ``ba.autodiff`` and through a ``Tape``, against the ideal and
  the peers;
- the tape bytes per call (``tape-bytes``): the resident memory a recording grows by per tiny
  call, over 200 000 recorded ``ba.axpy`` on 4-vectors (and PyTorch's in-place ``add_``), each
  in a fresh process;
- memory: the bytes the tape copied against the bytes of the inputs;
- active scalars (what reductions return), per operation (``r * 2.0``, ``r * s``, ``2.0 / r``,
  ``-r``, ``np.sqrt(r)``, ``r ** 2``): recorded on a tape (a chain of 1000, record and reverse,
  Tape API and autodiff, against PyTorch's 0-d tensors), and outside any recording against
  NumPy's np.float64 and 0-d array, PyTorch's 0-d tensor (with and without requires_grad), and
  one operation per Tape or autodiff call;
- conjugate gradient (gemv, dot, axpy, scal and active-scalar α, β), per iteration, forward and
  reverse, for a small and a medium system, against PyTorch and the plain NumPy forward, its
  gradient checked once against autodiff's, PyTorch's and a central difference;
- LAPACK (``lapack``, module ``lapack``; under the first thread count only): cholesky, lu_factor +
  lu_solve, solve_triangular, qr, eigh and svd, float64 and complex128, n = 256 and 1024, against
  the plain LAPACK calls on the same OpenBLAS (through blasad's extension, csrc/lapack_cdef.h),
  PyTorch (with and without autograd) and jax.jit; an operation whose blasad routines do not exist
  yet is a "not available" line;
- a checkpointed loop (``checkpoint``, module ``checkpoint``; under the first thread count only): an
  RK4 loop of n = 100, 1000, 10000 steps on a 32-vector, its gradient's time and the memory the AD
  holds, through ``ba.checkpoint_loop`` with k = 5, 20, 60 snapshots against the fully taped loop,
  PyTorch (fully taped and ``torch.utils.checkpoint``) and JAX (``lax.scan``, ``jax.checkpoint``,
  nested scans), every gradient checked against the fully taped loop's;

for these frameworks:

- ``blasad``: ``ba.autodiff`` with preallocated shadows (re-seeded before each repetition); the
  forward is timed inside the differentiated function, the reverse is everything after it;
- ``blasad-tape``: the same through ``Tape`` (watch, backward, grad: it allocates the shadows);
- ``ideal``: the same adjoint by hand, direct CBLAS calls (through blasad's own cffi extension)
  on the very OpenBLAS blasad links to, into preallocated buffers, pointers computed once;
- ``torch``, ``jax-jit``, ``jax-eager``, ``autograd`` (HIPS) when they are installed.

Every time is the median of repeated ``time.perf_counter`` samples after warm-up runs. The
frameworks a target compares take turns in a few rounds (a drift of the machine touches them
alike); in its turn each first runs untimed repetitions, so that its timed ones start from the
caches its own repetitions leave: the steady state of a program that repeats its step. Each
forward starts alike for all: after a reverse sweep and a refill of the output's adjoint from
the seed (untimed). blasad and the ideal work on the same buffers and adjoints. A repetition of
``blasad`` times, back to back, the call without a tape ("plain"), the hand-written reverse and
autodiff; the targets that compare these take the median of the ratio within each repetition,
in which a drift of the machine's speed cancels. Targets are checked and printed as PASS/FAIL;
the exit status does not depend on them.

With ``ops`` the report writes a plot (``--plot``): per routine and dtype, each framework's
time per call against n and, beside it, that time ÷ the ideal's (the overhead at a glance).

The package, by role: ``timing`` (the one timing harness: samples, warm-up, rounds, medians),
``problems`` (the calls and programs every framework runs), ``ideal`` (the hand-written adjoints),
``frameworks`` (blasad's and the AD peers' samples), ``cases`` (the single calls, chains, tape
bytes and memory programs), ``lapack`` (the LAPACK case: its problems, samples, targets and tables),
``checkpoint`` (the checkpointed-loop case: its program, samples, targets and table),
``report`` (rows, targets, tables, plot, environment) and ``cli`` (the options and ``main``).
"""
