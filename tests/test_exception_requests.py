"""Exception requests and the merged register: the policy limits, decisions, sealing, merging, reminders."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from complyflow.cli.app import app
from complyflow.core.config import (
    ConfigError,
    ExceptionEntry,
    ExceptionsRegister,
    load_config,
    names_no_resource,
)
from tasks.decisions import DECISION_RECORD, is_decision_run, seal_decision, sealed_decisions
from tasks.evidence import LocalStore, run_key
from tasks.exception_register import entry_status, expiry_notices, load_register, merge_register
from tasks.exception_requests import (
    KIND,
    ExceptionDecision,
    ExceptionRequest,
    RequestError,
    decide,
    decision_notices,
    open_request,
    request_notices,
)
from tasks.notify.notices import send_notices
from tasks.notify.outbox import Outbox

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
ENTRY = {
    "id": "EXC-1",
    "control": "logs-retention-365",
    "resource": "arn:aws:logs:*:*:log-group:/demo/scratch*",
    "justification": "throw-away data",
    "approver": "ciso@example.com",
    "approval_date": "2026-09-01",
    "expiry_date": "2027-03-01",
}


def request(**changes: Any) -> ExceptionRequest:
    fields: dict[str, Any] = {
        "control": "s3-bucket-sse-kms",
        "resource": "arn:aws:s3:::legacy-*",
        "justification": "vendor tool reads SSE-S3 only",
        "risk_assessment": "low: no personal data",
        "mitigating_controls": "bucket policy denies public access",
        "requester": "data-eng",
        "requested_expiry": TODAY + timedelta(days=90),
    }
    return ExceptionRequest(**{**fields, **changes})


def write_exceptions(config_dir: Path, *entries: dict[str, Any]) -> Path:
    path = config_dir / "exceptions.yaml"
    path.write_text(yaml.safe_dump({"exceptions": list(entries)}), encoding="utf-8")
    return path


# --- the limits on exceptions.yaml (complyflow check) ----------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "broad"),
    [
        ("*", True),
        ("**", True),
        ("arn:*", True),
        ("arn:aws:s*", True),  # fnmatch's * spans ':' — every service starting with s, every account
        ("arn:aws:s3:::*", True),
        ("arn:aws:iam::123456789012:user/*", True),
        ("arn:aws:iam::123456789012:*", True),
        ("arn:aws:logs:*:*:log-group:/demo/scratch*", False),
        ("arn:aws:s3:::legacy-*", False),
        ("arn:aws:iam::123456789012:*/bob", False),
        ("bucket-*", False),
    ],
)
def test_a_glob_naming_no_resource_is_recognised(pattern: str, broad: bool) -> None:
    assert names_no_resource(pattern) is broad


def test_bare_star_without_the_account_wide_flag_is_refused_by_check(config_dir: Path) -> None:
    path = write_exceptions(config_dir, {**ENTRY, "resource": "*"})
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    assert str(caught.value).startswith(f"{path}: entry 'EXC-1': field resource: '*' excepts every resource")
    result = CliRunner().invoke(app, ["check", "--config", str(config_dir)])
    assert result.exit_code == 2 and "account_wide" in result.output


def test_account_wide_needs_a_reason_and_then_is_accepted(config_dir: Path) -> None:
    write_exceptions(config_dir, {**ENTRY, "resource": "*", "account_wide": True})
    with pytest.raises(ConfigError, match="field account_wide_reason: required"):
        load_config(config_dir)
    write_exceptions(config_dir, {**ENTRY, "resource": "*", "account_wide": True, "account_wide_reason": "sandbox"})
    (entry,) = load_config(config_dir).exceptions.exceptions
    assert entry.account_wide and entry.matches("logs-retention-365", "arn:aws:logs:x", "x")


@pytest.mark.parametrize(("days", "ok"), [(365, True), (366, False)])
def test_expiry_at_most_365_days_after_approval(config_dir: Path, days: int, ok: bool) -> None:
    expiry = (date(2026, 9, 1) + timedelta(days=days)).isoformat()
    write_exceptions(config_dir, {**ENTRY, "expiry_date": expiry})
    if ok:
        assert load_config(config_dir).exceptions.exceptions[0].expiry_date.isoformat() == expiry
    else:
        with pytest.raises(ConfigError, match=r"field expiry_date: .* 366 days after approval_date .* at most 365"):
            load_config(config_dir)


def test_the_seventy_three_year_wildcard_of_the_issue_is_refused_on_both_counts(config_dir: Path) -> None:
    write_exceptions(config_dir, {**ENTRY, "resource": "*", "expiry_date": "2099-12-31"})
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    assert "field resource" in str(caught.value) and "field expiry_date" in str(caught.value)


def test_the_file_cannot_claim_an_entry_came_from_a_request(config_dir: Path) -> None:
    write_exceptions(config_dir, {**ENTRY, "source": "request"})
    with pytest.raises(ConfigError, match="field source: request-based exceptions come from sealed decisions"):
        load_config(config_dir)


def test_shipped_config_keeps_the_limits() -> None:
    config = load_config()
    assert all(not e.policy_problems() for e in config.exceptions.exceptions)
    assert config.exceptions.approvers.default == "security-team"


# --- requests and decisions -------------------------------------------------------------------------


def test_a_valid_request_goes_to_the_approver_of_the_control_owner_role(config_dir: Path) -> None:
    text = (config_dir / "exceptions.yaml").read_text()
    (config_dir / "exceptions.yaml").write_text(
        text.replace("by_owner_role: {}", "by_owner_role: {data-platform: platform-team}")
    )
    config = load_config(config_dir)
    assert config.control("s3-bucket-sse-kms").owner_role == "data-platform"
    pending = open_request(request(), config, NOW, "0b5e4a9c-1111-2222-3333-444455556666", "http://ui/runs/1")
    assert pending.id == "EXR-20261202-0b5e4a9c" and pending.approver == "platform-team"
    other = open_request(
        request(control="iam-user-console-mfa", resource="arn:aws:iam::123456789012:user/bob"), config, NOW
    )
    assert config.control("iam-user-console-mfa").owner_role != "data-platform"
    assert other.approver == "security-team"  # the default: the central security authority


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"control": "no-such-control"}, "control: unknown control"),
        ({"resource": "*"}, "resource: '*' names no resource"),
        ({"resource": "*", "account_wide": True}, "account_wide_reason: required"),
        ({"requested_expiry": TODAY}, "is not after today"),
        ({"requested_expiry": TODAY + timedelta(days=366)}, "more than 365 days away"),
    ],
)
def test_a_request_breaking_the_policy_is_refused_before_anyone_is_asked(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError, match=re.escape(message)):
        open_request(request(**changes), load_config(), NOW)


def test_boundaries_of_the_requested_expiry_are_accepted() -> None:
    config = load_config()
    open_request(request(requested_expiry=TODAY + timedelta(days=1)), config, NOW)
    open_request(request(requested_expiry=TODAY + timedelta(days=365)), config, NOW)
    open_request(request(resource="*", account_wide=True, account_wide_reason="sandbox account"), config, NOW)


def test_blank_justification_is_not_a_request() -> None:
    with pytest.raises(ValueError, match="justification"):
        request(justification="   ")


def _decide(outcome: str = "approve", **answer: Any) -> dict[str, Any]:
    pending = open_request(request(), load_config(), NOW, "abcdef12-0000")
    return decide(pending, ExceptionDecision(outcome=outcome, approver="ciso@example.com", **answer), NOW)


def test_approval_keeps_the_requested_expiry_and_records_who_when_what() -> None:
    record = _decide(comment="ok")
    assert record["decision"] == {
        "outcome": "approve",
        "approver": "ciso@example.com",
        "decided_at": NOW.isoformat(),
        "expiry_date": (TODAY + timedelta(days=90)).isoformat(),
        "conditions": "",
        "comment": "ok",
        "notes": [],
    }
    assert record["request"]["resource"] == "arn:aws:s3:::legacy-*" and record["designated_approver"] == "security-team"


def test_a_shorter_expiry_from_the_approver_is_taken_a_longer_or_past_one_is_not() -> None:
    shorter = _decide("approve-with-conditions", conditions="encrypt by Q1", expiry_date=TODAY + timedelta(days=30))
    assert shorter["decision"]["expiry_date"] == (TODAY + timedelta(days=30)).isoformat()
    assert shorter["decision"]["outcome"] == "approve-with-conditions"
    longer = _decide(expiry_date=TODAY + timedelta(days=91))
    assert longer["decision"]["expiry_date"] == (TODAY + timedelta(days=90)).isoformat()
    assert "later than allowed" in longer["decision"]["notes"][0]
    past = _decide(expiry_date=TODAY)
    assert past["decision"]["expiry_date"] == (TODAY + timedelta(days=90)).isoformat()
    assert "not after the decision date" in past["decision"]["notes"][0]


def test_conditions_without_text_are_an_approval_and_a_rejection_has_no_expiry() -> None:
    assert _decide("approve-with-conditions")["decision"]["outcome"] == "approve"
    assert _decide("reject")["decision"]["expiry_date"] is None


def test_notices_name_the_request_and_escape_untrusted_text() -> None:
    pending = open_request(request(justification="<!channel> *now*"), load_config(), NOW, "abc", "http://127.0.0.1/r")
    approver, requester = request_notices(pending)
    assert approver.to == "security-team" and requester.to == "data-eng"
    assert approver.id == f"{KIND}/{pending.id}/approver" and approver.link_url == "http://127.0.0.1/r"
    assert "<!channel>" not in " ".join(approver.lines)
    record = decide(pending, ExceptionDecision(outcome="reject", approver="ciso@example.com"), NOW)
    told = decision_notices(record, "RUN")
    assert [n.to for n in told] == ["data-eng", "ciso@example.com"] and "rejected" in told[0].lines[0]


# --- sealing and the merged register -----------------------------------------------------------------


def _seal(root: Path, record: dict[str, Any]) -> str:
    run_id, _ = seal_decision(
        KIND, record, config_dir=str(load_config().directory), evidence_dir=str(root), store=LocalStore(root)
    )
    return run_id


def test_a_sealed_approval_is_an_exception_from_the_next_run(tmp_path: Path) -> None:
    record = _decide()
    run_id = _seal(tmp_path, record)
    store = LocalStore(tmp_path)
    assert is_decision_run(store, run_id)
    assert (tmp_path / "runs" / run_id / "manifest.sig").is_file()  # signed like every run
    register = load_register(load_config(), store, TODAY)
    ids = [e.id for e in register.effective.exceptions]
    assert ids == ["EXC-2026-001", record["request_id"]]
    row = next(r for r in register.rows if r.source == "request")
    assert (row.status, row.approver, row.sealed_run) == ("active", "ciso@example.com", run_id)


def test_an_edited_or_unsealed_decision_grants_nothing(tmp_path: Path) -> None:
    run_id = _seal(tmp_path, _decide())
    path = tmp_path / "runs" / run_id / DECISION_RECORD
    data = json.loads(path.read_text())
    data["decision"]["expiry_date"] = "2099-12-31"
    path.write_text(json.dumps(data))
    found, problems = sealed_decisions(LocalStore(tmp_path), KIND)
    assert found == [] and "does not match its manifest" in problems[0]
    (tmp_path / "runs" / run_id / "manifest.json").unlink()
    assert "not sealed" in sealed_decisions(LocalStore(tmp_path), KIND)[1][0]
    assert [e.id for e in load_register(load_config(), LocalStore(tmp_path), TODAY).effective.exceptions] == [
        "EXC-2026-001"
    ]


def _file_register(*entries: ExceptionEntry) -> ExceptionsRegister:
    return ExceptionsRegister(review_window_days=30, exceptions=list(entries))


def test_conflicts_are_reported_not_resolved_silently() -> None:
    record = _decide()
    same_id = ExceptionEntry(**{**ENTRY, "id": record["request_id"]})
    register = merge_register(_file_register(same_id), [("R1", record)], TODAY)
    assert [e.source for e in register.effective.exceptions] == ["config"]
    assert "id already used by exceptions.yaml; not applied" in register.conflicts[0]
    overlap = ExceptionEntry(
        **{**ENTRY, "id": "EXC-9", "control": "s3-bucket-sse-kms", "resource": "arn:aws:s3:::legacy-*"}
    )
    register = merge_register(_file_register(overlap), [("R1", record)], TODAY)
    assert len(register.effective.exceptions) == 2
    assert "both except s3-bucket-sse-kms" in register.conflicts[0] and "EXC-9 applies first" in register.conflicts[0]


def test_a_rejected_request_is_in_the_register_but_excepts_nothing() -> None:
    register = merge_register(_file_register(), [("R1", _decide("reject"))], TODAY)
    assert register.effective.exceptions == []
    assert [(r.status, r.expiry_date) for r in register.rows] == [("rejected", None)]


def test_a_malformed_record_is_named_and_skipped() -> None:
    register = merge_register(_file_register(), [("R1", {"decision": {"outcome": "approve"}})], TODAY)
    assert register.effective.exceptions == [] and "R1: malformed record" in register.problems[0]


@pytest.mark.parametrize(
    ("expiry", "status"),
    [
        (TODAY + timedelta(days=31), "active"),
        (TODAY + timedelta(days=30), "expiring"),
        (TODAY, "expiring"),
        (TODAY - timedelta(days=1), "lapsed"),
    ],
)
def test_status_at_the_edges_of_the_review_window(expiry: date, status: str) -> None:
    entry = ExceptionEntry(**{**ENTRY, "approval_date": "2026-06-01", "expiry_date": expiry.isoformat()})
    assert entry_status(entry, TODAY, 30) == status


def test_expiring_and_lapsed_exceptions_are_told_once_to_requester_and_approver(tmp_path: Path) -> None:
    config = load_config()
    expiring = ExceptionEntry(**{**ENTRY, "requester": "data-eng", "expiry_date": "2026-12-20"})
    lapsed = ExceptionEntry(**{**ENTRY, "id": "EXC-2", "expiry_date": "2026-11-30"})
    active = ExceptionEntry(**{**ENTRY, "id": "EXC-3", "expiry_date": "2027-02-01"})
    register = merge_register(_file_register(expiring, lapsed, active), [], TODAY)
    notices = expiry_notices(register, TODAY)
    assert [(n.id, n.to) for n in notices] == [
        ("exception/EXC-1/2026-12-20/expiring/data-eng", "data-eng"),
        ("exception/EXC-1/2026-12-20/expiring/ciso@example.com", "ciso@example.com"),
        ("exception/EXC-2/2026-11-30/lapsed/ciso@example.com", "ciso@example.com"),
    ]
    first = send_notices(notices, config, tmp_path, LocalStore(tmp_path), NOW)
    again = send_notices(expiry_notices(register, TODAY + timedelta(days=1)), config, tmp_path, LocalStore(tmp_path))
    assert (first.queued, again.queued) == (3, 0)
    outbox = Outbox(tmp_path / config.notify.outbox_file)
    assert {m["destination"] for m in outbox.messages().values()} == {"#data-eng", "#compliance"}


def test_exceptions_list_shows_config_and_request_entries(tmp_path: Path) -> None:
    record = _decide()
    _seal(tmp_path, record)
    _seal(tmp_path, {**_decide("reject"), "request_id": "EXR-20261202-rejected"})
    result = CliRunner().invoke(
        app, ["exceptions", "list", "--json", "--evidence-dir", str(tmp_path), "--on", TODAY.isoformat()]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert [(r["id"], r["source"], r["status"]) for r in rows] == [
        ("EXC-2026-001", "config", "active"),
        (record["request_id"], "request", "active"),
        ("EXR-20261202-rejected", "request", "rejected"),
    ]
    table = CliRunner().invoke(app, ["exceptions", "list", "--evidence-dir", str(tmp_path)], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "EXC-2026-001" in table.output and "rejected" in table.output


def test_a_decision_run_is_not_a_findings_run_for_the_trend(tmp_path: Path) -> None:
    from tasks.report.trend import load_trend

    _seal(tmp_path, _decide())
    trend = load_trend(LocalStore(tmp_path), {})
    assert trend.points == [] and trend.skipped == []
    assert LocalStore(tmp_path).exists(
        run_key(sealed_decisions(LocalStore(tmp_path), KIND)[0][0].run_id, "manifest.json")
    )


def test_the_audit_pack_and_the_report_hold_the_merged_register(tmp_path: Path) -> None:
    import zipfile

    from tasks.audit_pack import PackRequest, build_audit_pack
    from tasks.exceptions import ExceptionOutcome
    from tasks.report.html import _exceptions_section
    from tests.report.factory import stored_run

    root = tmp_path / "evidence"
    findings_run = stored_run(root, [], run_id="20261201T020000Z-aaaaaa").name
    record = _decide()
    decision_run = _seal(root, record)
    now = datetime.now(UTC)
    pack = build_audit_pack(LocalStore(root), load_config(), PackRequest(date(2026, 12, 1), now.date()), now=now)
    with zipfile.ZipFile(pack.path) as archive:
        names = set(archive.namelist())
        index = json.loads(archive.read("index.json"))
        register = json.loads(archive.read("exceptions/register.json"))
        rows = archive.read("exceptions/register.csv").decode()
    assert f"runs/{decision_run}/decision.json" in names and f"runs/{decision_run}/manifest.sig" in names
    assert index["newest_run"] == findings_run  # a decision run has no findings: never "the newest run"
    assert [e["source"] for e in register["exceptions"]] == ["config", "request"]
    assert record["request_id"] in rows and ",request," in rows

    effective = load_register(load_config(), LocalStore(root), TODAY).effective
    html = _exceptions_section([], ExceptionOutcome(findings=[]), effective, TODAY)
    assert "<th>Source</th>" in html.replace(' class="num"', "") and "request" in html and record["request_id"] in html


def test_decisions_in_an_s3_store_are_found_by_listing_the_bucket(aws: None, tmp_path: Path) -> None:
    import boto3

    from complyflow.core.deploy_config import S3StoreSpec
    from tasks.evidence import S3Store

    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="evidence", ObjectLockEnabledForBucket=True)
    store = S3Store(S3StoreSpec(bucket="evidence"), retention_days=30).check()
    record = _decide()
    run_id, _ = seal_decision(
        KIND, record, config_dir=str(load_config().directory), evidence_dir=str(tmp_path), store=store
    )
    (found,), problems = sealed_decisions(store, KIND)
    assert (found.run_id, found.record["request_id"], problems) == (run_id, record["request_id"], [])
    assert is_decision_run(store, run_id)
    assert [e.source for e in load_register(load_config(), store, TODAY).effective.exceptions] == ["config", "request"]
