"""The model inventory and each model's drift evidence, read once per run from `configs/models.yaml`.

Four evidence tables, all facts and no verdicts:
- `model_inventory`: one row per entry, with the required fields it lacks (policy 4.1) and its governance
  records as facts (risk assessment, PIA, fairness report, ethics approval, documentation, oversight:
  dates, ages, statuses; tasks/drift/governance.py);
- `model_drift_reports`: one row per (model, source, schedule): when its latest report was written;
- `model_drift`: one row per (model, source, feature, statistic): the observed value, the threshold
  that governs it (the inventory's, else the tool's own) and `drift_margin`, signed so that a negative
  margin means past the threshold; complyflow's own PSI / KS report is these rows (source `computed`);
- `model_quality`: one row per (model, source, metric) with a floor: value, floor, `quality_margin`.
GX decides on the margins, so per-model thresholds need no per-model control. Rows carry the model
owner as their `owner` tag, so findings go to the model owner. `resource_arn` is the SageMaker endpoint
(or model) ARN when the inventory says where the model is deployed, else `complyflow:model/<model id>`.
Evidence that cannot be read leaves the value empty and records a gap: its controls report ERROR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from complyflow.core.tables import Column, TableSpec, call
from tasks.aws import error_code
from tasks.collect.base import CollectContext, Collector
from tasks.drift.governance import GOVERNANCE_COLUMNS, GovernanceDefaults, governance_facts
from tasks.drift.inventory import DriftSources, Inventory, ModelEntry, load_inventory, metric_name, normalise_floors
from tasks.drift.report import DriftReport, MalformedReport, MissingMetric, NoDriftSource, Statistic
from tasks.drift.sources import computed_report, evidently_report, model_monitor_reports
from tasks.drift.storage import Store

INVENTORY = "model_inventory"
REPORTS = "model_drift_reports"
DRIFT = "model_drift"
QUALITY = "model_quality"
RESOURCE_TYPE = "AiModel"
#: What a source that cannot be read may raise; anything else is a bug and should surface.
READ_ERRORS = (ClientError, BotoCoreError, OSError, ValueError)
Reader = Callable[[], list[DriftReport]]


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a model's rows are about: its ARN (or complyflow id), region and owner tag."""

    model: ModelEntry
    arn: str
    region: str
    tags: dict[str, str]

    def facts(self) -> dict[str, Any]:
        return {
            "model_id": self.model.id,
            "lifecycle_status": self.model.status or "",
            "risk_tier": self.model.risk_tier or "",
        }


def model_arn(model: ModelEntry, account: str) -> str:
    """The deployment's SageMaker ARN (names lower-cased, as SageMaker writes them), else `complyflow:model/<id>`."""
    deployment = model.deployment
    if deployment is None or deployment.region is None:
        return f"complyflow:model/{model.id}"
    kind, name = (
        ("endpoint", deployment.sagemaker_endpoint)
        if deployment.sagemaker_endpoint
        else ("model", deployment.sagemaker_model)
    )
    return f"arn:aws:sagemaker:{deployment.region}:{deployment.account or account}:{kind}/{str(name).lower()}"


def subject(ctx: CollectContext, model: ModelEntry) -> Subject:
    owner = (model.owner or "").strip()
    region = model.deployment.region if model.deployment and model.deployment.region else ctx.region
    return Subject(model, model_arn(model, ctx.account_id), region, {"owner": owner} if owner else {})


def collect_model_drift(ctx: CollectContext) -> None:
    inventory = load_inventory(ctx.config_dir)
    store = Store(lambda: ctx.client("s3"), ctx.config_dir)
    for model in inventory.models:
        who = subject(ctx, model)
        record_inventory(ctx, who, inventory.defaults.governance)
        if model.status == "retired":
            continue  # a retired model is no longer monitored
        reports = read_reports(ctx, who, store, inventory)
        for report in reports:
            record_drift(ctx, who, report, inventory)
        record_quality(ctx, who, reports, inventory)


