"""The conformance table, run case by case."""
from __future__ import annotations

import pytest
from rhai_conformance_cases import CASES, Err  # type: ignore[import-not-found]

from herocelery.errors import RhaiError
from herocelery.runners.rhai import evaluate, to_display


def test_the_table_has_at_least_300_cases() -> None:
    assert len(CASES) >= 300
    assert len({script for script, _ in CASES}) == len(CASES), "duplicate scripts"


@pytest.mark.parametrize(("script", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_case(script: str, expected: object) -> None:
    if isinstance(expected, Err):
        with pytest.raises(RhaiError) as info:
            evaluate(script, on_print=lambda s: None)
        assert expected.fragment in str(info.value)
    else:
        assert to_display(evaluate(script, on_print=lambda s: None)) == expected
