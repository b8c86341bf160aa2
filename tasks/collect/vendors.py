"""The vendor register as evidence: one row per vendor, per (vendor, certification) and per (vendor, question).

Read once per run (organisation scope) from the source `configs/vendors.yaml` names. Dates become
day counts relative to the collection time (`ctx.as_of`, injectable in tests): negative means
passed. The collector records facts only; the control YAMLs hold every window and threshold.

A malformed row still yields its rows, with every fact empty, plus an evidence gap naming the line
and field: each vendor control then reports ERROR for that vendor while the others are evaluated.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from complyflow.core.config import DEFAULT_CONFIG_DIR
from complyflow.core.tables import Column, TableSpec, call
from tasks.collect.base import CollectContext, Collector
from tasks.vendors.answers import check_answer_folder, merge_answer_file
from tasks.vendors.fields import slug
from tasks.vendors.questionnaire import Questionnaire, load_questionnaire
from tasks.vendors.register import ParsedRow, VendorRecord, parse_row
from tasks.vendors.settings import VendorSettings, load_settings
from tasks.vendors.sources import read_rows, shown_path

VENDORS, CERTIFICATIONS, ANSWERS = "vendors", "vendor_certifications", "vendor_answers"
TABLES = (VENDORS, CERTIFICATIONS, ANSWERS)
RESOURCE_TYPE = "Vendor"
OPERATION = "ReadVendorRegister"

VENDOR_FACTS = (
    "vendor_id",
    "vendor",
    "service",
    "risk_tier",
    "personal_data",
    "uses_ai",
    "business_owner",
    "security_owner",
    "last_assessment",
    "next_review_due",
    "review_interval_days",
    "review_due",
    "review_due_basis",
    "review_due_in_days",
    "days_since_assessment",
    "questionnaire_sent",
    "questionnaire_received",
    "questionnaire_outstanding",
    "days_since_questionnaire_sent",
    "dpa_signed",
    "dpa_in_place",
    "right_to_audit",
    "contract_end",
    "days_until_contract_end",
    "questions_applicable",
    "questions_unanswered",
    "ai_questions_unanswered",
    "register_location",
    "register_errors",
)
CERTIFICATION_FACTS = ("vendor_id", "vendor", "certification", "required", "held", "expires", "days_until_expiry")
ANSWER_FACTS = (
    "vendor_id",
    "vendor",
    "question_id",
    "question",
    "topic",
    "ai_specific",
    "answered",
    "answer",
    "required_answer",
    "answer_meets_policy",
    "answer_location",
)


class RegisterRowError(ValueError):
    """A register row (or one answer) that does not match its schema; the message names line and field."""


def collect_vendors(ctx: CollectContext) -> None:
    config_dir = ctx.config_dir or DEFAULT_CONFIG_DIR
    settings = load_settings(config_dir)
    questionnaire = load_questionnaire(config_dir)
    as_of = ctx.as_of if ctx.as_of.tzinfo else ctx.as_of.replace(tzinfo=UTC)
    today = as_of.astimezone(UTC).date()
    rows = read_rows(settings, config_dir, lambda service, region: ctx.client(service, region))
    parsed = [
        parse_row(row, today=today, relative_dates=settings.source.relative_dates, question_ids=questionnaire.ids)
        for row in rows
    ]
    if settings.source.answers_dir:
        folder = config_dir / settings.source.answers_dir
        check_answer_folder(folder, shown_path(folder, config_dir), {row.key for row in parsed})
        for row in parsed:
            merge_answer_file(row, folder, shown_path(folder, config_dir), questionnaire.ids)
    for row, resource_key in zip(parsed, _resource_keys(parsed), strict=True):
        if row.record is not None:
            _add_vendor(ctx, row, row.record, settings, questionnaire, today)
        else:
            _add_malformed(ctx, row, resource_key)


def _resource_keys(parsed: list[ParsedRow]) -> list[str]:
    """Unique row keys in register order; a later row reusing a vendor id is an error, not an overwrite."""
    first: dict[str, str] = {}
    keys = []
    for index, row in enumerate(parsed, start=1):
        key = row.key
        if key in first:
            row.errors.append(
                f"{row.location.at('vendor')}: field id: duplicate vendor id {key!r} (first at "
                f"{first[key]}); give each vendor a distinct `id`"
            )
            row.record = None
            key = f"{key}@{index}"
        else:
            first[key] = row.location.at()
        keys.append(key)
    return keys


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _days(later: date | None, earlier: date | None) -> int | None:
    return (later - earlier).days if later is not None and earlier is not None else None


def _vendor_arn(key: str) -> str:
    return f"complyflow:vendor/{key}"


def _tags(record: VendorRecord) -> dict[str, str]:
    """The security owner routes findings (tasks/owners.py reads `owner`)."""
    return {"owner": record.security_owner, "business_owner": record.business_owner}


def _add_vendor(
    ctx: CollectContext,
    row: ParsedRow,
    record: VendorRecord,
    settings: VendorSettings,
    questionnaire: Questionnaire,
    today: date,
) -> None:
    key = record.key
    common: dict[str, Any] = {"resource_type": RESOURCE_TYPE, "tags": _tags(record)}
    answered = _add_answers(ctx, row, record, questionnaire, common)
    _add_certifications(ctx, record, settings, today, common)

    interval = settings.review_intervals_days[record.risk_tier]
    by_interval = date.fromordinal(record.last_assessment.toordinal() + interval)
    due, basis = by_interval, "review interval"
    if record.next_review_due is not None and record.next_review_due <= by_interval:
        due, basis = record.next_review_due, "next_review_due"
    sent, received = record.questionnaire_sent, record.questionnaire_received
    ctx.add(
        VENDORS,
        resource_arn=_vendor_arn(key),
        resource_id=f"vendor:{key}",
        resource_name=record.vendor,
        **common,
        vendor_id=key,
        vendor=record.vendor,
        service=record.service,
        risk_tier=record.risk_tier,
        personal_data=record.personal_data,
        uses_ai=record.uses_ai,
        business_owner=record.business_owner,
        security_owner=record.security_owner,
        last_assessment=_iso(record.last_assessment),
        next_review_due=_iso(record.next_review_due),
        review_interval_days=interval,
        review_due=_iso(due),
        review_due_basis=basis,
        review_due_in_days=_days(due, today),
        days_since_assessment=_days(today, record.last_assessment),
        questionnaire_sent=_iso(sent),
        questionnaire_received=_iso(received),
        # A questionnaire sent after the last one came back is outstanding again.
        questionnaire_outstanding=sent is not None and (received is None or received < sent),
        days_since_questionnaire_sent=_days(today, sent),
        dpa_signed=_iso(record.dpa_signed),
        dpa_in_place=record.dpa_signed is not None,
        right_to_audit=record.right_to_audit,
        contract_end=_iso(record.contract_end),
        days_until_contract_end=_days(record.contract_end, today),
        questions_applicable=answered["applicable"],
        questions_unanswered=answered["unanswered"],
        ai_questions_unanswered=answered["ai_unanswered"],
        register_location=row.location.at(),
        register_errors=None,
    )


def _add_answers(
    ctx: CollectContext, row: ParsedRow, record: VendorRecord, questionnaire: Questionnaire, common: dict[str, Any]
) -> dict[str, int]:
    """One row per applicable question; an answer that is not of the question's kind is an ERROR, not a FAIL."""
    counts = {"applicable": 0, "unanswered": 0, "ai_unanswered": 0}
    key = record.key
    for question in questionnaire.questions:
        if not question.applies(personal_data=record.personal_data, uses_ai=record.uses_ai):
            continue
        counts["applicable"] += 1
        answer = row.answers.get(question.id)
        resource_id = f"vendor:{key}/question:{question.id}"
        meets: bool | None = None
        if answer is None:
            counts["unanswered"] += 1
            counts["ai_unanswered"] += question.ai_specific
        else:
            try:
                meets = question.meets(answer.text)
            except ValueError as exc:
                ctx.gap(
                    OPERATION,
                    RegisterRowError(f"{answer.where}: field answers.{question.id}: {exc}"),
                    resource_id=resource_id,
                    tables=(ANSWERS,),
                )
        ctx.add(
            ANSWERS,
            resource_arn=f"{_vendor_arn(key)}/question/{question.id}",
            resource_id=resource_id,
            resource_name=f"{record.vendor}: {question.id}",
            **common,
            vendor_id=key,
            vendor=record.vendor,
            question_id=question.id,
            question=question.text,
            topic=question.topic,
            ai_specific=question.ai_specific,
            answered=answer is not None,
            answer=answer.text if answer else None,
            required_answer=question.requirement(),
            answer_meets_policy=meets,
            answer_location=answer.where if answer else None,
        )
    return counts


