"""Great Expectations decides every verdict.

For each evidence table, one GX suite is built from the catalog: per control, its rule (with the
control's applicability as a row condition) and a completeness check on the same column, because GX
column-map expectations skip nulls and a missing value must never read as PASS. GX's failing row ids
become FAIL findings, incomplete rows and evidence gaps become ERROR, the other applicable rows PASS.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

from complyflow.config import Control, Rule
from complyflow.model import EvidenceGap, Finding, Status

ID_COLUMN = "resource_id"
log = logging.getLogger(__name__)


def new_context(project_dir: Path | None = None) -> Any:
    """An ephemeral GX context, or a file-backed one when a project directory is configured."""
    context = gx.get_context(mode="file", project_root_dir=str(project_dir)) if project_dir else gx.get_context(
        mode="ephemeral"
    )
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


def _expectations(control: Control) -> tuple[Any, Any]:
    condition = {"row_condition": control.applies_when, "condition_parser": "pandas"} if control.applies_when else {}
    rule_cls = getattr(gxe, control.rule.class_name)
    rule = rule_cls(column=control.rule.column, **control.rule.kwargs, **condition,
                    meta={"control_id": control.id, "kind": "rule"})
    complete = gxe.ExpectColumnValuesToNotBeNull(column=control.rule.column, **condition,
                                                 meta={"control_id": control.id, "kind": "complete"})
    return rule, complete


@dataclass
class TableVerdicts:
    """GX's answer for one table: per control, failing and incomplete row ids, or an error."""

    failing: dict[str, set[str]]
    incomplete: dict[str, set[str]]
    errors: dict[str, str]
    success: bool


def run_suite(context: Any, table: str, frame: pd.DataFrame, controls: list[Control], run_id: str) -> TableVerdicts:
    """One GX validation of one evidence table against every control that reads it."""
    source = context.data_sources.add_or_update_pandas(f"evidence-{run_id}")
    asset = source.add_dataframe_asset(table)
    batch = asset.add_batch_definition_whole_dataframe(f"{table}-{run_id}")
    suite = context.suites.add(gx.ExpectationSuite(name=f"{table}-{run_id}"))
    for control in controls:
        for expectation in _expectations(control):
            suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{table}-{run_id}", data=batch, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ID_COLUMN]},
    )
    verdicts = TableVerdicts(failing={}, incomplete={}, errors={}, success=bool(result.success))
    for item in result.results:
        meta = item.expectation_config.meta or {}
        control_id, kind = meta["control_id"], meta["kind"]
        if item.exception_info and item.exception_info.get("raised_exception"):
            verdicts.errors[control_id] = str(item.exception_info.get("exception_message", "GX error"))[:300]
            continue
        ids = {str(row[ID_COLUMN]) for row in item.result.get("unexpected_index_list") or []}
        target = verdicts.failing if kind == "rule" else verdicts.incomplete
        target[control_id] = ids
    return verdicts


def _value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # integer columns with gaps come back from pandas as floats
    return str(value)


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
    verdicts = run_suite(context, table, frame, controls, run_id) if not frame.empty else None
    resource_gaps = {g.resource_id: g for g in gaps if g.resource_id}
    for control in controls:
        expected = describe_rule(control.rule)

        def finding(row: Any, status: Status, observed: str, message: str = "", *, c: Control = control,
                    e: str = expected) -> Finding:
            return Finding(
                run_id=run_id, control_id=c.id, control_title=c.title, resource_arn=str(row["resource_arn"]),
                resource_id=str(row["resource_id"]), resource_type=str(row["resource_type"]),
                resource_name=str(row["resource_name"]), account=str(row["account"]), region=str(row["region"]),
                status=status, severity=c.severity, owner=str(row.get("owner") or ""), observed=observed,
                expected=e, evidence_file=evidence_file, message=message,
                owner_route=str(row.get("owner_source") or ""),
            )

        for gap in gaps:
            if gap.resource_id is None:
                findings.append(_scope_error(run_id, control, gap, expected, evidence_file))
        if frame.empty or verdicts is None:
            continue
        applicable = frame.query(control.applies_when) if control.applies_when else frame
        applicable_ids = set(applicable[ID_COLUMN].astype(str))
        failing = verdicts.failing.get(control.id, set())
        incomplete = verdicts.incomplete.get(control.id, set())
        error = verdicts.errors.get(control.id)
        for row in frame.to_dict("records"):
            rid = str(row[ID_COLUMN])
            value = row.get(control.rule.column)
            observed = f"{control.rule.column} = {_value(value)}"
            gap = resource_gaps.get(rid)
            unknown = _value(value) == "missing"
            if error:
                if rid in applicable_ids:
                    findings.append(finding(row, Status.ERROR, observed, f"validation error: {error}"))
            elif rid in incomplete or (gap is not None and unknown):
                reason = f"evidence missing: {gap.operation} {gap.error_code}" if gap else "evidence missing"
                findings.append(finding(row, Status.ERROR, observed, reason))
            elif rid in failing:
                findings.append(finding(row, Status.FAIL, observed, control.title))
            elif rid in applicable_ids:
                findings.append(finding(row, Status.PASS, observed))
    return findings


def _scope_error(run_id: str, control: Control, gap: EvidenceGap, expected: str, evidence_file: str) -> Finding:
    scope = f"{gap.account}/{gap.region}/{gap.service}"
    return Finding(
        run_id=run_id, control_id=control.id, control_title=control.title,
        resource_arn=f"arn:aws:{gap.service}:{'' if gap.region == 'global' else gap.region}:{gap.account}:*",
        resource_id=scope, resource_type="EvidenceScope", resource_name=scope, account=gap.account,
        region=gap.region, status=Status.ERROR, severity=control.severity, owner="", observed="evidence gap",
        expected=expected, evidence_file=evidence_file,
        message=f"evidence gap: {gap.operation} failed with {gap.error_code}: {gap.message}"[:500],
    )
