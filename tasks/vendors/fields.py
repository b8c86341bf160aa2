"""Field parsers shared by every register source (YAML, CSV, DynamoDB, S3).

Dates are calendar dates, compared with the collection date in UTC. The relative form `today`,
`today+30d`, `today-400d` exists for the demo and for tests: a real register written that way would
never age, so it is accepted only where the register opts in (`source.relative_dates: true`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationInfo

RELATIVE_DATE = re.compile(r"^today(?:\s*([+-])\s*(\d+)\s*d)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def slug(text: str) -> str:
    """A stable, URL-safe id from a name (`Acme Assist` → `acme-assist`)."""
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def parse_date(value: Any, today: date, relative: bool) -> date:
    """A calendar date from a date, an ISO `YYYY-MM-DD` string or, if allowed, `today±Nd`."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    text = value.strip()
    match = RELATIVE_DATE.fullmatch(text.casefold())
    if match:
        if not relative:
            raise ValueError(
                f"relative date {text!r} is only allowed with source.relative_dates: true (demo "
                "registers); write a calendar date YYYY-MM-DD"
            )
        sign, days = match.groups()
        offset = int(days or 0) * (-1 if sign == "-" else 1)
        return today + timedelta(days=offset)
    if ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a calendar date") from exc
    hint = " or today±Nd" if relative else ""
    raise ValueError(f"expected a date YYYY-MM-DD{hint}, got {text!r}")


def date_from_context(value: Any, info: ValidationInfo) -> Any:
    """Pydantic before-validator: resolve dates against the collection date passed as context."""
    if value is None:
        return None
    context = info.context or {}
    return parse_date(value, context["today"], bool(context.get("relative_dates")))


def answer_text(value: Any) -> str | None:
    """An answer as the text a person would read: booleans as yes/no, numbers without a trailing .0."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | Decimal) and value == int(value):
        return str(int(value))  # DynamoDB numbers arrive as Decimal, spreadsheet ones as float
    text = str(value).strip()
    return text or None
