"""Rhai 1.25 conformance, area by area (rhai_book_cases.py), run case by case."""
from __future__ import annotations

import pytest
from rhai_book_cases import CASES  # type: ignore[import-not-found]
from rhai_conformance_cases import CASES as OLD  # type: ignore[import-not-found]
from rhai_conformance_cases import Err  # type: ignore[import-not-found]

from herocelery.errors import RhaiError
from herocelery.runners.rhai import evaluate, to_display


def test_the_tables_hold_no_duplicates() -> None:
    scripts = [script for script, _ in CASES]
    assert len(set(scripts)) == len(scripts)
    assert not set(scripts) & {script for script, _ in OLD}


@pytest.mark.parametrize(("script", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_case(script: str, expected: object) -> None:
    if isinstance(expected, Err):
        with pytest.raises(RhaiError) as info:
            evaluate(script, on_print=lambda s: None)
        assert expected.fragment in str(info.value)
    else:
        assert to_display(evaluate(script, on_print=lambda s: None)) == expected
