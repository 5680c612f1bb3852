"""SciPy oracles: eig routines."""

ORACLES: dict = {}