def _normal(name: str) -> str:
    return " ".join(name.casefold().split())


def _add_certifications(
    ctx: CollectContext, record: VendorRecord, settings: VendorSettings, today: date, common: dict[str, Any]
) -> None:
    """Rows for every required certification (held or not) and every other one held; latest expiry wins."""
    held: dict[str, tuple[str, date]] = {}
    for cert in record.certifications:
        known = held.get(_normal(cert.name))
        if known is None or cert.expires > known[1]:
            held[_normal(cert.name)] = (cert.name, cert.expires)
    required = {_normal(name): name for name in settings.required_for(record.risk_tier)}
    names = {**{k: v[0] for k, v in held.items()}, **required}
    for normal, name in sorted(names.items()):
        expires = held[normal][1] if normal in held else None
        ctx.add(
            CERTIFICATIONS,
            resource_arn=f"{_vendor_arn(record.key)}/certification/{slug(name)}",
            resource_id=f"vendor:{record.key}/certification:{slug(name)}",
            resource_name=f"{record.vendor}: {name}",
            **common,
            vendor_id=record.key,
            vendor=record.vendor,
            certification=name,
            required=normal in required,
            held=normal in held,
            expires=_iso(expires),
            days_until_expiry=_days(expires, today),
        )


def _add_malformed(ctx: CollectContext, row: ParsedRow, key: str) -> None:
    """Empty facts in every table plus one gap per table: every vendor control says ERROR for this vendor."""
    error = RegisterRowError("; ".join(row.errors))
    owner = row.raw.get("security_owner") if isinstance(row.raw, dict) else None
    tags = {"owner": owner.strip()} if isinstance(owner, str) and "@" in owner else {}
    for table, suffix, facts in (
        (VENDORS, "", VENDOR_FACTS),
        (CERTIFICATIONS, "/certifications", CERTIFICATION_FACTS),
        (ANSWERS, "/answers", ANSWER_FACTS),
    ):
        resource_id = f"vendor:{key}{suffix}"
        values: dict[str, Any] = dict.fromkeys(facts)
        if table == VENDORS:
            values.update(register_location=row.location.at(), register_errors=str(error))
        ctx.add(
            table,
            resource_arn=_vendor_arn(key) + suffix,
            resource_id=resource_id,
            resource_name=row.name,
            resource_type=RESOURCE_TYPE,
            tags=tags,
            **values,
        )
        ctx.gap(OPERATION, error, resource_id=resource_id, tables=(table,))


