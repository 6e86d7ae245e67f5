"""The function registry: natives by (name, arity), dispatched on argument types.

A native is a plain Python function over Rhai values. Registration names the accepted types
per argument; a call whose types match no candidate is `Function not found: f (i64, string)`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .ops import not_found
from .values import Char, FnPtr, IRange, Timestamp

TYPES: dict[str, tuple[type, ...] | None] = {
    "int": (int,), "float": (float,), "num": (int, float), "str": (str,), "char": (Char,),
    "sc": (str, Char), "array": (list,), "map": (dict,), "bool": (bool,), "fn": (FnPtr,),
    "fs": (FnPtr, str), "range": (IRange,), "unit": (type(None),), "any": None,
    "blob": (bytearray,), "time": (Timestamp,),
}

Candidate = tuple[tuple[tuple[type, ...] | None, ...], Callable[..., Any], bool]
Mutators = dict[type, Callable[..., tuple[Any, Any]]]     # receiver type -> mutator


class Library:
    """Natives by (name, arity). `mutators` are methods that change a value receiver (string,
    char, integer): they return (new value, result) and the caller stores the new value."""

    def __init__(self) -> None:
        self.cands: dict[tuple[str, int], list[Candidate]] = {}
        self.mutators: dict[tuple[str, int], Mutators] = {}
        self._dispatch: dict[tuple[str, int], Callable[..., Any]] = {}

    def copy(self) -> Library:
        lib = Library()
        lib.cands = {k: list(v) for k, v in self.cands.items()}
        lib.mutators = {k: dict(v) for k, v in self.mutators.items()}
        return lib

    def fn(self, name: str, *types: str, rt: bool = False, names: tuple[str, ...] = ()
           ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register a native for these argument types (and alias names)."""
        sig = tuple(TYPES[t] for t in types)

        def deco(f: Callable[..., Any]) -> Callable[..., Any]:
            for n in (name, *names):
                self.cands.setdefault((n, len(sig)), []).append((sig, f, rt))
                self._dispatch.pop((n, len(sig)), None)
            return f
        return deco

    def mutator(self, name: str, arity: int, recv: tuple[type, ...] = (str,)
                ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: a method that changes its (value) receiver: returns (new value, result)."""
        def deco(f: Callable[..., tuple[Any, Any]]) -> Callable[..., tuple[Any, Any]]:
            for t in recv:
                self.mutators.setdefault((name, arity), {})[t] = f
            self._dispatch.pop((name, arity), None)
            return f
        return deco

    def register(self, name: str, f: Callable[..., Any], arity: int, rt: bool = False) -> None:
        """A native taking any types (user functions); the newest registration wins."""
        self.cands.setdefault((name, arity), []).insert(0, ((None,) * arity, f, rt))
        self._dispatch.pop((name, arity), None)

    def has(self, name: str, arity: int) -> bool:
        return (name, arity) in self.cands or (name, arity) in self.mutators

    def names(self) -> set[str]:
        return {n for n, _ in self.cands} | {n for n, _ in self.mutators}

    def resolve(self, name: str, arity: int) -> Callable[..., Any] | None:
        """A dispatcher `d(rt, *args)` for this name and arity, or None if none exists."""
        d = self._dispatch.get((name, arity))
        if d is None:
            cands = self.cands.get((name, arity))
            if cands is None:
                mut = self.mutators.get((name, arity))
                if mut is None:
                    return None
                d = _mutator_as_fn(name, mut)
            else:
                d = _make_dispatch(name, cands, self.mutators.get((name, arity)))
            self._dispatch[(name, arity)] = d
        return d


def _mutator_as_fn(name: str, mut: Mutators) -> Callable[..., Any]:
    def d(rt: Any, *args: Any) -> Any:
        m = mut.get(type(args[0]))
        if m is not None:
            return m(*args)[1]
        raise not_found(name, *args)
    return d


def _make_dispatch(name: str, cands: list[Candidate],
                   mut: Mutators | None) -> Callable[..., Any]:
    if len(cands) == 1 and mut is None:
        sig, f, wants_rt = cands[0]
        if all(t is None for t in sig):
            if wants_rt:
                return f
            return lambda rt, *args: f(*args)

    if len(cands) == 1 and len(cands[0][0]) in (1, 2):
        (sig, f, wants_rt), = cands
        t0 = sig[0]
        t1 = sig[1] if len(sig) == 2 else None
        if len(sig) == 1:
            def d1(rt: Any, a: Any) -> Any:
                if t0 is None or type(a) in t0:
                    return f(rt, a) if wants_rt else f(a)
                if mut is not None and type(a) in mut:
                    return mut[type(a)](a)[1]
                raise not_found(name, a)
            return d1

        def d2(rt: Any, a: Any, b: Any) -> Any:
            if (t0 is None or type(a) in t0) and (t1 is None or type(b) in t1):
                return f(rt, a, b) if wants_rt else f(a, b)
            if mut is not None and type(a) in mut:
                return mut[type(a)](a, b)[1]
            raise not_found(name, a, b)
        return d2

    def d(rt: Any, *args: Any) -> Any:
        for sig, f, wants_rt in cands:
            for t, a in zip(sig, args, strict=False):
                if t is not None and type(a) not in t:
                    break
            else:
                return f(rt, *args) if wants_rt else f(*args)
        if mut is not None and args and type(args[0]) in mut:
            return mut[type(args[0])](*args)[1]
        raise not_found(name, *args)
    return d


STD = Library()
"""The standard library every engine starts from (filled by the stdlib modules)."""
