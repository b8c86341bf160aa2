"""Notify owners about one run, and flush what earlier runs could not send: the two entry points.

`notify_run` routes each FAIL/ERROR finding, works out what changed since the last run, composes one
digest per owner (follow-ups in their threads) and the run summary, queues all of it in the outbox,
updates the state, then delivers everything pending. `flush` only delivers.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from complyflow.core.config import Config, Control, ExceptionEntry, NotifySettings
from complyflow.core.model import Finding, RunSummary
from tasks.evidence import EvidenceStore
from tasks.notify.approvers import approver_notices
from tasks.notify.blocks import as_text
from tasks.notify.changes import NOTIFIED, Change, classify, run_scope
from tasks.notify.compose import MessageIds, RunInfo, compose, digest_count
from tasks.notify.credentials import resolve
from tasks.notify.delivery import Deliverer, DeliveryReport
from tasks.notify.directory import EmailDirectory
from tasks.notify.outbox import Outbox, Pending
from tasks.notify.routing import Route, Router, account_owners
from tasks.notify.shared import notification_files
from tasks.notify.state import NotifyState, load_state
from tasks.notify.summary import summary_message
from tasks.notify.transport import BotTransport, WebhookTransport, open_transport


class NotifyError(RuntimeError):
    """Notification cannot proceed as asked (e.g. a flush without Slack credentials)."""


@dataclass
class NotifyResult:
    digests: int  # owners (per destination) who hear something this run
    channel: str  # "slack", "webhook" or "outbox"
    outbox_file: str
    pending: int  # messages still waiting for Slack, this run's and earlier ones
    state_file: str = ""
    queued: int = 0
    sent: int = 0
    rerouted: int = 0
    new: int = 0
    reminders: int = 0
    resolved: int = 0
    routes: dict[str, str] = field(default_factory=dict)  # finding key → "<via> -> <destination>"
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The run's notification outcome, without the per-finding routes: those are on each finding
        (`notify_route` in findings.json), and a flow's return value is walked by Prefect item by item."""
        data = asdict(self)
        data["routed"] = len(data.pop("routes"))
        return data


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a flow or task run
        return logging.getLogger(__name__)


def _channel(settings: NotifySettings, transport: BotTransport | WebhookTransport | None) -> str:
    """How messages are queued: by what will send them. A configured but unusable credential keeps
    messages pending (for a flush once it is fixed) rather than downgrading silently to the outbox."""
    if transport is not None:
        return transport.kind
    if settings.delivery == "bot" or (settings.delivery == "auto" and settings.token_secret_block):
        return "slack"
    if settings.delivery == "webhook" or (settings.delivery == "auto" and settings.webhook_secret_block):
        return "webhook"
    return "outbox"


def _missing_credentials(channel: str) -> str:
    what = {"slack": "SLACK_BOT_TOKEN or token_secret_block"}.get(channel, "SLACK_WEBHOOK_URL or webhook_secret_block")
    return f"no usable Slack credentials for {channel} delivery: set {what}; messages stay pending"