def record_inventory(ctx: CollectContext, who: Subject, governance: GovernanceDefaults) -> None:
    model = who.model
    today = (ctx.as_of if ctx.as_of.tzinfo else ctx.as_of.replace(tzinfo=UTC)).astimezone(UTC).date()
    sources = model.drift
    configured = [name for name in ("model_monitor", "evidently", "reference") if sources and getattr(sources, name)]
    ctx.add(
        INVENTORY,
        resource_arn=who.arn,
        resource_type=RESOURCE_TYPE,
        resource_name=model.id,
        resource_id=model.id,
        tags=who.tags,
        region=who.region,
        **who.facts(),
        purpose=model.purpose or "",
        inventory_owner=model.owner or "",
        sagemaker_endpoint=(model.deployment.sagemaker_endpoint or "") if model.deployment else "",
        drift_sources=", ".join("computed" if n == "reference" else n.replace("_", "-") for n in configured),
        missing_fields=", ".join(model.missing_fields()),
        **governance_facts(model.governance, governance, today),
    )


def _readers(sources: DriftSources | None, store: Store, bins: int) -> list[tuple[str, str, Reader]]:
    """(source, location, reader) for every source the model names."""
    if sources is None:
        return []
    readers: list[tuple[str, str, Reader]] = []
    if sources.model_monitor:
        readers.append(
            ("model-monitor", sources.model_monitor, partial(model_monitor_reports, store, sources.model_monitor))
        )
    if sources.evidently:
        location = sources.evidently
        readers.append(("evidently", location, lambda: [evidently_report(store, location)]))
    if sources.reference and sources.current:
        readers.append(("computed", sources.current, lambda: [computed_report(store, sources, bins)]))
    return readers


def read_reports(ctx: CollectContext, who: Subject, store: Store, inventory: Inventory) -> list[DriftReport]:
    """Every readable report of the model, with one `model_drift_reports` row per source (or per failure)."""
    readers = _readers(who.model.drift, store, inventory.defaults.psi_bins)
    if not readers and who.model.status == "production":
        rid = f"{who.model.id}/none"
        ctx.gap(
            "ReadModelInventory",
            NoDriftSource(
                f"{who.model.id}: production model with no drift source in "
                "models.yaml (model_monitor, evidently or reference+current)"
            ),
            resource_id=rid,
            tables=(REPORTS,),
        )
        _report_row(ctx, who, rid, "none", "", "", None, error="no drift source in models.yaml")
    reports: list[DriftReport] = []
    for source, location, read in readers:
        try:
            found = read()
        except READ_ERRORS as exc:
            _source_failed(ctx, who, source, location, exc)
            continue
        for report in found:
            rid = "/".join(p for p in (who.model.id, report.source, report.name) if p)
            _report_row(
                ctx,
                who,
                rid,
                report.source,
                report.name,
                report.uri,
                report.report_time,
                features_checked=len({s.feature for s in report.statistics}),
            )
            reports.append(report)
    return reports


def _source_failed(ctx: CollectContext, who: Subject, source: str, location: str, exc: Exception) -> None:
    """An unreadable source: no report age (freshness ERROR where it applies) and a drift row with the reason.

    The gap is recorded on the drift row only: a gap on the report row would turn it into an ERROR even for
    models the freshness control does not apply to; the report row keeps the reason as `report_error`.
    """
    rid = f"{who.model.id}/{source}"
    operation = f"Read{source.title().replace('-', '')}Report"
    _report_row(ctx, who, rid, source, "", location, None, error=f"{operation} {error_code(exc)}: {exc}"[:500])
    drift_id = f"{rid}/(report)"
    ctx.gap(operation, exc, resource_id=drift_id, tables=(DRIFT,))
    _drift_row(
        ctx,
        who,
        drift_id,
        f"{who.model.id} drift report ({source})",
        source=source,
        report="",
        feature="(report)",
        statistic="report",
        value=None,
        threshold=None,
        bound="",
        margin=None,
        ks_statistic=None,
        detail=f"unreadable: {exc}"[:500],
        report_time=None,
        report_uri=location,
    )


def _report_row(
    ctx: CollectContext,
    who: Subject,
    rid: str,
    source: str,
    name: str,
    uri: str,
    when: datetime | None,
    features_checked: int = 0,
    error: str = "",
) -> None:
    ctx.add(
        REPORTS,
        resource_arn=who.arn,
        resource_type=RESOURCE_TYPE,
        resource_id=rid,
        resource_name=" ".join(p for p in (who.model.id, source, name) if p),
        tags=who.tags,
        region=who.region,
        **who.facts(),
        source=source,
        report=name,
        report_uri=uri,
        report_time=_iso(when),
        report_age_days=ctx.days_since(when),
        features_checked=features_checked,
        report_error=error,
    )


