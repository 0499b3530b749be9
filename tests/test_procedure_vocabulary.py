from datetime import timedelta

import pytest

from engine.domain.vocabulary import DurationError, format_working, limit_budget, parse_working_duration


@pytest.mark.parametrize("text,expected", [
    ("P3D", timedelta(hours=24)),
    ("P0.5D", timedelta(hours=4)),
    ("P0,5D", timedelta(hours=4)),
    ("PT4H", timedelta(hours=4)),
    ("P1DT2H", timedelta(hours=10)),
    ("PT30M", timedelta(minutes=30)),
    ("PT1.5H", timedelta(minutes=90)),
    ("PT0H", timedelta(0)),
    ("pt45m", timedelta(minutes=45)),
])
def test_working_durations(text, expected):
    assert parse_working_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "P1Y", "P1M", "P2W", "3D", "P-1D", "PT1H30", "P99999D", "P1D1H"])
def test_invalid_working_durations(text):
    with pytest.raises(DurationError):
        parse_working_duration(text)


@pytest.mark.parametrize("text,basis,expected", [
    ("same-day", "working", timedelta(hours=2)),
    ("P3D", "working", timedelta(hours=24)),
    ("PT4H", "working", timedelta(hours=4)),
    ("P30D", "calendar", timedelta(hours=8 * 21)),
    ("P45D", "calendar", timedelta(hours=8 * 32)),
    ("P7D", "calendar", timedelta(hours=8 * 5)),
])
def test_limit_budgets(text, basis, expected):
    assert limit_budget(text, basis) == expected


def test_format_working():
    assert format_working(timedelta(hours=10, minutes=30)) == "1d 2h 30m"
    assert format_working(timedelta(0)) == "0h"
