"""Fixtures for notification tests: the shipped config tuned for tests, a finding factory, a Slack double."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from complyflow.core.config import Config, NotifySettings, Owners, load_config
from complyflow.core.model import Finding, RunSummary, Status, count_by_status
from tests.support.slack_double import SlackDouble, slack_double

ACCOUNT = "123456789012"
T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def shipped_config() -> Config:
    return load_config(Path(__file__).resolve().parents[2] / "configs")


def tuned(config: Config, owners: dict[str, Any] | None = None, **notify: Any) -> Config:
    """The config with notify.yaml / owners.yaml fields replaced, validated like the files are."""
    settings = NotifySettings(
        **{
            **config.notify.model_dump(),
            "max_retries": 2,
            "retry_backoff_seconds": 0.01,
            "timeout_seconds": 5,
            **notify,
        }
    )
    update: dict[str, Any] = {"notify": settings}
    if owners is not None:
        update["owners"] = Owners(**{**config.owners.model_dump(), **owners})
    return config.model_copy(update=update)


@pytest.fixture
def config(shipped_config: Config) -> Config:
    return tuned(shipped_config)


FindingFactory = Callable[..., Finding]


@pytest.fixture
def finding(shipped_config: Config) -> FindingFactory:
    def make(
        control_id: str = "s3-bucket-tls-only",
        name: str = "bucket-a",
        *,
        status: Status = Status.FAIL,
        owner: str = "data-eng",
        owner_route: str = "tag:owner",
        region: str = "us-east-1",
        account: str = ACCOUNT,
        observed: str = "tls_only_policy = False",
        run_id: str = "run-1",
        resource_type: str = "AwsS3Bucket",
        message: str = "",
        exception_id: str = "",
    ) -> Finding:
        control = shipped_config.control(control_id)
        arn = f"arn:aws:s3:::{name}"
        return Finding(
            run_id=run_id,
            control_id=control_id,
            control_title=control.title,
            resource_arn=arn,
            resource_id=arn,
            resource_type=resource_type,
            resource_name=name,
            account=account,
            region=region,
            status=status,
            severity=control.severity,
            owner=owner,
            observed=observed,
            expected="tls_only_policy = True",
            evidence_file="evidence/s3_buckets.parquet",
            message=message,
            owner_route=owner_route,
            exception_id=exception_id,
        )

    return make


def summary_for(findings: list[Finding], run_id: str, url: str = "") -> RunSummary:
    scope = {"accounts": [ACCOUNT], "regions": ["us-east-1", "eu-west-1"]}
    return RunSummary(
        run_id=run_id, flow="nightly", scope=scope, started_at=T0, counts=count_by_status(findings), flow_run_url=url
    )


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackDouble]:
    """A running Slack double, with SLACK_BOT_TOKEN and SLACK_API_URL pointing the bot at it."""
    with slack_double(users={"jane@example.com": "U0JANE0001"}) as double:
        monkeypatch.setenv("SLACK_BOT_TOKEN", double.token)
        monkeypatch.setenv("SLACK_API_URL", double.api_url)
        monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
        yield double


@pytest.fixture(autouse=True)
def _no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("SLACK_API_URL", raising=False)


def notify(
    config: Config,
    root: Path,
    findings: list[Finding],
    run_id: str,
    now: datetime,
    *,
    lapsed: list[Any] | None = None,
    url: str = "https://prefect.example/runs/flow-run/abc",
    controls: list[str] | None = None,
    accounts: list[str] | None = None,
) -> Any:
    """One notify_run call as the pipeline makes it (optionally a run narrowed to some controls or accounts)."""
    from tasks.notify.service import notify_run

    summary = summary_for(findings, run_id, url)
    if accounts is not None:
        summary.scope["accounts"] = accounts
    selected = [c for c in config.controls if controls is None or c.id in controls]
    return notify_run(
        findings=findings,
        controls=selected,
        summary=summary,
        lapsed=lapsed or [],
        config=config,
        evidence_root=root,
        now=now,
    )


def digest_posts(double: SlackDouble) -> list[dict[str, Any]]:
    """Accepted posts other than the per-run summary and approvers' notices."""
    return [
        p
        for p in double.posts
        if not p["metadata"]["event_payload"]["message_id"].endswith("/summary")
        and "/approver/" not in p["metadata"]["event_payload"]["message_id"]
    ]


def all_text(post: dict[str, Any]) -> str:
    """Every text of a post: fallback, blocks (sections, headers, context)."""
    texts = [post.get("text", "")]
    for block in post.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts += [e.get("text", "") for e in block.get("elements") or []]
    return "\n".join(texts)
