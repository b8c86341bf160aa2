"""One register row → a validated vendor record, or errors naming the row's line and field.

Every source (YAML, CSV, DynamoDB, S3) yields `RawRow`s: plain values plus where they came from. A
row that fails its schema is kept as errors, so that its vendor shows as ERROR while every other
vendor is still evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from tasks.vendors.fields import answer_text, date_from_context, slug

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CalendarDate = Annotated[date, BeforeValidator(date_from_context)]
OptionalDate = Annotated[date | None, BeforeValidator(date_from_context)]


@dataclass(frozen=True)
class Location:
    """Where a row (and each of its fields) sits in its source, for error messages a person can act on."""

    source: str  # e.g. "configs/vendors.yaml", "dynamodb table vendor-register (eu-west-1)"
    line: int | None = None  # the row's first line; None for sources without lines (DynamoDB)
    item: str | None = None  # the row's key where there are no lines
    field_lines: Mapping[str, int] = field(default_factory=dict)

    def at(self, name: str | None = None) -> str:
        """`source line N` for the field (or the row), else `source item K`."""
        line = self.line
        if name:
            for candidate in _prefixes(name):
                if candidate in self.field_lines:
                    line = self.field_lines[candidate]
                    break
        if line is not None:
            return f"{self.source} line {line}"
        return f"{self.source} {self.item}" if self.item else self.source


def _prefixes(name: str) -> list[str]:
    """`certifications[1].expires` → itself, `certifications[1]`, `certifications`."""
    parts = [name]
    while True:
        cut = max(name.rfind("."), name.rfind("["))
        if cut <= 0:
            return parts
        name = name[:cut]
        parts.append(name)


@dataclass(frozen=True)
class RawRow:
    data: Any  # a mapping when well-formed; anything else is reported as a row error
    location: Location


@dataclass(frozen=True)
class Answer:
    text: str
    where: str  # line of the register or of the vendor's answers file


class Certification(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1)
    expires: CalendarDate


def _certifications(value: Any) -> Any:
    """`ISO 27001=2027-03-31; SOC 2 Type II=2026-11-30` (CSV cells) → a list of {name, expires}."""
    if not isinstance(value, str):
        return value
    items = []
    for part in filter(None, (p.strip() for p in value.split(";"))):
        name, sep, expires = part.rpartition("=")
        if not sep:
            raise ValueError(f"{part!r}: write each certification as NAME=YYYY-MM-DD, separated by ';'")
        items.append({"name": name.strip(), "expires": expires.strip()})
    return items


def _answers(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("expected a mapping of question id → answer")
    texts = {str(k): answer_text(v) for k, v in value.items()}
    return {k: v for k, v in texts.items() if v is not None}


class VendorRecord(BaseModel):
    """One vendor as the register states it; dates resolved against the collection date."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    vendor: str = Field(min_length=1)
    service: str = Field(min_length=1)
    risk_tier: Literal["critical", "high", "medium", "low"]
    personal_data: bool
    uses_ai: bool
    business_owner: str = Field(min_length=1)
    security_owner: str = Field(pattern=EMAIL)
    last_assessment: CalendarDate
    next_review_due: OptionalDate = None
    questionnaire_sent: OptionalDate = None
    questionnaire_received: OptionalDate = None
    dpa_signed: OptionalDate = None
    certifications: Annotated[list[Certification], BeforeValidator(_certifications)] = Field(default_factory=list)
    right_to_audit: bool
    contract_end: OptionalDate = None
    answers: Annotated[dict[str, str], BeforeValidator(_answers)] = Field(default_factory=dict)

    @field_validator("last_assessment", "questionnaire_sent", "questionnaire_received", "dpa_signed")
    @classmethod
    def _not_in_future(cls, value: date | None, info: ValidationInfo) -> date | None:
        today = (info.context or {})["today"]
        if value is not None and value > today:
            raise ValueError(f"{value.isoformat()} is in the future (collection date {today.isoformat()})")
        return value

    @property
    def key(self) -> str:
        return self.id or slug(self.vendor)


@dataclass
class ParsedRow:
    """A register row after validation: a record, or the errors that keep it from being one."""

    location: Location
    raw: Any
    record: VendorRecord | None = None
    errors: list[str] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)

    def _raw(self, name: str) -> str:
        value = self.raw.get(name) if isinstance(self.raw, Mapping) else None
        return value.strip() if isinstance(value, str) else ""

    @property
    def name(self) -> str:
        return self._raw("vendor") or f"row at {self.location.at()}"

    @property
    def key(self) -> str:
        if self.record is not None:
            return self.record.key
        fallback = f"line-{self.location.line}" if self.location.line else "unnamed"
        return slug(self._raw("id") or self._raw("vendor")) or fallback

    def error(self, name: str | None, message: str) -> None:
        where = self.location.at(name)
        self.errors.append(f"{where}: field {name}: {message}" if name else f"{where}: {message}")


KNOWN_FIELDS = tuple(VendorRecord.model_fields)


def _field_name(loc: tuple[int | str, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind in ("model_type", "dict_type"):
        return f"expected a mapping of field: value, got {error.get('input')!r}"
    if kind == "extra_forbidden":
        return f"unknown field (known fields: {', '.join(KNOWN_FIELDS)})"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    shown = "" if kind == "value_error" or isinstance(value, Mapping | list) else f" (got {value!r})"
    return message + shown


def parse_row(row: RawRow, *, today: date, relative_dates: bool, question_ids: set[str]) -> ParsedRow:
    """Validate one row; on failure the errors name the row's line and the field at fault."""
    parsed = ParsedRow(location=row.location, raw=row.data)
    try:
        record = VendorRecord.model_validate(row.data, context={"today": today, "relative_dates": relative_dates})
    except ValidationError as exc:
        for error in exc.errors():
            parsed.error(_field_name(error["loc"]) or None, _message(error))
        return parsed
    for question in sorted(set(record.answers) - question_ids):
        parsed.error(f"answers.{question}", f"unknown question (known: {', '.join(sorted(question_ids))})")
    if parsed.errors:
        return parsed
    parsed.record = record
    parsed.answers = {q: Answer(text, row.location.at(f"answers.{q}")) for q, text in record.answers.items()}
    return parsed
