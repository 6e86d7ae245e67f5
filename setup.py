"""Build of the optional C accelerators (the HeroScript scan, the HeroDB request loop);
everything else is declared in pyproject.toml.

`optional=True`: without a compiler (or Python headers) the build prints a warning and
installs the pure-Python code, which gives the same results, only slower.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("herocelery.heroscript._speedups",
                             ["herocelery/heroscript/_speedups.c"], optional=True),
                   Extension("herocelery.herodb._fastpath",
                             ["herocelery/herodb/_fastpath.c"], optional=True)])
