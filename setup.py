"""cffi has no pyproject.toml setting for its builders yet, hence this file.

build_ext also leaves a copy of the built extension in the source tree (blasad/, ignored by
git), so that `python -m blasad` and `python -m pytest` run from the repository root, where
`blasad/` is the source package, import the same build that `pip install .` installed.
"""

from setuptools import setup
from setuptools.command.build_ext import build_ext


class build_ext_in_tree(build_ext):
    def run(self) -> None:
        super().run()
        if self.inplace:
            return
        for ext in self.extensions:
            built = self.get_ext_fullpath(ext.name)
            self.inplace = True
            try:
                in_tree = self.get_ext_fullpath(ext.name)
            finally:
                self.inplace = False
            self.copy_file(built, in_tree)


setup(cmdclass={"build_ext": build_ext_in_tree}, cffi_modules=["tools/build_native.py:ffibuilder"])
