from setuptools import setup

# cffi has no pyproject.toml setting for its builders yet.
setup(cffi_modules=["src/blasad/_build.py:ffibuilder"])
