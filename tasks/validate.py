"""Great Expectations decides every verdict.

For each evidence table, one GX suite is built from the catalog: per control, its rule (with the
control's applicability as a row condition) and a completeness check on the same column, because GX
column-map expectations skip nulls and a missing value must never read as PASS. GX's failing row ids
become FAIL findings, incomplete rows and evidence gaps become ERROR, the other applicable rows PASS.
When GX cannot evaluate an expectation (a missing column, a broken `applies_when`), every applicable
row of that control is ERROR: a verdict GX did not reach is never reported as PASS.

`applies_when` is data, never code: it is parsed by `complyflow.core.conditions` and evaluated here into
a boolean mask. GX sees only a column we add to a copy of the frame (`__applies_<n>`) and our own fixed
row condition on it; the control's text never reaches `DataFrame.query` or GX.

The GX context is ephemeral by default and file-backed when a GX project directory is configured
(argument, or `COMPLYFLOW_GX_DIR`). Suites, assets and validation definitions carry stable names (the
table), so a file-backed project keeps one suite per table and a history of validation results keyed
by the complyflow run id, instead of growing by one suite per run. Each run's Data Docs pages are
rendered into the run's evidence folder (`build_data_docs`).
"""

from __future__ import annotations

import copy
import html
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# A compliance tool sends no usage events about the estate it checks: GX analytics are off unless the
# user opts in (GX_ANALYTICS_ENABLED=true), as Prefect's are in complyflow.cli.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402 - after the analytics default above
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier
from great_expectations.render.renderer.site_builder import SiteBuilder

from complyflow.core.conditions import parse_condition
from complyflow.core.config import Control, Rule
from complyflow.core.model import EvidenceGap, Finding, Status
from complyflow.core.text import clean

ID_COLUMN = "resource_id"
DATASOURCE = "complyflow-evidence"
GX_DIR_ENV = "COMPLYFLOW_GX_DIR"
DOCS_DIR = "gx-docs"  # relative to the run folder
log = logging.getLogger(__name__)


def new_context(project_dir: Path | None = None) -> Any:
    """An ephemeral GX context, or a file-backed one when a project directory is configured.

    `project_dir` wins; else `COMPLYFLOW_GX_DIR`; else ephemeral, so that a plain run leaves nothing
    behind but its evidence folder. A file-backed project is not safe for concurrent writers: tables
    are validated one after another.
    """
    configured = project_dir or (Path(os.environ[GX_DIR_ENV]) if os.environ.get(GX_DIR_ENV) else None)
    if configured:
        context = gx.get_context(mode="file", project_root_dir=str(configured))
    else:
        context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def describe_rule(rule: Rule) -> str:
    """The expected value in words, for findings and messages."""
    kw = rule.kwargs
    name = rule.expectation.removeprefix("expect_column_values_to_")
    if name == "be_in_set":
        values = kw.get("value_set", [])
        return f"{rule.column} = {values[0]!r}" if len(values) == 1 else f"{rule.column} in {values!r}"
    if name == "not_be_in_set":
        return f"{rule.column} not in {kw.get('value_set', [])!r}"
    if name == "be_between":
        parts = []
        if kw.get("min_value") is not None:
            parts.append(f"{rule.column} {'>' if kw.get('strict_min') else '>='} {kw['min_value']}")
        if kw.get("max_value") is not None:
            parts.append(f"{rule.column} {'<' if kw.get('strict_max') else '<='} {kw['max_value']}")
        return " and ".join(parts) or f"{rule.column} in range"
    if name == "not_be_null":
        return f"{rule.column} present"
    args = ", ".join(f"{k}={v!r}" for k, v in sorted(kw.items()))
    return f"{rule.column} {name.replace('_', ' ')}" + (f" ({args})" if args else "")


def _applies_column(index: int) -> str:
    """The boolean column holding the applicability of the table's `index`-th control (GX frame only)."""
    return f"__applies_{index}"


def _expectations(control: Control, applies_column: str | None = None) -> tuple[Any, Any]:
    # Our own fixed text on a column we generated: never the control's `applies_when`.
    condition = {"row_condition": f"{applies_column} == True", "condition_parser": "pandas"} if applies_column else {}
    rule_cls = getattr(gxe, control.rule.class_name)
    rule = rule_cls(
        column=control.rule.column, **control.rule.kwargs, **condition, meta={"control_id": control.id, "kind": "rule"}
    )
    complete = gxe.ExpectColumnValuesToNotBeNull(
        column=control.rule.column, **condition, meta={"control_id": control.id, "kind": "complete"}
    )
    return rule, complete


