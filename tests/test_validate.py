"""GX verdicts on small hand-made evidence tables: boundaries, nulls, applicability, gaps, GX errors, Data Docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from complyflow.core.config import Control, Rule
from complyflow.core.model import EvidenceGap, Finding, Status
from tasks.validate import GX_DIR_ENV, build_data_docs, describe_rule, findings_for_table, new_context

TABLE = "things"


BETWEEN = "expect_column_values_to_be_between"


def control(
    cid: str = "age-max-90",
    *,
    column: str = "age_days",
    expectation: str = BETWEEN,
    kwargs: dict[str, Any] | None = None,
    applies_when: str | None = None,
    table: str = TABLE,
) -> Control:
    data: dict[str, Any] = {
        "id": cid,
        "title": f"title of {cid}",
        "rationale": "why",
        "policy_clause": {"document": "P", "section": "1"},
        "severity": "high",
        "owner_role": "team",
        "evidence_table": table,
        "rule": {
            "expectation": expectation,
            "column": column,
            "kwargs": kwargs if kwargs is not None else {"max_value": 90},
        },
        "remediation": "fix it",
    }
    if applies_when:
        data["applies_when"] = applies_when
    return Control.model_validate(data)


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    base = []
    for row in rows:
        rid = row["id"]
        base.append(
            {
                "account": "111111111111",
                "region": "eu-west-1",
                "resource_arn": f"arn:aws:x:eu-west-1:1:{rid}",
                "resource_type": "AwsThing",
                "resource_id": rid,
                "resource_name": f"name-{rid}",
                "tags": "{}",
                "owner": "team-a",
                **{k: v for k, v in row.items() if k != "id"},
            }
        )
    return pd.DataFrame(base)


def verdicts(
    controls: list[Control],
    data: pd.DataFrame,
    gaps: list[EvidenceGap] | None = None,
    context: Any = None,
    run_id: str = "R1",
) -> list[Finding]:
    return findings_for_table(
        context=context or new_context(),
        run_id=run_id,
        table=TABLE,
        frame=data,
        controls=controls,
        gaps=gaps or [],
        evidence_file=f"evidence/{TABLE}.parquet",
    )


def by_id(findings: list[Finding]) -> dict[str, Status]:
    return {f.resource_id: f.status for f in findings}


def test_between_boundaries_are_inclusive_unless_strict() -> None:
    data = frame(
        [
            {"id": "a", "age_days": 0},
            {"id": "b", "age_days": 90},
            {"id": "c", "age_days": 91},
            {"id": "d", "age_days": 89.5},
        ]
    )
    inclusive = verdicts([control()], data)
    assert by_id(inclusive) == {"a": Status.PASS, "b": Status.PASS, "c": Status.FAIL, "d": Status.PASS}
    strict = verdicts([control(kwargs={"min_value": 0, "max_value": 90, "strict_max": True, "strict_min": True})], data)
    assert by_id(strict) == {"a": Status.FAIL, "b": Status.FAIL, "c": Status.FAIL, "d": Status.PASS}


def test_findings_carry_observed_and_expected_values() -> None:
    findings = verdicts([control()], frame([{"id": "c", "age_days": 91.0}]))
    (finding,) = findings
    assert finding.observed == "age_days = 91"  # integer shown as integer even when pandas made it a float
    assert finding.expected == "age_days <= 90"
    assert finding.resource_arn == "arn:aws:x:eu-west-1:1:c"
    assert finding.owner == "team-a"
    assert finding.evidence_file == f"evidence/{TABLE}.parquet"
    assert finding.severity == "high"


def test_null_values_are_errors_never_pass() -> None:
    data = frame([{"id": "a", "flag": True}, {"id": "b", "flag": None}, {"id": "c", "flag": False}])
    rule = control(
        "flag-true", column="flag", expectation="expect_column_values_to_be_in_set", kwargs={"value_set": [True]}
    )
    findings = verdicts([rule], data)
    assert by_id(findings) == {"a": Status.PASS, "b": Status.ERROR, "c": Status.FAIL}
    error = next(f for f in findings if f.resource_id == "b")
    assert error.observed == "flag = missing"
    assert error.message == "evidence missing"


def test_not_applicable_rows_produce_no_finding() -> None:
    data = frame(
        [
            {"id": "on", "status": "Active", "age_days": 100},
            {"id": "off", "status": "Inactive", "age_days": 100},
            {"id": "off-null", "status": "Inactive", "age_days": None},
        ]
    )
    findings = verdicts([control(applies_when="status == 'Active'")], data)
    assert by_id(findings) == {"on": Status.FAIL}


def test_scope_gap_is_an_error_for_every_control_reading_the_table() -> None:
    gap = EvidenceGap(
        account="111111111111",
        region="eu-west-1",
        service="x",
        tables=(TABLE,),
        operation="ListThings",
        error_code="AccessDenied",
        message="not authorized",
    )
    other = EvidenceGap(
        account="111111111111",
        region="eu-west-1",
        service="y",
        tables=("other",),
        operation="ListOther",
        error_code="AccessDenied",
        message="not authorized",
    )
    controls = [control("c-one"), control("c-two", column="size", kwargs={"min_value": 1})]
    findings = verdicts(controls, frame([]).reindex(columns=["resource_id", "age_days"]), gaps=[gap, other])
    assert [(f.control_id, f.status, f.resource_type) for f in findings] == [
        ("c-one", Status.ERROR, "EvidenceScope"),
        ("c-two", Status.ERROR, "EvidenceScope"),
    ]
    assert "ListThings failed with AccessDenied" in findings[0].message
    assert findings[0].resource_id == "111111111111/eu-west-1/x"


def test_scope_gap_keeps_the_verdicts_of_rows_that_were_collected() -> None:
    gap = EvidenceGap(
        account="111111111111",
        region="us-east-1",
        service="x",
        tables=(TABLE,),
        operation="ListThings",
        error_code="Throttling",
        message="slow down",
    )
    findings = verdicts([control()], frame([{"id": "a", "age_days": 1}]), gaps=[gap])
    assert sorted((f.resource_id, f.status) for f in findings) == [
        ("111111111111/us-east-1/x", Status.ERROR),
        ("a", Status.PASS),
    ]


def test_resource_gap_makes_a_missing_value_an_error_with_the_failed_call() -> None:
    gap = EvidenceGap(
        account="111111111111",
        region="eu-west-1",
        service="x",
        tables=(TABLE,),
        operation="GetThingPolicy",
        error_code="AccessDenied",
        message="no",
        resource_id="b",
    )
    data = frame([{"id": "a", "age_days": None}, {"id": "b", "age_days": None}, {"id": "c", "age_days": 5}])
    findings = verdicts([control(applies_when="age_days == age_days or resource_id == 'b'")], data, gaps=[gap])
    statuses = by_id(findings)
    assert statuses["b"] == Status.ERROR
    message = next(f.message for f in findings if f.resource_id == "b")
    assert message == "evidence missing: GetThingPolicy AccessDenied: no"
    assert statuses["c"] == Status.PASS
    assert "a" not in statuses  # not applicable and no gap: no finding


def test_resource_gap_on_a_not_applicable_row_with_unknown_value_is_still_an_error() -> None:
    gap = EvidenceGap(
        account="111111111111",
        region="eu-west-1",
        service="x",
        tables=(TABLE,),
        operation="GetThing",
        error_code="AccessDenied",
        message="no",
        resource_id="a",
    )
    data = frame([{"id": "a", "status": None, "age_days": None}])
    findings = verdicts([control(applies_when="status == 'Active'")], data, gaps=[gap])
    assert by_id(findings) == {"a": Status.ERROR}  # applicability itself is unknown


def test_resource_gap_does_not_override_a_value_that_was_collected() -> None:
    gap = EvidenceGap(
        account="111111111111",
        region="eu-west-1",
        service="x",
        tables=(TABLE,),
        operation="GetOther",
        error_code="AccessDenied",
        message="no",
        resource_id="a",
    )
    findings = verdicts([control()], frame([{"id": "a", "age_days": 120}]), gaps=[gap])
    assert by_id(findings) == {"a": Status.FAIL}


def test_missing_rule_column_is_an_error_not_a_pass() -> None:
    data = frame([{"id": "a", "age_days": 1}, {"id": "b", "age_days": 2}])
    findings = verdicts([control("no-column", column="not_collected")], data)
    assert by_id(findings) == {"a": Status.ERROR, "b": Status.ERROR}
    assert all("not_collected" in f.message for f in findings)


def test_broken_applies_when_is_an_error_for_every_row() -> None:
    data = frame([{"id": "a", "age_days": 1}, {"id": "b", "age_days": 200}])
    findings = verdicts([control(applies_when="no_such_column == 'x'"), control("fine")], data)
    broken = {f.resource_id: (f.status, f.message) for f in findings if f.control_id == "age-max-90"}
    assert {k: v[0] for k, v in broken.items()} == {"a": Status.ERROR, "b": Status.ERROR}
    assert all("no_such_column" in message for _, message in broken.values())
    assert by_id([f for f in findings if f.control_id == "fine"]) == {"a": Status.PASS, "b": Status.FAIL}


def test_empty_table_without_gaps_has_no_findings() -> None:
    assert verdicts([control()], frame([]).reindex(columns=["resource_id", "age_days"])) == []


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (Rule(expectation="expect_column_values_to_be_in_set", column="x", kwargs={"value_set": [True]}), "x = True"),
        (
            Rule(expectation="expect_column_values_to_be_in_set", column="x", kwargs={"value_set": ["a", "b"]}),
            "x in ['a', 'b']",
        ),
        (
            Rule(expectation="expect_column_values_to_not_be_in_set", column="x", kwargs={"value_set": [0]}),
            "x not in [0]",
        ),
        (
            Rule(
                expectation="expect_column_values_to_be_between",
                column="x",
                kwargs={"min_value": 1, "strict_max": True, "max_value": 5},
            ),
            "x >= 1 and x < 5",
        ),
        (Rule(expectation="expect_column_values_to_not_be_null", column="x"), "x present"),
        (
            Rule(expectation="expect_column_values_to_match_regex", column="x", kwargs={"regex": "^a"}),
            "x match regex (regex='^a')",
        ),
    ],
)
def test_describe_rule(rule: Rule, text: str) -> None:
    assert describe_rule(rule) == text


def test_file_backed_context_keeps_one_suite_per_table_and_results_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(GX_DIR_ENV, str(tmp_path / "gx-project"))
    data = frame([{"id": "a", "age_days": 1}, {"id": "b", "age_days": 200}])
    for run_id in ("R1", "R2"):
        assert by_id(verdicts([control()], data, run_id=run_id)) == {"a": Status.PASS, "b": Status.FAIL}
    context = new_context()  # the same project, reopened from disk
    assert [s.name for s in context.suites.all()] == [TABLE]
    runs = sorted(k.run_id.run_name for k in context.validation_results_store.list_keys())
    assert runs == ["R1", "R2"]


def test_explicit_project_dir_wins_over_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GX_DIR_ENV, str(tmp_path / "from-env"))
    verdicts([control()], frame([{"id": "a", "age_days": 1}]), context=new_context(tmp_path / "explicit"))
    assert (tmp_path / "explicit" / "gx" / "great_expectations.yml").is_file()
    assert not (tmp_path / "from-env").exists()


def test_ephemeral_context_by_default_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GX_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    verdicts([control()], frame([{"id": "a", "age_days": 1}]))
    assert list(tmp_path.iterdir()) == []


def test_data_docs_pages_per_table_escape_resource_text_and_drop_unused_assets(tmp_path: Path) -> None:
    site = tmp_path / "gx-docs"
    evil = "<script>alert(1)</script>"
    context = new_context()
    verdicts([control()], frame([{"id": "ok", "age_days": 1}, {"id": evil, "age_days": 500}]), context=context)
    page = build_data_docs(context, table=TABLE, run_id="R1", site_dir=site)
    assert page is not None and page.is_file()
    assert page.relative_to(site).parts[:3] == ("validations", TABLE, "R1")
    text = page.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert evil not in text
    assert (site / "expectations" / f"{TABLE}.html").is_file()
    assert not (site / "index.html").exists()  # the run's index is written once, by the report writer
    static = sorted(p.relative_to(site).as_posix() for p in (site / "static").rglob("*") if p.is_file())
    assert static == ["static/images/favicon.ico"]

    other = new_context()  # a second table, in its own context, into the same site: both pages stay
    findings_for_table(
        context=other,
        run_id="R1",
        table="others",
        frame=frame([{"id": "x", "age_days": 3}]),
        controls=[control("other-age", table="others")],
        gaps=[],
        evidence_file="evidence/others.parquet",
    )
    assert build_data_docs(other, table="others", run_id="R1", site_dir=site) is not None
    assert page.is_file()
    assert (site / "expectations" / "others.html").is_file()


def test_data_docs_only_for_tables_validated_in_this_run(tmp_path: Path) -> None:
    context = new_context()
    verdicts([control()], frame([{"id": "a", "age_days": 1}]), context=context, run_id="R1")
    assert build_data_docs(context, table=TABLE, run_id="R2", site_dir=tmp_path / "docs") is None
    assert build_data_docs(context, table="never-validated", run_id="R1", site_dir=tmp_path / "docs") is None


def test_data_docs_of_a_file_backed_project_leave_its_results_unescaped(tmp_path: Path) -> None:
    context = new_context(tmp_path / "project")
    verdicts([control()], frame([{"id": "<b>", "age_days": 500}]), context=context)
    build_data_docs(context, table=TABLE, run_id="R1", site_dir=tmp_path / "docs")
    (key,) = context.validation_results_store.list_keys()
    stored = context.validation_results_store.get(key)
    ids = [row["resource_id"] for item in stored.results for row in item.result.get("unexpected_index_list") or []]
    assert ids == ["<b>"]


def test_observed_columns_are_shown_beside_the_rule_column() -> None:
    base = control()
    with_context = base.model_copy(update={"observed_columns": ["statistic", "threshold"]})
    data = frame([{"id": "a", "age_days": 120, "statistic": "psi", "threshold": 0.2}])
    (finding,) = verdicts([with_context], data)
    assert finding.status == Status.FAIL
    assert finding.observed == "age_days = 120; statistic = psi; threshold = 0.2"


def _gap(resource_id: str | None, columns: tuple[str, ...]) -> EvidenceGap:
    return EvidenceGap(
        account="111111111111",
        region="eu-west-1",
        service="x",
        tables=(TABLE,),
        operation="GetThing",
        error_code="AccessDenied",
        message="no",
        resource_id=resource_id,
        columns=columns,
    )


def test_resource_gap_on_columns_the_control_does_not_read_leaves_its_verdict() -> None:
    data = frame([{"id": "a", "age_days": 100, "colour": "red"}, {"id": "b", "age_days": 10, "colour": None}])
    findings = verdicts([control(kwargs={"max_value": 90}, applies_when=None)], data, gaps=[_gap("b", ("colour",))])
    assert by_id(findings) == {"a": Status.FAIL, "b": Status.PASS}


def test_resource_gap_on_the_rule_column_is_an_error() -> None:
    data = frame([{"id": "a", "age_days": None}, {"id": "b", "age_days": 10}])
    findings = verdicts([control()], data, gaps=[_gap("a", ("age_days",))])
    assert by_id(findings) == {"a": Status.ERROR, "b": Status.PASS}


def test_resource_gap_on_an_applies_when_column_is_an_error() -> None:
    data = frame([{"id": "a", "age_days": 10, "status": None}, {"id": "b", "age_days": 10, "status": "Active"}])
    findings = verdicts([control(applies_when="status == 'Active'")], data, gaps=[_gap("a", ("status",))])
    assert by_id(findings) == {"a": Status.ERROR, "b": Status.PASS}


def test_scope_gap_only_errors_the_controls_reading_its_columns() -> None:
    data = frame([{"id": "a", "age_days": 10}])
    assert by_id(verdicts([control()], data, gaps=[_gap(None, ("tags",))])) == {"a": Status.PASS}
    errors = [f for f in verdicts([control()], data, gaps=[_gap(None, ())]) if f.status == Status.ERROR]
    assert [f.resource_type for f in errors] == ["EvidenceScope"]


def test_every_gap_of_a_resource_counts_not_just_the_last() -> None:
    data = frame([{"id": "a", "age_days": None, "colour": None}])
    gaps = [_gap("a", ("age_days",)), _gap("a", ("colour",))]
    assert by_id(verdicts([control()], data, gaps=gaps)) == {"a": Status.ERROR}
    assert by_id(verdicts([control()], data, gaps=list(reversed(gaps)))) == {"a": Status.ERROR}
