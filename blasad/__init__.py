"""blasad: exact reverse-mode derivatives of in-place BLAS programs on NumPy arrays."""

from blasad import _level1, _level2, _level2p, _level3
from blasad._check import GradCheck, gradcheck
from blasad._level1 import *  # noqa: F403
from blasad._level2 import *  # noqa: F403
from blasad._level2p import *  # noqa: F403
from blasad._level3 import *  # noqa: F403
from blasad._tape import Const, Duplicated, Tape, autodiff
from blasad.specs import SPECS

__all__ = [
    "SPECS",
    "Const",
    "Duplicated",
    "GradCheck",
    "Tape",
    "autodiff",
    "gradcheck",
    *_level1.__all__,
    *_level2.__all__,
    *_level2p.__all__,
    *_level3.__all__,
]
__version__ = "0.1.0"