_VENDOR = (
    Column("vendor_id", "string", "the register's vendor id"),
    Column("vendor", "string", "the vendor's name"),
)
#: The vendor register when it lives in AWS (vendors.yaml `source`): the policy grants reads on it only.
VENDOR_REGISTER = "vendor-register"
_COUNT = "integer"

COLLECTOR = Collector(
    name="vendors",
    service="vendors",
    scope="organization",
    declares=(
        TableSpec(
            VENDORS,
            "One row per vendor of the register; dates are also given as day counts from the run (negative: past).",
            (
                *_VENDOR,
                Column("service", "string", "what the vendor provides"),
                Column("risk_tier", "string", "critical, high, medium or low"),
                Column("personal_data", "boolean", "the vendor processes personal data"),
                Column("uses_ai", "boolean", "the vendor's service uses AI"),
                Column("business_owner", "string", "who owns the relationship"),
                Column("security_owner", "string", "who owns the vendor's security review (routes findings)"),
                Column("last_assessment", "date", "date of the last security assessment"),
                Column("next_review_due", "date", "review date set in the register, if any"),
                Column("review_interval_days", _COUNT, "review interval of the vendor's risk tier (vendors.yaml)"),
                Column("review_due", "date", "the earlier of next_review_due and last_assessment + interval"),
                Column("review_due_basis", "string", "which of the two set review_due"),
                Column("review_due_in_days", _COUNT, "days until review_due (negative: overdue)"),
                Column("days_since_assessment", _COUNT, "days since last_assessment"),
                Column("questionnaire_sent", "date", "when the last security questionnaire was sent"),
                Column("questionnaire_received", "date", "when the last answers came back"),
                Column("questionnaire_outstanding", "boolean", "a questionnaire was sent and not answered since"),
                Column("days_since_questionnaire_sent", _COUNT, "days since questionnaire_sent"),
                Column("dpa_signed", "date", "when the data processing agreement was signed"),
                Column("dpa_in_place", "boolean", "a data processing agreement is signed"),
                Column("right_to_audit", "boolean", "the contract grants a right to audit"),
                Column("contract_end", "date", "contract end date"),
                Column("days_until_contract_end", _COUNT, "days until contract_end (negative: ended)"),
                Column("questions_applicable", _COUNT, "questionnaire questions that apply to the vendor"),
                Column("questions_unanswered", _COUNT, "applicable questions without an answer"),
                Column("ai_questions_unanswered", _COUNT, "AI-specific applicable questions without an answer"),
                Column("register_location", "string", "file and line (or item) of the register row"),
                Column("register_errors", "string", "why the row could not be read; null: it could"),
            ),
        ),
        TableSpec(
            CERTIFICATIONS,
            "One row per (vendor, certification) required for its tier or held.",
            (
                *_VENDOR,
                Column("certification", "string", "e.g. ISO 27001, SOC 2 Type II"),
                Column("required", "boolean", "required for the vendor's risk tier (vendors.yaml)"),
                Column("held", "boolean", "the register lists it"),
                Column("expires", "date", "its expiry date (latest, if listed twice)"),
                Column("days_until_expiry", _COUNT, "days until expires (negative: expired)"),
            ),
        ),
        TableSpec(
            ANSWERS,
            "One row per (vendor, applicable questionnaire question).",
            (
                *_VENDOR,
                Column("question_id", "string", "the questionnaire's question id"),
                Column("question", "string", "the question's text"),
                Column("topic", "string", "the question's topic"),
                Column("ai_specific", "boolean", "the question is about AI"),
                Column("answered", "boolean", "an answer was given"),
                Column("answer", "string", "the vendor's answer"),
                Column("required_answer", "string", "what the policy requires, in words"),
                Column("answer_meets_policy", "boolean", "the answer meets the requirement; null: unanswered"),
                Column("answer_location", "string", "where the answer was read"),
            ),
        ),
    ),
    calls=(
        call("dynamodb", "Scan", when="vendors.yaml source kind: dynamodb", resources=VENDOR_REGISTER),
        call("s3", "GetObject", when="vendors.yaml source kind: s3", resources=VENDOR_REGISTER),
    ),
    collect=collect_vendors,
    description="Vendor register (configs/vendors.yaml source), certifications and questionnaire answers",
)
