"""SciPy oracles: lu routines."""

ORACLES: dict = {}
