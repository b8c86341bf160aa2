"""Governance records of a model (`governance:` in `configs/models.yaml`) and the evidence facts they give.

The AI Security Policy asks for records no AWS API holds: a risk assessment before deployment, reviewed
yearly (2.2); the purpose of data collection and, for personal data, its legal basis (3.1); a privacy
impact assessment reviewed yearly (3.4); fairness assessments of high-risk models (4.2, 7.2); the ethics
board's approval of high-risk projects (7.1); model documentation (7.3); a human-oversight procedure for
high-stakes decisions (7.4). The inventory records them as dates and links; this module turns them into
facts of the `model_inventory` table.

Facts, not applicability: every model gets every column, and each control's `applies_when` decides
whom a rule concerns (high-risk only, personal data only, deployed only). A record the inventory lacks is
a known fact ("missing"), never null: null would read as an evidence gap (ERROR), while an absent
assessment is a violation (FAIL). Review intervals are policy data: `defaults.governance` (the policy's
12 months unless tightened) and, for fairness reports, the model's own interval.

Links are checked for form only (an http(s) or s3 URL, or a path relative to the config folder) and never
fetched or opened: the inventory is data, and a link is evidence for the auditor to follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    WithJsonSchema,
    model_validator,
)

from complyflow.core.tables import Column

#: GDPR Art. 6(1): the lawful bases for processing personal data.
LegalBasis = Literal[
    "consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"
]
#: The policy's "annually" / "within 12 months", in days: a record exactly 365 days old is still current.
POLICY_YEAR_DAYS = 365
_RELATIVE_DATE = re.compile(r"^today(?:\s*([+-])\s*(\d+)\s*d)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_URL_SCHEMES = ("https", "http", "s3")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
#: Never part of a URL (RFC 3986) nor needed in a path; they only serve to break out of markup or chat text.
_MARKUP_CHARS = re.compile(r"[<>\"`]")


@dataclass(frozen=True, slots=True)
class DayOffset:
    """A date written relative to the collection day (`today-30d`): for the demo and tests only."""

    days: int

    def __str__(self) -> str:
        return "today" if self.days == 0 else f"today{self.days:+d}d"


def _parse_day(value: Any) -> date | DayOffset:
    """A calendar date (YAML date or `YYYY-MM-DD`), or `today±Nd`; whether the file may use the latter is
    checked at load, where the file's `relative_dates` flag is known."""
    if isinstance(value, datetime):
        raise ValueError(f"expected a date YYYY-MM-DD, not a date and time ({value.isoformat()})")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    text = value.strip()
    match = _RELATIVE_DATE.fullmatch(text.casefold())
    if match:
        sign, days = match.groups()
        return DayOffset(int(days or 0) * (-1 if sign == "-" else 1))
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a calendar date") from None
    raise ValueError(f"expected a date YYYY-MM-DD, got {text!r}")


def _parse_link(value: Any) -> str:
    """An http(s) or s3 URL with a host, or a relative path; checked for form only, never opened."""
    if not isinstance(value, str):
        raise ValueError(f"expected a link (URL or relative path), got {value!r}")
    text = value.strip()
    if not text:
        raise ValueError("a link must not be empty: leave the field out instead")
    if len(text) > 2000:
        raise ValueError("a link longer than 2000 characters is not a link")
    if _CONTROL_CHARS.search(text):
        raise ValueError(f"a link must not contain control or bidi characters: {text!r}")
    if _MARKUP_CHARS.search(text):
        raise ValueError(f'a link must not contain <, >, " or `: {text!r}')
    scheme = _SCHEME.match(text)
    if scheme:
        name = scheme.group(1).lower()
        if name not in _URL_SCHEMES:
            raise ValueError(
                f"{text!r}: only https://, http:// and s3:// URLs or paths relative to the config folder are links"
            )
        parts = urlsplit(text)
        if not parts.netloc or " " in text:
            raise ValueError(f"{text!r} is not a URL: it needs a host (or bucket) and no spaces")
        return text
    if text.startswith(("/", "\\", "~")) or "\\" in text:
        raise ValueError(f"{text!r}: write a path relative to the config folder with '/' (not absolute, no '\\')")
    return text


