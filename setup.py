"""Build of the optional C accelerator; everything else is declared in pyproject.toml.

`optional=True`: without a compiler (or Python headers) the build prints a warning and
installs the pure-Python parser, which gives the same results, only slower.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("herocelery.heroscript._speedups",
                             ["herocelery/heroscript/_speedups.c"], optional=True)])