def record_drift(ctx: CollectContext, who: Subject, report: DriftReport, inventory: Inventory) -> None:
    label = " ".join(p for p in (report.source, report.name) if p)
    seen: set[tuple[str, str]] = set()
    for stat in report.statistics:
        if (stat.feature, stat.statistic) in seen:
            continue  # the same column reported by two metrics of one report: the first one counts
        seen.add((stat.feature, stat.statistic))
        rid = "/".join(p for p in (who.model.id, report.source, report.name, stat.feature, stat.statistic) if p)
        threshold = (
            inventory.threshold(who.model, stat.feature, stat.governed_by) if stat.governed_by else stat.threshold
        )
        margin, problem = _margin(stat, threshold)
        if problem is not None:
            ctx.gap("EvaluateDriftReport", problem, resource_id=rid, tables=(DRIFT,))
        _drift_row(
            ctx,
            who,
            rid,
            f"{who.model.id} {stat.feature} {stat.statistic} ({label})",
            source=report.source,
            report=report.name,
            feature=stat.feature,
            statistic=stat.statistic,
            value=stat.value,
            threshold=threshold,
            bound=stat.bound or "",
            margin=margin,
            ks_statistic=stat.ks_statistic,
            detail=stat.detail,
            report_time=report.report_time,
            report_uri=report.uri,
        )


def _margin(stat: Statistic, threshold: float | None) -> tuple[float | None, Exception | None]:
    """threshold − value for `max` statistics, value − threshold for `min` ones: negative is past the threshold."""
    if stat.error is not None:
        return None, stat.error
    if stat.value is None or stat.bound is None:
        return None, MalformedReport(f"{stat.feature}: {stat.statistic} has no value or no known direction")
    if threshold is None:
        return None, MalformedReport(
            f"{stat.feature}: {stat.statistic} has no threshold in the report and none in models.yaml"
        )
    return (threshold - stat.value if stat.bound == "max" else stat.value - threshold), None


def _drift_row(
    ctx: CollectContext,
    who: Subject,
    rid: str,
    name: str,
    *,
    source: str,
    report: str,
    feature: str,
    statistic: str,
    value: float | None,
    threshold: float | None,
    bound: str,
    margin: float | None,
    ks_statistic: float | None,
    detail: str,
    report_time: datetime | None,
    report_uri: str,
) -> None:
    ctx.add(
        DRIFT,
        resource_arn=who.arn,
        resource_type=RESOURCE_TYPE,
        resource_id=rid,
        resource_name=name,
        tags=who.tags,
        region=who.region,
        **who.facts(),
        source=source,
        report=report,
        feature=feature,
        statistic=statistic,
        value=value,
        threshold=threshold,
        bound=bound,
        drift_margin=margin,
        ks_statistic=ks_statistic,
        detail=detail,
        report_time=_iso(report_time),
        report_uri=report_uri,
    )


def record_quality(ctx: CollectContext, who: Subject, reports: list[DriftReport], inventory: Inventory) -> None:
    """Metrics with a floor, as reported; a floor declared on the model that no report carries is an ERROR."""
    floors = inventory.quality_floors(who.model)
    carried: set[str] = set()
    for report in reports:
        for raw_name, value in report.quality.items():
            metric = metric_name(raw_name)
            if metric not in floors:
                continue  # no floor: the policy sets no expectation on this metric
            carried.add(metric)
            rid = "/".join(p for p in (who.model.id, report.source, report.name, metric) if p)
            label = " ".join(p for p in (report.source, report.name) if p)
            _quality_row(
                ctx,
                who,
                rid,
                f"{who.model.id} {metric} ({label})",
                report.source,
                report.name,
                metric,
                value,
                floors[metric],
                report.report_time,
            )
    for metric in sorted(set(normalise_floors(who.model.quality_floors)) - carried):
        rid = f"{who.model.id}/{metric}"
        ctx.gap(
            "ReadQualityMetric",
            MissingMetric(
                f"{who.model.id}: no readable drift report carries {metric!r}, which has a floor in models.yaml"
            ),
            resource_id=rid,
            tables=(QUALITY,),
        )
        _quality_row(ctx, who, rid, f"{who.model.id} {metric}", "", "", metric, None, floors[metric], None)