@dataclass
class TableVerdicts:
    """GX's answer for one table: per control, failing and incomplete row ids, or an error."""

    failing: dict[str, set[str]]
    incomplete: dict[str, set[str]]
    errors: dict[str, str]
    success: bool


def _raised(exception_info: Any) -> str | None:
    """GX's error message when an expectation could not be evaluated, else None.

    GX 1.x reports metric failures as `{metric id: {raised_exception, exception_message, ...}}`;
    older paths use the flat form. Both must count: a swallowed error would read as "no failing rows".
    """
    if not exception_info:
        return None
    entries = exception_info.values() if "raised_exception" not in exception_info else [exception_info]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "GX error")
    return None


def _batch_definition(context: Any, table: str) -> Any:
    """The whole-table batch of `table`, reused when it exists so a file-backed project keeps every table's asset."""
    try:
        source = context.data_sources.get(DATASOURCE)
    except KeyError:
        source = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = source.get_asset(table)
    except LookupError:
        asset = source.add_dataframe_asset(table)
    try:
        return asset.get_batch_definition(table)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(table)


def run_suite(
    context: Any,
    table: str,
    frame: pd.DataFrame,
    controls: list[Control],
    run_id: str,
    applicability: list[tuple[pd.Series | None, str | None]] | None = None,
) -> TableVerdicts:
    """One GX validation of one evidence table against every control that reads it.

    `applicability` is `_applicability(frame, control)` per control (computed when not given). A control
    whose `applies_when` could not be evaluated gets no expectation, only an error.
    """
    masks = applicability if applicability is not None else [_applicability(frame, c) for c in controls]
    gx_frame = frame.copy()  # the caller's frame is the stored evidence: it must not gain our columns
    errors: dict[str, str] = {}
    batch = _batch_definition(context, table)
    suite = gx.ExpectationSuite(name=table, meta={"complyflow_run_id": run_id})
    for index, (control, (mask, error)) in enumerate(zip(controls, masks, strict=True)):
        if error is not None:
            errors.setdefault(control.id, error)
            continue
        column = None
        if mask is not None:
            column = _applies_column(index)
            gx_frame[column] = mask.astype(bool)
        for expectation in _expectations(control, column):
            suite.add_expectation(expectation)
    suite = context.suites.add_or_update(suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=table, data=batch, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": gx_frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ID_COLUMN]},
        run_id=RunIdentifier(run_name=run_id, run_time=datetime.now(UTC)),
    )
    verdicts = TableVerdicts(failing={}, incomplete={}, errors=errors, success=bool(result.success) and not errors)
    for item in result.results:
        meta = item.expectation_config.meta or {}
        control_id, kind = meta["control_id"], meta["kind"]
        error = _raised(item.exception_info)
        rows = item.result.get("unexpected_index_list") or []
        ids = {str(row[ID_COLUMN]) for row in rows if isinstance(row, dict) and ID_COLUMN in row}
        if error is None and not item.success and len(ids) < int(item.result.get("unexpected_count") or 1):
            error = "GX reported unexpected rows it could not attribute to a resource"
        if error is not None:
            verdicts.errors.setdefault(control_id, error[:300])
            continue
        target = verdicts.failing if kind == "rule" else verdicts.incomplete
        target[control_id] = ids
    return verdicts


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _value(value: Any) -> str:
    if _is_missing(value):
        return "missing"
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # integer columns with gaps come back from pandas as floats
    elif isinstance(value, float):
        value = round(value, 4)  # for people: -0.009999991 reads -0.01; the evidence keeps every digit
    return str(value)


def _applicability(frame: pd.DataFrame, control: Control) -> tuple[pd.Series | None, str | None]:
    """The control's applicability mask over `frame` (None: applies everywhere), or an error.

    Evaluated by the safe `applies_when` grammar, never by `DataFrame.query`.
    """
    if not control.applies_when:
        return None, None
    try:
        return parse_condition(control.applies_when).mask(frame), None
    except Exception as exc:  # noqa: BLE001 - any failure means applicability is unknown, reported as ERROR
        return None, f"applies_when {control.applies_when!r} failed: {exc}"[:300]


def _leaves_unknown(gap: EvidenceGap, reads: frozenset[str], row: dict[str, Any]) -> bool:
    """Whether `gap` left one of the columns a control reads empty in `row` (no columns named: any of them)."""
    affected = reads & set(gap.columns) if gap.columns else reads
    return any(_is_missing(row.get(column)) for column in affected)


def columns_read(control: Control) -> frozenset[str]:
    """The columns a control's verdict depends on: its rule column and those `applies_when` names."""
    columns = {control.rule.column}
    if control.applies_when:
        columns |= parse_condition(control.applies_when).columns
    return frozenset(columns)


