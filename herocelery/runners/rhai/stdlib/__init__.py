"""Rhai's standard library (core, math, strings, arrays, maps), registered into `STD`."""
from . import arrays, bits, blobs, core, maps, math, strings  # noqa: F401  (registration on import)
