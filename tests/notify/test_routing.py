"""Routing: owners.yaml → Slack user by e-mail (cached) → control owner → account owner → fallback channel."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from complyflow.core.config import Config, ConfigError, Owners, RouteTarget, parse_model
from complyflow.core.model import Status
from tests.notify.conftest import ACCOUNT, T0, FindingFactory, all_text, digest_posts, notify, tuned
from tests.support.slack_double import SlackDouble

ROUTES = {
    "data-eng": "#data-eng",
    "lead@example.com": "U0LEAD0001",
    "ml-research": "jane@example.com",  # an e-mail value: looked up in Slack
    "identity-team": {"channel": "#identity", "mention": "S0IDENTITY"},
    "cloud-platform": "#cloud-platform",
    "platform-team": "#platform-alerts",
}


@pytest.fixture
def routed(shipped_config: Config) -> Config:
    return tuned(shipped_config, owners={"routes": ROUTES}, fallback_channel="#compliance-triage")


def test_each_step_of_the_chain_and_the_route_recorded(
    routed: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    findings = {
        "team": finding(name="b-team", owner="data-eng"),
        "email-route": finding(name="b-mail", owner="lead@example.com"),
        "route-to-email": finding(name="b-ml", owner="ml-research"),
        "slack-email": finding(name="b-jane", owner="Jane@Example.com"),
        "control": finding("iam-root-mfa", "b-ctrl", owner="unknown-team"),  # owner_role cloud-platform
        "group": finding("iam-user-console-mfa", "b-grp", owner="nobody@example.com"),  # identity-team
        "account": finding(name="b-acct", owner="ghost", account="111122223333"),
        "fallback": finding(name="b-fb", owner="ghost", account="444455556666"),
    }
    account_owner = finding(name="b-owner", owner="platform-team", owner_route="account", account="111122223333")
    result = notify(
        routed,
        tmp_path,
        [*findings.values(), account_owner],
        "run-1",
        T0,
        accounts=[ACCOUNT, "111122223333", "444455556666"],
    )
    routes = {name: result.routes[f.key] for name, f in findings.items()}
    assert routes == {
        "team": "owners.yaml:data-eng -> #data-eng",
        "email-route": "owners.yaml:lead@example.com -> U0LEAD0001",
        "route-to-email": "owners.yaml:ml-research -> U0JANE0001",
        "slack-email": "slack-email:jane@example.com -> U0JANE0001",
        "control": "control-owner:cloud-platform -> #cloud-platform",
        "group": "control-owner:identity-team -> #identity",
        "account": "account-owner:platform-team -> #platform-alerts",
        "fallback": "fallback -> #compliance-triage",
    }
    by_channel = {p["channel"]: p for p in digest_posts(slack)}
    assert "<!subteam^S0IDENTITY>" in all_text(by_channel["#identity"])
    assert "routed by control-owner:identity-team" in all_text(by_channel["#identity"])
    assert "Compliance digest: ghost" in all_text(by_channel["#compliance-triage"])
    # one look-up per address, however many findings or routes use it
    looked_up = [c.params["email"] for c in slack.method_calls("users.lookupByEmail")]
    assert sorted(looked_up) == ["jane@example.com", "nobody@example.com"]


def test_email_lookups_are_cached_across_runs_misses_included(
    routed: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    findings = [finding(name="b1", owner="jane@example.com"), finding(name="b2", owner="gone@example.com")]
    notify(routed, tmp_path, findings, "run-1", T0)
    notify(routed, tmp_path, findings, "run-2", T0 + timedelta(hours=12))
    assert len(slack.method_calls("users.lookupByEmail")) == 2
    notify(routed, tmp_path, findings, "run-3", T0 + timedelta(hours=25))  # cache is 24 hours by default
    assert len(slack.method_calls("users.lookupByEmail")) == 4


def test_a_failing_lookup_falls_through_and_is_reported(
    routed: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.fail_next(1, 200, error="missing_scope", methods=("users.lookupByEmail",))
    result = notify(routed, tmp_path, [finding(owner="jane@example.com")], "run-1", T0)
    assert result.routes[finding(owner="jane@example.com").key] == "fallback -> #compliance-triage"
    assert any("users.lookupByEmail failed (missing_scope)" in e for e in result.errors)
    later = finding(owner="jane@example.com", name="b2")
    again = notify(routed, tmp_path, [later], "run-2", T0)  # a failed lookup is not cached: asked again
    assert again.routes[later.key] == "slack-email:jane@example.com -> U0JANE0001"


def test_no_lookups_without_a_bot_or_when_disabled(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = tuned(shipped_config, email_lookup=False)
    result = notify(off, tmp_path, [finding(owner="jane@example.com")], "run-1", T0)
    assert result.routes[finding(owner="jane@example.com").key] == "fallback -> #compliance"
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    notify(tuned(shipped_config), tmp_path / "outbox-only", [finding(owner="jane@example.com")], "run-2", T0)
    assert not slack.method_calls("users.lookupByEmail")


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ({"team": "S0GROUP0001"}, "a user group (S0GROUP0001) cannot receive messages"),
        ({"team": "data eng channel"}, "is not a channel (#name, C…/G… id), a user id (U…/W…) or an e-mail"),
        ({"team": {"channel": "#x", "mention": "#y"}}, "neither a user id (U…/W…) nor a user group id (S…)"),
    ],
)
def test_bad_routes_fail_at_load_naming_file_and_field(routes: dict, message: str, tmp_path: Path) -> None:
    path = tmp_path / "owners.yaml"
    with pytest.raises(ConfigError) as error:
        parse_model(Owners, {"fallback_owner": "security-team", "routes": routes}, path)
    assert str(path) in str(error.value) and "routes" in str(error.value) and message in str(error.value)


def test_route_target_accepts_a_channel_with_a_mention() -> None:
    owners = Owners(fallback_owner="x", routes={"team": {"channel": "#team", "mention": "S0GROUP0001"}})
    assert owners.routes["team"] == RouteTarget(channel="#team", mention="S0GROUP0001")


def test_routes_can_be_recorded_before_sending_and_agree_with_the_notification(
    routed: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    from tasks.notify.service import route_findings

    findings = [
        finding(name="b1", owner="jane@example.com"),
        finding(name="b2", owner="data-eng"),
        finding(name="b3", status=Status.PASS),
    ]
    before = route_findings(findings=findings, controls=routed.controls, config=routed, evidence_root=tmp_path, now=T0)
    assert before == {
        findings[0].key: "slack-email:jane@example.com -> U0JANE0001",
        findings[1].key: "owners.yaml:data-eng -> #data-eng",
    }
    assert not slack.method_calls("chat.postMessage")
    result = notify(routed, tmp_path, findings, "run-1", T0)
    assert result.routes == before
    assert len(slack.method_calls("users.lookupByEmail")) == 1  # the notification reused the cached answer
