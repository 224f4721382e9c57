"""Glue for the project's own tests: lines a test asks to show at the end of the run."""
from __future__ import annotations

import pytest

# A test calls record_property(SUMMARY, line) to have line printed in the terminal summary
# (user properties travel with the report, so this works under pytest-xdist too).
SUMMARY = "authconform_summary"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print every line tests recorded under SUMMARY, once each."""
    lines: list[str] = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == SUMMARY and value not in lines:
                    lines.append(str(value))
    if lines:
        terminalreporter.write_sep("=", "authconform summary")
        for line in lines:
            terminalreporter.write_line(line)
