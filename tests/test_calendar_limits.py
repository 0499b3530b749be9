from datetime import timedelta

import pytest

from engine.domain.calendar import (
    CalendarDaysLimit,
    SameDayLimit,
    WorkingTimeLimit,
    format_working_duration,
    parse_limit,
    parse_working_duration,
)
from engine.errors import InvalidInput

H = timedelta(hours=1)


@pytest.mark.parametrize(
    "text,amount",
    [
        ("P3D", 24 * H),
        ("P0.5D", 4 * H),
        ("P0,5D", 4 * H),
        ("PT4H", 4 * H),
        ("P1DT2H", 10 * H),
        ("PT30M", timedelta(minutes=30)),
        ("PT1.5H", timedelta(minutes=90)),
        ("PT90S", timedelta(seconds=90)),
        ("p2d", 16 * H),
        (" P20D ", 160 * H),
        ("P0D", timedelta(0)),
    ],
)
def test_parse_working_duration(text, amount):
    assert parse_working_duration(text) == amount


@pytest.mark.parametrize(
    "text,words",
    [
        ("", "not an ISO 8601"),
        ("3 days", "not an ISO 8601"),
        ("P", "not an ISO 8601"),
        ("PT", "not an ISO 8601"),
        ("P1DT", "not an ISO 8601"),
        ("-P1D", "negative"),
        ("P1W", "weeks"),
        ("P1M", "months"),
        ("P1Y2D", "years"),
        ("P366D", "maximum"),
    ],
)
def test_bad_durations_get_a_clear_error(text, words):
    with pytest.raises(InvalidInput) as info:
        parse_working_duration(text, field="limit")
    err = info.value
    assert words in err.message_en
    assert err.message_en.startswith("limit:")
    assert err.message_vi != err.message_en
    assert err.hint
    assert err.problems[0].field == "limit"


def test_parse_limit_kinds():
    assert parse_limit("P3D") == WorkingTimeLimit(24 * H)
    assert parse_limit("same-day") == SameDayLimit()
    assert parse_limit("P30D", basis="calendar") == CalendarDaysLimit(30)
    assert parse_limit("same-day", basis="calendar") == SameDayLimit()


@pytest.mark.parametrize("text", ["P0.5D", "PT4H", "-P3D", "P731D", "30", "P0D"])
def test_calendar_basis_needs_whole_days(text):
    with pytest.raises(InvalidInput):
        parse_limit(text, basis="calendar")


@pytest.mark.parametrize("text", ["P3D", "P1DT2H", "PT30M", "PT0S", "PT1.5S"])
def test_format_round_trips(text):
    assert parse_working_duration(format_working_duration(parse_working_duration(text))) == parse_working_duration(text)
    assert format_working_duration(24 * H) == "P3D"