def _quality_row(
    ctx: CollectContext,
    who: Subject,
    rid: str,
    name: str,
    source: str,
    report: str,
    metric: str,
    value: float | None,
    floor: float,
    when: datetime | None,
) -> None:
    ctx.add(
        QUALITY,
        resource_arn=who.arn,
        resource_type=RESOURCE_TYPE,
        resource_id=rid,
        resource_name=name,
        tags=who.tags,
        region=who.region,
        **who.facts(),
        source=source,
        report=report,
        metric=metric,
        value=value,
        floor=floor,
        quality_margin=None if value is None else value - floor,
        report_time=_iso(when),
    )


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat() if moment else ""


_MODEL = (
    Column("model_id", "string", "the models.yaml entry's id"),
    Column("lifecycle_status", "string", "development, staging, production or retired (models.yaml)"),
    Column("risk_tier", "string", "the entry's risk tier (models.yaml)"),
)
_REPORT = (
    Column("source", "string", "model-monitor, evidently or computed (complyflow's own PSI / KS)"),
    Column("report", "string", "the report's name within its source (e.g. a monitoring schedule)"),
)
#: Where drift reports are read from: the s3:// locations in models.yaml (policy: S3 reads narrowed to them).
DRIFT_REPORT_OBJECTS = "drift-report-objects"
DRIFT_REPORT_BUCKETS = "drift-report-buckets"

COLLECTOR = Collector(
    name="model-inventory",
    service="model-inventory",
    scope="organization",
    declares=(
        TableSpec(
            INVENTORY,
            "One row per models.yaml entry: inventory fields (4.1) and governance records (2.2, 3.1, 3.4, 7.1-7.4).",
            (
                *_MODEL,
                Column("purpose", "string", "what the model is for"),
                Column("inventory_owner", "string", "the owner named in models.yaml"),
                Column("sagemaker_endpoint", "string", "the endpoint it is deployed on; empty: none named"),
                Column("drift_sources", "string", "comma-separated drift sources configured"),
                Column("missing_fields", "string", "comma-separated required fields the entry lacks; empty: none"),
                *GOVERNANCE_COLUMNS,
            ),
        ),
        TableSpec(
            REPORTS,
            "One row per (model, drift source, report): when its latest report was written.",
            (
                *_MODEL,
                *_REPORT,
                Column("report_uri", "string", "where the report was read"),
                Column("report_time", "date", "ISO time the report was written"),
                Column("report_age_days", "integer", "days since report_time; null: unreadable"),
                Column("features_checked", "integer", "features the report covers"),
                Column("report_error", "string", "why the source could not be read; empty: read"),
            ),
        ),
        TableSpec(
            DRIFT,
            "One row per (model, source, report, feature, statistic).",
            (
                *_MODEL,
                *_REPORT,
                Column("feature", "string", "the input feature (or (report) for an unreadable source)"),
                Column("statistic", "string", "psi, ks_pvalue, constraint_violations, drift_score, …"),
                Column("value", "number", "the observed statistic"),
                Column("threshold", "number", "the threshold governing it (models.yaml, else the tool's)"),
                Column("bound", "string", "max or min: which side of the threshold is drift"),
                Column("drift_margin", "number", "distance to the threshold, negative when past it"),
                Column("ks_statistic", "number", "the KS D statistic, for computed KS rows"),
                Column("detail", "string", "the tool's own words on the feature"),
                Column("report_time", "date", "ISO time the report was written"),
                Column("report_uri", "string", "where the report was read"),
            ),
        ),
        TableSpec(
            QUALITY,
            "One row per (model, source, report, quality metric with a floor in models.yaml).",
            (
                *_MODEL,
                *_REPORT,
                Column("metric", "string", "normalised metric name, e.g. auc, accuracy"),
                Column("value", "number", "the reported value"),
                Column("floor", "number", "the floor models.yaml sets"),
                Column("quality_margin", "number", "value - floor, negative when below the floor"),
                Column("report_time", "date", "ISO time the report was written"),
            ),
        ),
    ),
    calls=(
        call(
            "s3",
            "ListObjectsV2",
            when="a drift source in models.yaml is an s3:// prefix",
            action="s3:ListBucket",
            resources=DRIFT_REPORT_BUCKETS,
        ),
        call(
            "s3",
            "GetObject",
            when="a drift source in models.yaml is on S3",
            resources=DRIFT_REPORT_OBJECTS,
        ),
        call(
            "s3",
            "HeadObject",
            when="a drift source in models.yaml is on S3",
            action="s3:GetObject",
            resources=DRIFT_REPORT_OBJECTS,
        ),
    ),
    collect=collect_model_drift,
    description="Model inventory (models.yaml) and drift reports: Model Monitor, Evidently, computed PSI / KS",
)
