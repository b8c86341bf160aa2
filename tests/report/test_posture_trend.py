"""Posture of a run and its trend over the stored, sealed runs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from complyflow.core.model import Status
from tasks.evidence import TOMBSTONE
from tasks.findings import FINDINGS_JSON
from tasks.report.posture import ALL, Posture, control_state, framework_mapping, posture, score
from tasks.report.trend import POSTURE_JSON, RunPoint, load_trend, sparkline
from tests.report.factory import control, finding, stored_run

CONTROLS = [
    control("c-enc", frameworks={"iso27001": ["A.8.24"], "soc2": ["CC6.1"]}),
    control("c-log", frameworks={"soc2": ["CC7.2"]}),
    control("c-custom", frameworks={}),
]
MAPPING = framework_mapping(CONTROLS)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"PASS": 3, "FAIL": 1}, 75.0),
        ({"PASS": 1, "FAIL": 0, "ERROR": 1}, 50.0),  # unknown is not compliant
        ({"PASS": 2, "EXCEPTED": 5, "REMINDER": 0}, 100.0),  # accepted risk is left out, not counted as pass or fail
        ({"PASS": 1, "FAIL": 2}, 33.3),
        ({"EXCEPTED": 3, "REMINDER": 0}, None),  # nothing decided: no score, never 100 %
        ({}, None),
    ],
)
def test_score(counts: dict[str, int], expected: float | None) -> None:
    assert score(counts) == expected


@pytest.mark.parametrize(
    ("counts", "state"),
    [
        ({"PASS": 4, "FAIL": 1, "ERROR": 1}, "failing"),
        ({"PASS": 4, "ERROR": 1}, "error"),
        ({"PASS": 4, "EXCEPTED": 1, "REMINDER": 0}, "passing"),
        ({"EXCEPTED": 1, "REMINDER": 0}, "passing"),
        ({}, "no resources"),
    ],
)
def test_control_state(counts: dict[str, int], state: str) -> None:
    assert control_state(counts) == state


def test_posture_counts_per_control_and_framework() -> None:
    findings = [
        finding("c-enc", Status.PASS, "a"),
        finding("c-enc", Status.FAIL, "b"),
        finding("c-log", Status.ERROR, "c"),
        finding("c-log", Status.EXCEPTED, "d"),
        finding("c-custom", Status.PASS, "e"),
    ]
    result = posture(findings, MAPPING, [c.id for c in CONTROLS] + ["c-silent"])
    assert result.controls["c-enc"] == {"PASS": 1, "FAIL": 1, "ERROR": 0, "EXCEPTED": 0, "REMINDER": 0}
    assert result.controls["c-silent"] == {"PASS": 0, "FAIL": 0, "ERROR": 0, "EXCEPTED": 0, "REMINDER": 0}
    assert list(result.frameworks) == [ALL, "iso27001", "soc2"]
    assert result.frameworks[ALL] == {"PASS": 2, "FAIL": 1, "ERROR": 1, "EXCEPTED": 1, "REMINDER": 0}
    assert result.frameworks["iso27001"] == {"PASS": 1, "FAIL": 1, "ERROR": 0, "EXCEPTED": 0, "REMINDER": 0}
    assert result.frameworks["soc2"] == {"PASS": 1, "FAIL": 1, "ERROR": 1, "EXCEPTED": 1, "REMINDER": 0}
    assert Posture.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_framework_of_a_control_without_findings_is_listed_with_zero_counts() -> None:
    result = posture([], MAPPING, ["c-enc"])
    assert result.frameworks["iso27001"] == {"PASS": 0, "FAIL": 0, "ERROR": 0, "EXCEPTED": 0, "REMINDER": 0}
    assert score(result.frameworks["iso27001"]) is None


def run_id(day: int, hour: int = 2, suffix: str = "aaaaaa") -> str:
    return f"202611{day:02d}T{hour:02d}0000Z-{suffix}"


def test_trend_reads_sealed_runs_since_a_date_oldest_first(tmp_path: Path) -> None:
    stored_run(tmp_path, [finding("c-enc", Status.FAIL, "a")], run_id=run_id(1))
    stored_run(tmp_path, [finding("c-enc", Status.PASS, "a"), finding("c-enc", Status.FAIL, "b")], run_id=run_id(10))
    stored_run(tmp_path, [finding("c-enc", Status.PASS, "a"), finding("c-enc", Status.PASS, "b")], run_id=run_id(20))
    trend = load_trend(tmp_path, MAPPING, since=date(2026, 11, 10))
    assert [p.run_id for p in trend.points] == [run_id(10), run_id(20)]
    assert trend.series("controls") == {"c-enc": [50.0, 100.0]}
    assert trend.series("frameworks") == {ALL: [50.0, 100.0], "iso27001": [50.0, 100.0], "soc2": [50.0, 100.0]}
    assert trend.skipped == []
    assert [p.run_id for p in load_trend(tmp_path, MAPPING, until=date(2026, 11, 10)).points] == [run_id(1), run_id(10)]


def test_unsealed_unreadable_and_pruned_runs_are_skipped_with_a_reason(tmp_path: Path) -> None:
    stored_run(tmp_path, [finding("c-enc", Status.PASS)], run_id=run_id(1))
    stored_run(tmp_path, [finding("c-enc", Status.PASS)], run_id=run_id(2), sealed=False)
    broken = stored_run(tmp_path, [finding("c-enc", Status.PASS)], run_id=run_id(3))
    (broken / FINDINGS_JSON).write_text("{not json", encoding="utf-8")
    pruned = stored_run(tmp_path, [finding("c-enc", Status.PASS)], run_id=run_id(4))
    (pruned / FINDINGS_JSON).unlink()
    (pruned / TOMBSTONE).write_text("{}", encoding="utf-8")
    empty = stored_run(tmp_path, [finding("c-enc", Status.PASS)], run_id=run_id(5))
    (empty / FINDINGS_JSON).unlink()
    trend = load_trend(tmp_path, MAPPING)
    assert [p.run_id for p in trend.points] == [run_id(1)]
    reasons = dict(trend.skipped)
    assert reasons[run_id(2)] == "not sealed (crashed or still running)"
    assert reasons[run_id(3)].startswith("unreadable findings: JSONDecodeError")
    assert reasons[run_id(4)] == "evidence pruned by the retention period"
    assert reasons[run_id(5)] == "no stored findings"


def test_stored_posture_wins_over_recomputing_with_todays_mapping(tmp_path: Path) -> None:
    run = stored_run(tmp_path, [finding("c-enc", Status.FAIL)], run_id=run_id(1), sealed=False)
    then = RunPoint.from_dict(
        {
            "run_id": run_id(1),
            "started_at": "2026-11-01T02:00:00+00:00",
            "flow": "nightly",
            "controls": {"c-enc": {"FAIL": 1}},
            "frameworks": {"cis_aws": {"FAIL": 1}},
        }
    )
    (run / POSTURE_JSON).write_text(json.dumps(then.to_dict()), encoding="utf-8")
    (run / "manifest.json").write_text("{}", encoding="utf-8")
    (point,) = load_trend(tmp_path, MAPPING).points
    assert list(point.posture.frameworks) == ["cis_aws"]  # the mapping in force when the run was made
    assert point.posture.controls["c-enc"]["FAIL"] == 1


def test_controls_of_a_run_without_findings_are_in_its_posture(tmp_path: Path) -> None:
    stored_run(tmp_path, [], run_id=run_id(1), controls=["c-log"])
    (point,) = load_trend(tmp_path, MAPPING).points
    assert point.posture.controls == {"c-log": {"PASS": 0, "FAIL": 0, "ERROR": 0, "EXCEPTED": 0, "REMINDER": 0}}


def test_series_has_a_gap_where_a_run_did_not_evaluate_a_control(tmp_path: Path) -> None:
    stored_run(tmp_path, [finding("c-enc", Status.PASS), finding("c-log", Status.FAIL)], run_id=run_id(1))
    stored_run(tmp_path, [finding("c-enc", Status.FAIL)], run_id=run_id(2))
    series = load_trend(tmp_path, MAPPING).series("controls")
    assert series == {"c-enc": [100.0, 0.0], "c-log": [0.0, None]}


def test_flow_filter_before_run_and_limit_keep_the_newest_matching_runs(tmp_path: Path) -> None:
    for day in (1, 2, 3, 4):
        stored_run(tmp_path, [finding("c-enc", Status.PASS)], run_id=run_id(day))
    stored_run(tmp_path, [finding("c-log", Status.FAIL)], run_id=run_id(3, 5), flow="vendors")
    trend = load_trend(tmp_path, MAPPING, flow="nightly", before_run=run_id(4), limit=2)
    assert [p.run_id for p in trend.points] == [run_id(2), run_id(3)]
    assert {p.flow for p in load_trend(tmp_path, MAPPING).points} == {"nightly", "vendors"}
    assert load_trend(tmp_path, MAPPING, limit=0).points == []


def test_trend_of_an_empty_or_missing_evidence_root(tmp_path: Path) -> None:
    trend = load_trend(tmp_path / "nowhere", MAPPING)
    assert trend.points == [] and trend.skipped == []
    assert trend.series("frameworks") == {}


def test_sparkline() -> None:
    assert sparkline([0.0, 50.0, 100.0, None, 99.0]) == "▁▅█ █"
    assert sparkline([]) == ""
