"""SciPy oracles: qr routines."""

ORACLES: dict = {}
