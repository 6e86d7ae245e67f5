"""The fault-injection suite (issue 13): real processes broken on purpose. Each case prints
its line of the issue's report (flows, jobs, lost, stuck, duplicated effects, recovery time);
the lines are repeated at the end of the run."""
from __future__ import annotations

from typing import Any

import pytest

OUTCOMES: list[str] = []


@pytest.fixture
def report():
    def add(outcome: Any) -> Any:
        OUTCOMES.append(outcome.line())
        print("\n" + outcome.line())
        return outcome
    return add


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if OUTCOMES:
        terminalreporter.section("fault injection: per fault")
        for line in OUTCOMES:
            terminalreporter.write_line(line)