def _aware(now: datetime | None) -> datetime:
    """`now` in UTC; a naive value is taken as UTC (stored times are all UTC-aware)."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _routes(
    findings: list[Finding],
    controls: list[Control],
    config: Config,
    state: NotifyState,
    transport: BotTransport | WebhookTransport | None,
    now: datetime,
    account_owners_by_id: dict[str, str] | None,
) -> tuple[EmailDirectory, Router, dict[str, Route]]:
    lookup = transport.lookup_email if isinstance(transport, BotTransport) and config.notify.email_lookup else None
    directory = EmailDirectory(lookup, state.emails, timedelta(hours=config.notify.email_cache_hours), now)
    router = Router(config, controls, account_owners(config, findings, account_owners_by_id), directory)
    return directory, router, {f.key: router.route(f) for f in findings if f.status in NOTIFIED}


def route_findings(
    *,
    findings: list[Finding],
    controls: list[Control],
    config: Config,
    evidence_root: Path,
    now: datetime | None = None,
    account_owners_by_id: dict[str, str] | None = None,
    store: EvidenceStore | None = None,
) -> dict[str, str]:
    """The Slack route of each FAIL/ERROR finding (key → "<via> -> <destination>"), sending nothing.

    For recording routes on findings before the run is sealed; e-mail look-ups land in the same cache
    that `notify_run` reads moments later, so both agree and Slack is asked once.
    """
    settings = config.notify
    transport = open_transport(settings, resolve(settings))
    outbox_path, state_path = evidence_root / settings.outbox_file, evidence_root / settings.state_file
    # Reads only (the e-mail cache it saves stays local for notify_run): no lease, so a run is never held up
    # here, before its evidence is sealed, by another run's notification step.
    with notification_files(evidence_root, settings.outbox_file, settings.state_file, store, write=False):
        state = load_state(state_path)
        state.catch_up(Outbox(outbox_path).records)
        _, _, routes = _routes(findings, controls, config, state, transport, _aware(now), account_owners_by_id)
        state.save(state_path)
    return {key: route.describe() for key, route in sorted(routes.items())}


def notify_run(
    *,
    findings: list[Finding],
    controls: list[Control],
    summary: RunSummary,
    lapsed: list[tuple[Finding, ExceptionEntry]],
    config: Config,
    evidence_root: Path,
    now: datetime | None = None,
    account_owners_by_id: dict[str, str] | None = None,
    store: EvidenceStore | None = None,
) -> NotifyResult:
    """Notify owners of FAIL (violations) and ERROR (evidence gaps) findings of one run; never PASS or EXCEPTED."""
    now = _aware(now)
    settings = config.notify
    outbox_path, state_path = evidence_root / settings.outbox_file, evidence_root / settings.state_file
    credentials = resolve(settings)
    transport = open_transport(settings, credentials)
    channel = _channel(settings, transport)
    errors = list(credentials.problems)
    if transport is None and channel != "outbox":
        errors.append(_missing_credentials(channel))
    with notification_files(evidence_root, settings.outbox_file, settings.state_file, store):
        outbox = Outbox(outbox_path)
        state = load_state(state_path)
        state.catch_up(outbox.records)
        directory, router, routes = _routes(findings, controls, config, state, transport, now, account_owners_by_id)
        items, quiet = classify(
            findings=findings,
            lapsed=lapsed,
            state=state,
            routes=routes,
            controls={c.id: c for c in config.controls} | {c.id: c for c in controls},
            scope=run_scope(findings, controls, summary.scope, config.scope.global_region),
            now=now,
            reminder_days=settings.reminder_days,
        )
        run = RunInfo(summary.run_id, summary.flow_run_url, now)
        messages = compose(
            items,
            quiet,
            run,
            MessageIds(summary.run_id, outbox.count_for_run(summary.run_id)),
            settings.max_items_per_control,
        )
        if lapsed:
            messages += approver_notices(items, lapsed, router, run)
        if settings.summary_channel:
            destinations = {f.owner: routes[f.key].destination for f in findings if f.key in routes}
            messages.append(summary_message(summary, findings, items, settings.summary_channel, run, destinations))
        queued = [r for r in (outbox.queue({**m, "via": channel}) for m in messages) if r is not None]
        state.catch_up(outbox.records)
        state.save(state_path)
        if channel == "outbox":
            for record in queued:
                print(f"── to {record['destination']} ({record['purpose']}) ──\n{as_text(record['blocks'])}\n")
        report = (
            Deliverer(outbox, state, state_path, transport, settings.fallback_channel).run()
            if transport is not None
            else DeliveryReport()
        )
        state.save(state_path)
        pending = len(outbox.pending())
    errors += directory.errors + report.errors
    result = NotifyResult(
        digests=digest_count(messages),
        channel=channel,
        outbox_file=str(outbox_path),
        pending=pending,
        state_file=str(state_path),
        queued=len(queued),
        sent=report.sent,
        rerouted=report.rerouted,
        new=sum(1 for i in items if i.change == Change.NEW),
        reminders=sum(1 for i in items if i.change == Change.REMINDER),
        resolved=sum(1 for i in items if i.change == Change.RESOLVED),
        routes={key: route.describe() for key, route in sorted(routes.items())},
        errors=errors,
    )
    log = _logger()
    log.info(
        "notifications: %d digest(s), %d new, %d reminded, %d resolved; %d queued, %d sent via %s, %d pending",
        result.digests,
        result.new,
        result.reminders,
        result.resolved,
        result.queued,
        result.sent,
        channel,
        result.pending,
    )
    for error in errors:
        log.warning("notifications: %s", error)
    return result


@dataclass
class FlushResult:
    channel: str
    sent: int
    pending: int
    rerouted: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pending_messages(config: Config, evidence_root: Path, store: EvidenceStore | None = None) -> list[Pending]:
    settings = config.notify
    with notification_files(evidence_root, settings.outbox_file, settings.state_file, store, write=False):
        return Outbox(evidence_root / settings.outbox_file).pending()


def flush(config: Config, evidence_root: Path, store: EvidenceStore | None = None) -> FlushResult:
    """Deliver every pending message of the outbox under `evidence_root`, oldest first."""
    settings = config.notify
    credentials = resolve(settings)
    transport = open_transport(settings, credentials)
    if transport is None:
        problems = "; ".join(credentials.problems)
        raise NotifyError(
            "nothing can be sent without Slack credentials: set SLACK_BOT_TOKEN (or SLACK_WEBHOOK_URL), "
            "or name a Prefect Secret block in notify.yaml" + (f" ({problems})" if problems else "")
        )
    outbox_path, state_path = evidence_root / settings.outbox_file, evidence_root / settings.state_file
    with notification_files(evidence_root, settings.outbox_file, settings.state_file, store):
        outbox = Outbox(outbox_path)
        state = load_state(state_path)
        state.catch_up(outbox.records)
        report = Deliverer(outbox, state, state_path, transport, settings.fallback_channel).run()
        state.save(state_path)
        pending = len(outbox.pending())
    return FlushResult(
        channel=transport.kind,
        sent=report.sent,
        pending=pending,
        rerouted=report.rerouted,
        waiting=report.waiting,
        errors=list(credentials.problems) + report.errors,
    )
