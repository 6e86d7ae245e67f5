"""The engine: registered functions and modules, limits, and `evaluate` for one script.

Guarantee: whatever the script, evaluation returns a Rhai value or raises a RhaiError
(parse, runtime, limit or uncaught throw) - never another Python exception.
"""
from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import stdlib  # noqa: F401  (fills STD)
from .compile_call import call_fnptr, invoke
from .compiler import Compiler
from .errors import OUT_OF_MEMORY, RhaiBaseError, RhaiLimitError, RhaiRuntimeError
from .library import STD, Library
from .parser import parse
from .runtime import ExitScript, Limits, Rt, ScriptFn
from .values import from_json

RECURSION_LIMIT = 30000


@dataclass
class Module:
    """A module for `import "name" as m;`: functions (`m::f(...)`) and constants (`m::X`)."""

    fns: dict[str, Callable[..., Any]] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    script_fns: dict[tuple[str, int], ScriptFn] = field(default_factory=dict)
    subs: dict[str, Module] = field(default_factory=dict)    # `m::sub::x`

    def call(self, rt: Rt, name: str, args: list[Any]) -> Any:
        sfn = self.script_fns.get((name, len(args)))
        if sfn is not None and not sfn.private:
            return invoke(rt, sfn, args)[0]
        f = self.fns.get(name)
        if f is None:
            from .compile_call import signature
            raise RhaiRuntimeError(signature(name, args))
        return from_json(f(*args))


def _arities(f: Callable[..., Any]) -> range:
    """The argument counts a Python function accepts (0..8 for *args)."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return range(0, 9)
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return range(0, 9)
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(1 for p in pos if p.default is p.empty)
    return range(required, len(pos) + 1)


def wrap_native(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    """A user function as a native: results become Rhai values, errors become RhaiErrors."""
    def call(*args: Any) -> Any:
        try:
            return from_json(f(*args))
        except RhaiBaseError:
            raise
        except MemoryError:
            raise RhaiLimitError(f"{OUT_OF_MEMORY} in function {name}") from None
        except Exception as e:
            raise RhaiRuntimeError(f"Error in function {name}: {e}") from None
    return call


class Engine:
    """Functions, modules and limits shared by many evaluations."""

    def __init__(self, limits: Limits | None = None,
                 module_resolver: Callable[[str], str | None] | None = None) -> None:
        self.limits = limits or Limits()
        self.module_resolver = module_resolver   # name -> Rhai source, for unknown modules
        self.lib: Library = STD.copy()
        self.modules: dict[str, Module] = {}
        self.sources: dict[str, str] = {}

    def register_fn(self, name: str, f: Callable[..., Any], arity: int | None = None) -> None:
        """Make `name(...)` callable from scripts (also as a method: `x.name(...)`)."""
        w = wrap_native(name, f)
        for k in (_arities(f) if arity is None else [arity]):
            self.lib.register(name, w, k)

    def register_module(self, name: str, module: Module | dict[str, Any] | str) -> None:
        """A module: a Module, a dict of functions/constants, or Rhai source text (compiled
        for each evaluation, so its functions run under that evaluation's limits)."""
        if isinstance(module, Module):
            self.modules[name] = module
        elif isinstance(module, str):
            parse(module, self.limits.max_expr_depth)      # report syntax errors now
            self.sources[name] = module
        else:
            m = Module()
            for k, v in module.items():
                if callable(v):
                    m.fns[k] = wrap_native(f"{name}::{k}", v)
                else:
                    m.vars[k] = from_json(v)
            self.modules[name] = m

    def _load(self, name: str, rt: Rt, limits: Limits) -> Module | None:
        """A module for `import`: registered, or Rhai source (registered or from the
        resolver) compiled once per evaluation under the evaluation's limits."""
        mod = rt.modules.get(name)
        if mod is None and not name.startswith("$"):
            src = self.sources.get(name)
            if src is None and self.module_resolver is not None:
                try:
                    src = self.module_resolver(name)
                except Exception as e:
                    raise RhaiRuntimeError(f"cannot load: {e}") from None
            if src is not None:
                mod = rt.modules[name] = self._script_module(name, str(src), rt, limits)
        return mod

    def _script_module(self, name: str, src: str, rt: Rt, limits: Limits) -> Module:
        """Run a module script once: its functions (not private ones), what it exports and
        the modules it imports at its top level make the module (Rhai: export.md)."""
        script = parse(src, limits.max_expr_depth)
        comp = Compiler(rt, globals_key=f"$global:{name}")
        prog = comp.compile_script(script, [], register=False)
        prog.run([])
        return Module(vars=dict(prog.exported), script_fns=dict(comp.script_fns),
                      subs={k: m for k, m in prog.subs.items() if isinstance(m, Module)})

    def evaluate(self, script: str, *, scope: dict[str, Any] | None = None,
                 limits: Limits | None = None, deadline: float | None = None,
                 on_print: Callable[[str], None] | None = None,
                 on_debug: Callable[[str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> Any:
        """Run a script; returns its last value (a Rhai value). Raises only RhaiError."""
        limits = limits or self.limits
        scope = scope if scope is not None else {}
        names = list(scope)
        # raised once and never lowered again: lowering it while another thread evaluates
        # would make that evaluation fail; call depth is bounded by max_call_levels anyway
        if sys.getrecursionlimit() < RECURSION_LIMIT:
            sys.setrecursionlimit(RECURSION_LIMIT)
        try:
            tree = parse(script, limits.max_expr_depth)
            rt = Rt(limits, self.lib, deadline, on_print, on_debug, cancelled)
            rt.call_fnptr = lambda fp, args, this=None: call_fnptr(  # type: ignore[misc]
                rt, fp, args, *(() if this is None else (this,)))
            rt.modules.update(self.modules)
            rt.load_module = lambda name: self._load(name, rt, limits)
            prog = Compiler(rt).compile_script(tree, names)
            result, values = prog.run([from_json(scope[n]) for n in names])
            for n, v in zip(names, values, strict=False):
                scope[n] = v
            for n, v in prog.new_vars.items():      # the script's own top-level variables
                if n not in scope:
                    scope[n] = v
            return result
        except ExitScript as e:           # `exit(value)`
            return e.value
        except RhaiBaseError:
            raise
        except RecursionError:
            raise RhaiRuntimeError("Stack overflow: script nests too deeply") from None
        except MemoryError:
            raise RhaiLimitError(OUT_OF_MEMORY) from None
        except Exception as e:      # a bug in the interpreter: still never a raw exception
            raise RhaiRuntimeError(f"Internal error: {type(e).__name__}: {e}") from None
