"""Date, answer and id parsing shared by every register source."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from tasks.vendors.fields import answer_text, parse_date, slug

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-28", date(2026, 2, 28)),
        (date(2025, 1, 2), date(2025, 1, 2)),
        (datetime(2025, 1, 2, 23, 59), date(2025, 1, 2)),
        (" 2026-03-01 ", date(2026, 3, 1)),
    ],
)
def test_calendar_dates(value: object, expected: date) -> None:
    assert parse_date(value, TODAY, relative=False) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("today", TODAY),
        ("today+30d", date(2026, 12, 29)),
        ("today-400d", date(2025, 10, 25)),
        ("Today - 1d", date(2026, 11, 28)),
    ],
)
def test_relative_dates_resolve_against_the_collection_date(value: str, expected: date) -> None:
    assert parse_date(value, TODAY, relative=True) == expected


def test_relative_dates_need_the_register_to_opt_in() -> None:
    with pytest.raises(ValueError, match=r"only allowed with source.relative_dates: true"):
        parse_date("today-10d", TODAY, relative=False)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-02-30", "is not a calendar date"),
        ("29/11/2026", "expected a date YYYY-MM-DD"),
        ("today+3w", "expected a date YYYY-MM-DD"),
        (20261129, "expected a date YYYY-MM-DD"),
    ],
)
def test_bad_dates_say_what_is_expected(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_date(value, TODAY, relative=True)


def test_answers_read_as_a_person_writes_them() -> None:
    assert answer_text(True) == "yes"
    assert answer_text(False) == "no"
    assert answer_text(72.0) == "72"
    assert answer_text(Decimal("30")) == "30"
    assert answer_text(Decimal("2.5")) == "2.5"
    assert answer_text("  ") is None
    assert answer_text(None) is None


def test_slug() -> None:
    assert slug("Acme Assist (EU)") == "acme-assist-eu"
    assert slug("SOC 2 Type II") == "soc-2-type-ii"