Day = Annotated[date | DayOffset, PlainValidator(_parse_day), WithJsonSchema({"type": "string"})]
Link = Annotated[str, PlainValidator(_parse_link), WithJsonSchema({"type": "string"})]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Record(_Strict):
    """A dated governance record (an assessment, a report, an approval) and where the document is."""

    date: Day
    link: Link | None = None

    @model_validator(mode="before")
    @classmethod
    def _a_bare_date_is_a_record(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {"date": value}


class FairnessRecord(Record):
    """The latest fairness / bias report; `max_age_days` overrides the default interval for this model."""

    max_age_days: StrictInt | None = Field(default=None, ge=1, le=POLICY_YEAR_DAYS)


class GovernanceDefaults(_Strict):
    """Maximum ages of the periodic records. The policy says 12 months; a file may tighten, never relax."""

    risk_assessment_max_age_days: StrictInt = Field(default=POLICY_YEAR_DAYS, ge=1, le=POLICY_YEAR_DAYS)
    pia_max_age_days: StrictInt = Field(default=POLICY_YEAR_DAYS, ge=1, le=POLICY_YEAR_DAYS)
    fairness_report_max_age_days: StrictInt = Field(default=POLICY_YEAR_DAYS, ge=1, le=POLICY_YEAR_DAYS)


class Governance(_Strict):
    """A model's governance records; every field may be absent, and an absent record is a finding."""

    personal_data: StrictBool | None = None  # processes personal data (training or inference)
    high_stakes: StrictBool | None = None  # makes or supports high-stakes decisions (7.4); unset: its risk tier decides
    data_purpose: str | None = None  # why the data is collected and used (3.1)
    legal_basis: LegalBasis | None = None  # for personal data (3.1)
    risk_assessment: Record | None = None  # the latest (re)assessment (2.2)
    pia: Record | None = None  # the latest privacy impact assessment (3.4)
    fairness_report: FairnessRecord | None = None  # the latest fairness / bias report (4.2, 7.2)
    ethics_approval: Record | None = None  # the AI ethics review board's approval (7.1)
    documentation: Link | None = None  # model card: limitations and risks (7.3)
    human_oversight: Link | None = None  # the human-oversight procedure (7.4)

    def relative_dates(self) -> list[tuple[str, DayOffset]]:
        """(field path, value) of every date written relative to today."""
        found = []
        for name in ("risk_assessment", "pia", "fairness_report", "ethics_approval"):
            record = getattr(self, name)
            if record is not None and isinstance(record.date, DayOffset):
                found.append((f"governance.{name}.date", record.date))
        return found


def resolve(day: date | DayOffset, today: date) -> date:
    return today + timedelta(days=day.days) if isinstance(day, DayOffset) else day


# --- facts -----------------------------------------------------------------------------------------


def _dated(prefix: str, record: Record | None, today: date, max_age: int | None) -> dict[str, Any]:
    """Date, age, link and status of one record: current, overdue, future-dated or missing.

    A date after the collection day is not evidence of an assessment done (a typo or a plan): it fails.
    Without `max_age` (an approval does not expire) a record on or before today is `approved`.
    """
    facts: dict[str, Any] = {f"{prefix}_date": None, f"{prefix}_age_days": None, f"{prefix}_link": ""}
    if record is None:
        return {**facts, f"{prefix}_status": "missing"}
    day = resolve(record.date, today)
    age = (today - day).days
    if age < 0:
        status = "future-dated"
    elif max_age is None:
        status = "approved"
    else:
        status = "current" if age <= max_age else "overdue"
    return {
        f"{prefix}_date": day.isoformat(),
        f"{prefix}_age_days": age,
        f"{prefix}_link": record.link or "",
        f"{prefix}_status": status,
    }


def _data_use_missing(governance: Governance) -> str:
    """What 3.1 asks for and the entry lacks: a personal-data declaration, the data purpose, the legal basis."""
    missing = []
    if governance.personal_data is None:
        missing.append("personal_data")
    if not (governance.data_purpose or "").strip():
        missing.append("data_purpose")
    if governance.personal_data is not False and governance.legal_basis is None:
        missing.append("legal_basis")  # undeclared personal data is treated as personal data
    return ", ".join(missing)


def governance_facts(governance: Governance | None, defaults: GovernanceDefaults, today: date) -> dict[str, Any]:
    """The `model_inventory` columns of GOVERNANCE_COLUMNS for one model, on the collection day."""
    g = governance or Governance()
    fairness_max = (g.fairness_report.max_age_days if g.fairness_report else None) or (
        defaults.fairness_report_max_age_days
    )
    return {
        "personal_data": g.personal_data,
        "high_stakes": g.high_stakes,
        "data_purpose": (g.data_purpose or "").strip(),
        "legal_basis": g.legal_basis or "",
        "data_use_missing": _data_use_missing(g),
        **_dated("risk_assessment", g.risk_assessment, today, defaults.risk_assessment_max_age_days),
        "risk_assessment_max_age_days": defaults.risk_assessment_max_age_days,
        **_dated("pia", g.pia, today, defaults.pia_max_age_days),
        "pia_max_age_days": defaults.pia_max_age_days,
        **_dated("fairness_report", g.fairness_report, today, fairness_max),
        "fairness_report_max_age_days": fairness_max,
        **_dated("ethics_approval", g.ethics_approval, today, None),
        "documentation_link": g.documentation or "",
        "documentation_status": "linked" if g.documentation else "missing",
        "human_oversight_link": g.human_oversight or "",
        "human_oversight_status": "linked" if g.human_oversight else "missing",
    }


def _record_columns(prefix: str, what: str, statuses: str, max_age: bool = True) -> tuple[Column, ...]:
    columns = [
        Column(f"{prefix}_date", "date", f"date of the latest {what} (models.yaml); null: none recorded"),
        Column(f"{prefix}_age_days", "integer", f"days since that {what}, negative when future-dated; null: none"),
        Column(f"{prefix}_link", "string", f"where the {what} is (URL or path, never fetched); empty: none given"),
        Column(f"{prefix}_status", "string", statuses),
    ]
    if max_age:
        columns.append(Column(f"{prefix}_max_age_days", "integer", f"the oldest a {what} may be (models.yaml)"))
    return tuple(columns)


_PERIODIC = "current, overdue (older than its maximum age), future-dated or missing"
GOVERNANCE_COLUMNS: tuple[Column, ...] = (
    Column("personal_data", "boolean", "the model processes personal data (models.yaml); null: not declared"),
    Column(
        "high_stakes", "boolean", "the model supports high-stakes decisions; null: not declared (risk tier decides)"
    ),
    Column("data_purpose", "string", "documented purpose of the data collected and used (3.1)"),
    Column("legal_basis", "string", "GDPR Art. 6 legal basis for personal data; empty: none given"),
    Column("data_use_missing", "string", "comma-separated 3.1 fields the entry lacks; empty: none"),
    *_record_columns("risk_assessment", "risk assessment", _PERIODIC),
    *_record_columns("pia", "privacy impact assessment", _PERIODIC),
    *_record_columns("fairness_report", "fairness / bias report", _PERIODIC),
    *_record_columns("ethics_approval", "ethics board approval", "approved, future-dated or missing", max_age=False),
    Column("documentation_link", "string", "the model documentation (model card); empty: none"),
    Column("documentation_status", "string", "linked or missing"),
    Column("human_oversight_link", "string", "the human-oversight procedure; empty: none"),
    Column("human_oversight_status", "string", "linked or missing"),
)