def _applicable_ids(frame: pd.DataFrame, control: Control, mask: pd.Series | None, error: str | None) -> set[str]:
    """Ids of the rows the control applies to; all rows when it has no condition or the condition failed."""
    if mask is None or error is not None:
        return set(frame[ID_COLUMN].astype(str))
    return set(frame.loc[mask, ID_COLUMN].astype(str))


def _undecided_ids(frame: pd.DataFrame, control: Control) -> set[str]:
    """Ids of the rows where a column `applies_when` reads is null: applicability itself is unknown."""
    if not control.applies_when:
        return set()
    try:
        columns = [c for c in parse_condition(control.applies_when).columns if c in frame.columns]
    except ValueError:
        return set()
    if not columns:
        return set()
    return set(frame.loc[frame[columns].isna().any(axis=1), ID_COLUMN].astype(str))


def findings_for_table(
    *,
    context: Any,
    run_id: str,
    table: str,
    frame: pd.DataFrame,
    controls: list[Control],
    gaps: Iterable[EvidenceGap],
    evidence_file: str,
) -> list[Finding]:
    """Per-resource findings for every control reading `table`, decided by GX."""
    gaps = [g for g in gaps if table in g.tables]
    findings: list[Finding] = []
    applicability = [_applicability(frame, c) for c in controls] if not frame.empty else []
    verdicts = run_suite(context, table, frame, controls, run_id, applicability) if not frame.empty else None
    resource_gaps: dict[str, list[EvidenceGap]] = {}
    for gap in gaps:
        if gap.resource_id:
            resource_gaps.setdefault(gap.resource_id, []).append(gap)
    row_ids = set(frame[ID_COLUMN].astype(str)) if ID_COLUMN in frame else set()
    # A resource whose first call failed (DescribeTable, DescribeKey…) has no row: it is an ERROR, not absent.
    unread = [
        next((g for g in found if not g.columns), found[0])
        for rid, found in sorted(resource_gaps.items())
        if rid not in row_ids
    ]
    for index, control in enumerate(controls):
        expected = describe_rule(control.rule)
        reads = columns_read(control)

        def finding(
            row: Any, status: Status, observed: str, message: str = "", *, c: Control = control, e: str = expected
        ) -> Finding:
            return Finding(
                run_id=run_id,
                control_id=c.id,
                control_title=c.title,
                resource_arn=str(row["resource_arn"]),
                resource_id=str(row["resource_id"]),
                resource_type=str(row["resource_type"]),
                resource_name=str(row["resource_name"]),
                account=str(row["account"]),
                region=str(row["region"]),
                status=status,
                severity=c.severity,
                owner=str(row.get("owner") or ""),
                observed=observed,
                expected=e,
                evidence_file=evidence_file,
                message=message,
                owner_route=str(row.get("owner_source") or ""),
            )

        # A gap turns a control into ERROR only when it left a column the control reads unknown.
        for gap in gaps:
            if gap.resource_id is None and gap.affects(reads):
                findings.append(_scope_error(run_id, control, gap, expected, evidence_file))
        findings += [_unread_resource_error(run_id, control, gap, expected, evidence_file) for gap in unread]
        if frame.empty or verdicts is None:
            continue
        mask, query_error = applicability[index]
        applicable_ids = _applicable_ids(frame, control, mask, query_error)
        # A resource-level gap makes a row ERROR only where the control applies, or where applicability
        # itself is unknown (a column of `applies_when` is null); a row it does not apply to has no finding.
        gap_relevant = applicable_ids | _undecided_ids(frame, control)
        failing = verdicts.failing.get(control.id, set())
        incomplete = verdicts.incomplete.get(control.id, set())
        error = query_error or verdicts.errors.get(control.id)
        for row in frame.to_dict("records"):
            rid = str(row[ID_COLUMN])
            observed = "; ".join(
                f"{col} = {_value(row.get(col))}" for col in (control.rule.column, *control.observed_columns)
            )
            # A gap makes the row ERROR only where it left a column the control reads empty: a value that
            # was collected is evidence, whatever else failed.
            gap = next((g for g in resource_gaps.get(rid, ()) if _leaves_unknown(g, reads, row)), None)
            if error:
                if rid in applicable_ids:
                    findings.append(finding(row, Status.ERROR, observed, f"validation error: {error}"))
            elif rid in incomplete or (gap is not None and rid in gap_relevant):
                reason = (
                    f"evidence missing: {gap.operation} {gap.error_code}: {gap.message}"[:500]
                    if gap
                    else "evidence missing"
                )
                findings.append(finding(row, Status.ERROR, observed, reason))
            elif rid in failing:  # an informational control's hit is a reminder, never a violation
                verdict = Status.REMINDER if control.severity == "informational" else Status.FAIL
                findings.append(finding(row, verdict, observed, control.title))
            elif rid in applicable_ids:
                findings.append(finding(row, Status.PASS, observed))
    return findings


