"""Access-review campaigns: per-owner reviews, sealed decisions, the two controls, reminders and escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from complyflow.core.config import AccessReviewSettings, load_config
from complyflow.core.model import EvidenceGap, Status
from tasks.access_review_notices import decision_notice, pending_notices, request_notice
from tasks.access_reviews import (
    CAMPAIGN_KIND,
    REVIEW_KIND,
    REVIEWS_TABLE,
    REVOCATIONS_TABLE,
    PrincipalDecision,
    ReviewAnswer,
    ReviewError,
    ReviewState,
    derived_gaps,
    latest_principals,
    load_state,
    principals_by_owner,
    review_record,
    review_tables,
    with_review_inputs,
)
from tasks.decisions import SealedDecision, seal_decision
from tasks.evidence import LocalStore, RunFolder, seal
from tasks.validate import findings_for_table, new_context

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
SETTINGS = AccessReviewSettings(interval_days=90, reminder_days=7, escalate_after_days=14)


def principal_row(name: str, owner: str = "data-eng", *, account: str = ACCOUNT, **facts: Any) -> dict[str, Any]:
    arn = f"arn:aws:iam::{account}:user/{name}"
    return {
        "account": account,
        "region": "us-east-1",
        "resource_arn": arn,
        "resource_type": "AwsIamUser",
        "resource_id": arn,
        "resource_name": name,
        "tags": "{}",
        "owner": owner,
        "groups": facts.get("groups", ""),
        "attached_policies": facts.get("attached_policies", ""),
        "inline_policies": facts.get("inline_policies", ""),
        "is_admin": facts.get("is_admin", False),
        "admin_via": "",
        "last_activity": facts.get("last_activity", ""),
        "inactive_days": None,
    }


def principals(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def answer(*decisions: tuple[str, str], reviewer: str = "dana@example.com", **extra: str) -> ReviewAnswer:
    return ReviewAnswer(
        reviewer=reviewer,
        decisions=[
            PrincipalDecision(principal=f"arn:aws:iam::{ACCOUNT}:user/{name}", action=action, **extra)  # type: ignore[arg-type]
            for name, action in decisions
        ],
    )


def reviewed(frame: pd.DataFrame, owner: str, reply: ReviewAnswer, *, days_ago: int, campaign: str = "AR-1") -> dict:
    return review_record(
        campaign=campaign,
        owner=owner,
        evidence_run="RUN-0",
        principals=principals_by_owner(frame, "security-team")[owner],
        answer=reply,
        decided_at=NOW - timedelta(days=days_ago),
    )


def state(*reviews: dict, campaigns: tuple[dict, ...] = ()) -> ReviewState:
    return ReviewState(
        campaigns=[SealedDecision(f"C{i}", CAMPAIGN_KIND, c) for i, c in enumerate(campaigns)],
        reviews=[SealedDecision(f"R{i}", REVIEW_KIND, r) for i, r in enumerate(reviews)],
    )


def tables(frame: pd.DataFrame, review_state: ReviewState, now: datetime = NOW) -> dict[str, pd.DataFrame]:
    return review_tables(frame, review_state, SETTINGS, "security-team", "us-east-1", now)


def verdicts(table: str, frame: pd.DataFrame, gaps: list[EvidenceGap] | None = None) -> dict[str, Status]:
    """The real control YAML decided by Great Expectations, as in a run."""
    config = load_config()
    control_id = {REVIEWS_TABLE: "iam-access-review-completed", REVOCATIONS_TABLE: "iam-access-review-revocations-done"}
    frame = frame.assign(owner_source="access-review")
    found = findings_for_table(
        context=new_context(),
        run_id="R1",
        table=table,
        frame=frame,
        controls=[config.control(control_id[table])],
        gaps=gaps or [],
        evidence_file=f"evidence/{table}.parquet",
    )
    return {f.resource_name: f.status for f in found}


# --- grouping and the record ------------------------------------------------------------------------


def test_each_owner_gets_their_principals_admins_first_and_unowned_go_to_the_fallback() -> None:
    frame = principals(principal_row("zed", is_admin=True), principal_row("amy"), principal_row("orphan", owner=""))
    grouped = principals_by_owner(frame, "security-team")
    assert {o: [p.name for p in ps] for o, ps in grouped.items()} == {
        "data-eng": ["zed", "amy"],
        "security-team": ["orphan"],
    }


def test_a_review_records_each_decision_with_the_access_it_had() -> None:
    frame = principals(principal_row("amy", groups="analysts, admins"), principal_row("bob"))
    reply = answer(("amy", "revoke"), ("bob", "keep"), ("mallory", "keep"))
    record = reviewed(frame, "data-eng", reply, days_ago=0)
    assert record["complete"] and record["missing"] == [] and record["reviewer"] == "dana@example.com"
    amy = record["items"][0]
    assert (amy["name"], amy["action"], amy["access"]["groups"]) == ("amy", "revoke", ["admins", "analysts"])
    assert "user/mallory: not one of this review's principals; ignored" in record["notes"][0]


def test_a_review_missing_a_principal_is_incomplete_and_a_bare_reassign_is_kept() -> None:
    frame = principals(principal_row("amy"), principal_row("bob"))
    record = reviewed(frame, "data-eng", answer(("amy", "reassign")), days_ago=0)
    assert not record["complete"] and record["missing"] == [f"arn:aws:iam::{ACCOUNT}:user/bob"]
    assert record["items"][0]["action"] == "keep" and "reassign without a new owner" in record["notes"][0]


# --- iam-access-review-completed -------------------------------------------------------------------------


@pytest.mark.parametrize(("days_ago", "current"), [(0, True), (90, True), (91, False)])
def test_a_complete_review_counts_for_the_interval_and_not_a_day_longer(days_ago: int, current: bool) -> None:
    frame = principals(principal_row("amy"))
    built = tables(frame, state(reviewed(frame, "data-eng", answer(("amy", "keep")), days_ago=days_ago)))
    (row,) = built[REVIEWS_TABLE].to_dict("records")
    assert (row["review_current"], row["days_since_review"]) == (current, days_ago)
    expected = Status.PASS if current else Status.FAIL
    assert verdicts(REVIEWS_TABLE, built[REVIEWS_TABLE]) == {"access review of data-eng": expected}


def test_an_owner_never_reviewed_or_only_incompletely_fails_not_errors() -> None:
    frame = principals(principal_row("amy"), principal_row("bob"), principal_row("carl", owner="ml-research"))
    partial = reviewed(frame, "data-eng", answer(("amy", "keep")), days_ago=1)
    built = tables(frame, state(partial))
    rows = {r["owner"]: r for r in built[REVIEWS_TABLE].to_dict("records")}
    assert rows["data-eng"]["last_review_completed"] == "" and pd.isna(rows["data-eng"]["days_since_review"])
    assert verdicts(REVIEWS_TABLE, built[REVIEWS_TABLE]) == {
        "access review of data-eng": Status.FAIL,
        "access review of ml-research": Status.FAIL,
    }


def test_an_owner_is_judged_per_account_they_hold_principals_in() -> None:
    frame = principals(principal_row("amy"), principal_row("amy", account="210987654321"))
    built = tables(frame, state())
    assert sorted(built[REVIEWS_TABLE]["account"]) == ["123456789012", "210987654321"]
    assert set(built[REVIEWS_TABLE]["resource_id"]) == {
        "123456789012/access-review/data-eng",
        "210987654321/access-review/data-eng",
    }


def test_no_principals_no_review_rows() -> None:
    built = tables(pd.DataFrame(), state())
    assert built[REVIEWS_TABLE].empty and built[REVOCATIONS_TABLE].empty
    assert verdicts(REVIEWS_TABLE, built[REVIEWS_TABLE]) == {}


# --- iam-access-review-revocations-done -----------------------------------------------------------


def test_a_revoked_principal_that_keeps_reviewed_access_fails_until_it_is_removed() -> None:
    before = principals(principal_row("amy", groups="admins", attached_policies="AdministratorAccess"))
    review = reviewed(before, "data-eng", answer(("amy", "revoke")), days_ago=3)
    still = tables(before, state(review))[REVOCATIONS_TABLE]
    (row,) = still.to_dict("records")
    assert row["still_has_access"] and row["remaining_access"] == "attached_policies:AdministratorAccess, groups:admins"
    assert verdicts(REVOCATIONS_TABLE, still) == {"amy": Status.FAIL}

    stripped = principals(principal_row("amy", attached_policies="ReadOnlyAccess"))  # new access is not reviewed access
    assert verdicts(REVOCATIONS_TABLE, tables(stripped, state(review))[REVOCATIONS_TABLE]) == {"amy": Status.PASS}

    gone = principals(principal_row("someone-else"))
    (row,) = tables(gone, state(review))[REVOCATIONS_TABLE].to_dict("records")
    assert (row["principal_exists"], row["still_has_access"]) == (False, False)


def test_a_later_keep_supersedes_a_revoke_and_other_accounts_are_not_judged() -> None:
    frame = principals(principal_row("amy", groups="admins"))
    revoke = reviewed(frame, "data-eng", answer(("amy", "revoke")), days_ago=30, campaign="AR-1")
    keep = reviewed(frame, "data-eng", answer(("amy", "keep")), days_ago=1, campaign="AR-2")
    assert tables(frame, state(revoke, keep))[REVOCATIONS_TABLE].empty
    elsewhere = principals(principal_row("bob", account="210987654321"))
    assert tables(elsewhere, state(revoke))[REVOCATIONS_TABLE].empty


def test_principals_not_collected_are_an_evidence_gap_on_both_tables() -> None:
    denied = EvidenceGap(
        ACCOUNT,
        "us-east-1",
        "iam",
        ("iam_principals", "iam_users"),
        "GetAccountAuthorizationDetails",
        "AccessDenied",
        "denied",
    )
    activity_only = EvidenceGap(
        ACCOUNT,
        "us-east-1",
        "iam",
        ("iam_principals",),
        "GetCredentialReport",
        "AccessDenied",
        "denied",
        columns=("last_activity", "inactive_days"),
    )
    (gap,) = derived_gaps([denied, activity_only])
    assert gap.tables == (REVIEWS_TABLE, REVOCATIONS_TABLE) and gap.account == ACCOUNT
    found = findings_for_table(
        context=new_context(),
        run_id="R1",
        table=REVIEWS_TABLE,
        frame=tables(pd.DataFrame(), state())[REVIEWS_TABLE],
        controls=[load_config().control("iam-access-review-completed")],
        gaps=[gap],
        evidence_file="",
    )
    assert [f.status for f in found] == [Status.ERROR]


def test_review_tables_need_the_principals_collected() -> None:
    assert with_review_inputs({REVIEWS_TABLE}) == {REVIEWS_TABLE, "iam_principals"}
    assert with_review_inputs({"s3_buckets"}) == {"s3_buckets"}


# --- campaign records, reminders and escalation --------------------------------------------------------


def campaign(days_ago: int, *owners: str) -> dict[str, Any]:
    return {
        "campaign": "AR-9",
        "started_at": (NOW - timedelta(days=days_ago)).isoformat(),
        "evidence_run": "RUN-0",
        "reviews": [
            {"owner": o, "principals": 1, "flow_run_id": "f", "form_url": f"http://127.0.0.1/{o}"} for o in owners
        ],
    }


@pytest.mark.parametrize(
    ("days", "ids"),
    [
        (6, []),
        (7, ["access-review/AR-9/data-eng/reminder/1"]),
        (13, ["access-review/AR-9/data-eng/reminder/1"]),
        (14, ["access-review/AR-9/data-eng/reminder/2", "access-review/AR-9/data-eng/escalation"]),
    ],
)
def test_a_pending_review_is_reminded_on_the_cadence_then_escalated(days: int, ids: list[str]) -> None:
    notices = pending_notices(state(campaigns=(campaign(days, "data-eng"),)), SETTINGS, "security-team", NOW)
    assert [n.id for n in notices] == ids
    if days >= 14:
        assert [n.to for n in notices] == ["data-eng", "security-team"]
        assert notices[-1].link_url == "http://127.0.0.1/data-eng"


def test_an_answered_review_is_neither_reminded_nor_pending_and_escalation_owner_is_configurable() -> None:
    frame = principals(principal_row("amy"), principal_row("carl", owner="ml-research"))
    done = reviewed(frame, "data-eng", answer(("amy", "keep")), days_ago=1, campaign="AR-9")
    review_state = state(done, campaigns=(campaign(20, "data-eng", "ml-research"),))
    settings = SETTINGS.model_copy(update={"escalation_owner": "ciso@example.com"})
    notices = pending_notices(review_state, settings, "security-team", NOW)
    assert {(n.to, n.id.rsplit("/", 1)[-1]) for n in notices} == {
        ("ml-research", "2"),
        ("ciso@example.com", "escalation"),
    }
    rows = {r["owner"]: r for r in tables(frame, review_state)[REVIEWS_TABLE].to_dict("records")}
    assert rows["ml-research"]["review_pending_since"] == (NOW - timedelta(days=20)).date().isoformat()
    assert rows["data-eng"]["review_pending_since"] == ""


def test_notices_carry_the_form_link_and_escape_names() -> None:
    frame = principals(principal_row("<!here>"))
    (p,) = principals_by_owner(frame, "x")["data-eng"]
    notice = request_notice("AR-9", "data-eng", [p], "http://127.0.0.1:4200/runs/flow-run/1")
    assert notice.link_url.endswith("/runs/flow-run/1") and "<!here>" not in notice.lines[0]
    record = reviewed(
        principals(principal_row("amy")), "data-eng", answer(("amy", "reassign"), reassign_to="ml-research"), days_ago=0
    )
    told = decision_notice(record, "RUN-7")
    assert [n.to for n in told] == ["data-eng", "ml-research"] and "1 reassign" in told[0].lines[0]


# --- the store ----------------------------------------------------------------------------------------------


def _nightly_like_run(root: Path, frame: pd.DataFrame, run_id: str) -> None:
    folder = RunFolder(root, run_id).create()
    folder.write_table("iam_principals", frame)
    seal(folder, {"flow": "nightly"}, store=LocalStore(root))


def test_the_campaign_reviews_the_newest_sealed_principals_never_a_decision_run(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(ReviewError, match="run the nightly compliance flow first"):
        latest_principals(store)
    _nightly_like_run(tmp_path, principals(principal_row("old")), "20261201T020000Z-aaaaaa")
    _nightly_like_run(tmp_path, principals(principal_row("new")), "20261202T020000Z-bbbbbb")
    unsealed = RunFolder(tmp_path, "20261202T030000Z-cccccc").create()
    unsealed.write_table("iam_principals", principals(principal_row("unsealed")))
    config_dir = str(load_config().directory)
    seal_decision(
        CAMPAIGN_KIND, campaign(0, "data-eng"), config_dir=config_dir, evidence_dir=str(tmp_path), store=store
    )
    run_id, frame = latest_principals(store)
    assert run_id == "20261202T020000Z-bbbbbb" and list(frame["resource_name"]) == ["new"]
    loaded = load_state(store)
    assert [c.record["campaign"] for c in loaded.campaigns] == ["AR-9"] and loaded.reviews == []
    assert [entry["owner"] for _, entry in loaded.pending()] == ["data-eng"]


def test_the_declared_tables_are_the_ones_the_reviews_fill() -> None:
    from tasks.collect import TABLE_SOURCES
    from tasks.collect.access_review_records import COLLECTOR

    assert COLLECTOR.tables == (REVIEWS_TABLE, REVOCATIONS_TABLE) and COLLECTOR.calls == ()  # no AWS call
    assert TABLE_SOURCES[REVIEWS_TABLE] is COLLECTOR
    built = tables(principals(principal_row("amy")), state())
    for spec in COLLECTOR.declares:
        assert {*built[spec.name].columns, "owner_source"} == set(spec.column_names), spec.name