def _scope_error(run_id: str, control: Control, gap: EvidenceGap, expected: str, evidence_file: str) -> Finding:
    scope = f"{gap.account}/{gap.region}/{gap.service}"
    return Finding(
        run_id=run_id,
        control_id=control.id,
        control_title=control.title,
        resource_arn=f"arn:aws:{gap.service}:{'' if gap.region == 'global' else gap.region}:{gap.account}:*",
        resource_id=scope,
        resource_type="EvidenceScope",
        resource_name=scope,
        account=gap.account,
        region=gap.region,
        status=Status.ERROR,
        severity=control.severity,
        owner="",
        observed="evidence gap",
        expected=expected,
        evidence_file=evidence_file,
        message=f"evidence gap: {gap.operation} failed with {gap.error_code}: {gap.message}"[:500],
    )


def _unread_resource_error(
    run_id: str, control: Control, gap: EvidenceGap, expected: str, evidence_file: str
) -> Finding:
    rid = str(gap.resource_id)
    return Finding(
        run_id=run_id,
        control_id=control.id,
        control_title=control.title,
        resource_arn=rid,
        resource_id=rid,
        resource_type="UnreadResource",
        resource_name=rid.rsplit("/", 1)[-1].rsplit(":", 1)[-1] or rid,
        account=gap.account,
        region=gap.region,
        status=Status.ERROR,
        severity=control.severity,
        owner="",
        observed="evidence gap",
        expected=expected,
        evidence_file=evidence_file,
        message=f"resource not readable: {gap.operation} failed with {gap.error_code}: {gap.message}"[:500],
    )


# --- Data Docs ------------------------------------------------------------------------------------


def _escaped(value: Any) -> Any:
    """Untrusted values with HTML escaped, recursively: Data Docs puts unexpected values in table cells raw."""
    if isinstance(value, str):
        return html.escape(clean(value, keep_newlines=True), quote=True)
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value


def _prune_static(site_dir: Path) -> None:
    """Drop the static files no page references.

    GX copies about 4 MB of tutorial GIFs, logos and fonts into every site; the pages reference only the
    favicon (styles are inline, scripts come from CDNs). Without pruning, every sealed run would carry them.
    """
    pages = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in site_dir.rglob("*.html"))
    static = site_dir / "static"
    for path in sorted(static.rglob("*"), reverse=True):
        if path.is_file() and path.relative_to(site_dir).as_posix() not in pages:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def build_data_docs(context: Any, *, table: str, run_id: str, site_dir: Path) -> Path | None:
    """Render this run's GX validation of `table` and its suite as Data Docs pages under `site_dir`.

    Returns the validation page, or None when the table was not validated in this run (no rows).
    The pages are rendered from a copy of the results in a throwaway context, with resource ids and
    observed values HTML-escaped, so that a file-backed project keeps its results untouched. No index
    page is built here: GX's index builder deletes pages it does not know, and each table has its own
    context; `tasks.report.docs_index` writes the run's index once every table is rendered.
    """
    store = context.validation_results_store
    keys = [
        k for k in store.list_keys() if k.expectation_suite_identifier.name == table and k.run_id.run_name == run_id
    ]
    if not keys:
        return None
    key = max(keys, key=lambda k: k.run_id.run_time)
    result = copy.deepcopy(store.get(key))
    for item in result.results:
        item.result = _escaped(dict(item.result or {}))
    docs = gx.get_context(mode="ephemeral")
    docs.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite_key = ExpectationSuiteIdentifier(name=table)
    docs.expectations_store.set(
        suite_key, context.expectations_store.get(context.expectations_store.get_key(name=table, id=None))
    )
    docs.validation_results_store.set(key, result)
    site_dir.mkdir(parents=True, exist_ok=True)
    builder = SiteBuilder(
        data_context=docs,
        site_name="complyflow",
        show_how_to_buttons=False,
        store_backend={"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
        site_index_builder={"class_name": "DefaultSiteIndexBuilder"},
    )
    builder.build(resource_identifiers=[key, suite_key], build_index=False)
    _prune_static(site_dir)
    page = builder.get_resource_url(resource_identifier=key, only_if_exists=True)
    return Path(page.removeprefix("file://")) if page else None
