"""Notify owners about one run, and flush what earlier runs could not send: the two entry points.

`notify_run` routes each FAIL/ERROR finding, works out what changed since the last run, composes one
digest per owner (follow-ups in their threads) and the run summary, queues all of it in the outbox,
updates the state, then delivers everything pending. `flush` only delivers.

`notify_run` runs after the evidence is sealed, and a notification problem must never fail that run:
failures of the environment (Slack, the network, the disk, the evidence store, another run holding
the notification files) are logged and returned in the result (`stopped`, `errors`), with whatever
was queued left in the outbox. Anything else is a bug and propagates.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from slack_sdk.errors import SlackClientError

from complyflow.core.config import Config, Control, ExceptionEntry, NotifySettings
from complyflow.core.model import Finding, RunSummary
from tasks.evidence import ConcurrentSealError, EvidenceStore, EvidenceStoreError
from tasks.notify.approvers import approver_notices
from tasks.notify.blocks import as_text
from tasks.notify.changes import NOTIFIED, Change, Item, classify, run_scope
from tasks.notify.compose import MessageIds, RunInfo, compose, digest_count
from tasks.notify.credentials import CredentialError, Credentials, redact, resolve
from tasks.notify.delivery import Deliverer, DeliveryReport
from tasks.notify.directory import EmailDirectory
from tasks.notify.outbox import Outbox, Pending
from tasks.notify.routing import Route, Router, account_owners
from tasks.notify.shared import notification_files
from tasks.notify.state import NotifyState, load_state
from tasks.notify.summary import summary_message
from tasks.notify.transport import BotTransport, DeliveryError, WebhookTransport, open_transport


class NotifyError(RuntimeError):
    """Notification cannot proceed as asked (e.g. a flush without Slack credentials)."""


#: Failures of the environment rather than of the code: `notify_run` reports them instead of raising.
#: OSError covers the disk, the network, the outbox lock (TimeoutError) and the lease (NotificationLeaseTimeout).
OPERATIONAL_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    DeliveryError,
    SlackClientError,
    CredentialError,
    NotifyError,
    EvidenceStoreError,
    ConcurrentSealError,
    BotoCoreError,
    ClientError,
)


@dataclass
class NotifyResult:
    digests: int  # owners (per destination) who hear something this run
    channel: str  # "slack", "webhook" or "outbox"
    outbox_file: str
    pending: int  # messages still waiting for Slack, this run's and earlier ones
    state_file: str = ""
    queued: int = 0
    sent: int = 0
    found: int = 0  # of `sent`: already in Slack from an attempt whose answer was lost, recorded without posting
    rerouted: int = 0
    new: int = 0
    reminders: int = 0
    resolved: int = 0
    routes: dict[str, str] = field(default_factory=dict)  # finding key → "<via> -> <destination>"
    errors: list[str] = field(default_factory=list)
    stopped: str = ""  # why the step stopped before the end (lease, lock, store, disk); "" when it did not

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


def _channel(
    settings: NotifySettings, transport: BotTransport | WebhookTransport | None, credentials: Credentials
) -> str:
    """How messages are queued: by what will send them. A configured but unusable credential (or one
    withheld, see `credentials`) keeps messages pending (for a flush once it is fixed) rather than
    downgrading silently to the outbox."""
    if transport is not None:
        return transport.kind
    if credentials.withheld:
        return credentials.withheld
    if settings.delivery == "bot" or (settings.delivery == "auto" and settings.token_secret_block):
        return "slack"
    if settings.delivery == "webhook" or (settings.delivery == "auto" and settings.webhook_secret_block):
        return "webhook"
    return "outbox"


def _missing_credentials(channel: str) -> str:
    what = {"slack": "SLACK_BOT_TOKEN or token_secret_block"}.get(channel, "SLACK_WEBHOOK_URL or webhook_secret_block")
    return f"no usable Slack credentials for {channel} delivery: set {what}; messages stay pending"


def _deliverer(
    outbox: Outbox,
    state: NotifyState,
    state_path: Path,
    transport: BotTransport | WebhookTransport,
    settings: NotifySettings,
) -> Deliverer:
    return Deliverer(
        outbox,
        state,
        state_path,
        transport,
        settings.fallback_channel,
        retries=settings.max_retries,
        backoff_seconds=settings.retry_backoff_seconds,
    )


def _stopped(exc: Exception, credentials: Credentials) -> str:
    return redact(f"{type(exc).__name__}: {exc}", credentials.secrets)[:500]


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
    credentials = resolve(settings)
    transport = open_transport(settings, credentials)
    outbox_path, state_path = evidence_root / settings.outbox_file, evidence_root / settings.state_file
    # Reads only (the e-mail cache it saves stays local for notify_run): no lease, so a run is never held up
    # here, before its evidence is sealed, by another run's notification step.
    try:
        with notification_files(evidence_root, settings.outbox_file, settings.state_file, store, write=False):
            state = load_state(state_path)
            state.catch_up(Outbox(outbox_path).records)
            _, _, routes = _routes(findings, controls, config, state, transport, _aware(now), account_owners_by_id)
            state.save(state_path)
    except OPERATIONAL_ERRORS as exc:  # before the seal: the evidence matters more than the route column
        _logger().warning("notification routes not recorded on findings (%s)", _stopped(exc, credentials))
        return {}
    return {key: route.describe() for key, route in sorted(routes.items())}


@dataclass
class _Progress:
    """What the notification step got done: reported even when it stops part-way."""

    routes: dict[str, Route] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    queued: list[dict[str, Any]] = field(default_factory=list)
    report: DeliveryReport = field(default_factory=DeliveryReport)
    errors: list[str] = field(default_factory=list)
    pending: int | None = None


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
    """Notify owners of FAIL (violations) and ERROR (evidence gaps) findings of one run; never PASS or EXCEPTED.

    Never raises for a failure of Slack, the network, the disk, the evidence store or the notification
    lease (see OPERATIONAL_ERRORS): the result says what happened, and what was queued stays in the outbox.
    """
    now = _aware(now)
    settings = config.notify
    outbox_path, state_path = evidence_root / settings.outbox_file, evidence_root / settings.state_file
    credentials = resolve(settings)
    transport = open_transport(settings, credentials)
    channel = _channel(settings, transport, credentials)
    errors = list(credentials.problems)
    if transport is None and channel != "outbox" and not credentials.withheld:
        errors.append(_missing_credentials(channel))
    done, stopped = _Progress(), ""
    try:
        with notification_files(evidence_root, settings.outbox_file, settings.state_file, store):
            _queue_and_deliver(
                done,
                findings=findings,
                controls=controls,
                summary=summary,
                lapsed=lapsed,
                config=config,
                paths=(outbox_path, state_path),
                channel=channel,
                transport=transport,
                now=now,
                account_owners_by_id=account_owners_by_id,
            )
    except OPERATIONAL_ERRORS as exc:
        stopped = _stopped(exc, credentials)
        errors.append(
            f"notification step stopped: {stopped}. What was queued stays in {outbox_path} for the next run or "
            "`complyflow notify --flush`; what was not queued is announced by the next run"
        )
    if done.pending is None:  # stopped before the end: count what this machine's copy holds
        try:
            done.pending = len(Outbox(outbox_path).pending())
        except OSError:
            done.pending = 0
    errors += done.errors + done.report.errors
    result = NotifyResult(
        digests=digest_count(done.messages),
        channel=channel,
        outbox_file=str(outbox_path),
        pending=done.pending,
        state_file=str(state_path),
        queued=len(done.queued),
        sent=done.report.sent,
        found=done.report.found,
        rerouted=done.report.rerouted,
        new=sum(1 for i in done.items if i.change == Change.NEW),
        reminders=sum(1 for i in done.items if i.change == Change.REMINDER),
        resolved=sum(1 for i in done.items if i.change == Change.RESOLVED),
        routes={key: route.describe() for key, route in sorted(done.routes.items())},
        errors=errors,
        stopped=stopped,
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


def _queue_and_deliver(
    done: _Progress,
    *,
    findings: list[Finding],
    controls: list[Control],
    summary: RunSummary,
    lapsed: list[tuple[Finding, ExceptionEntry]],
    config: Config,
    paths: tuple[Path, Path],
    channel: str,
    transport: BotTransport | WebhookTransport | None,
    now: datetime,
    account_owners_by_id: dict[str, str] | None,
) -> None:
    """The step proper, under the notification files' lock or lease: filling `done` as it goes."""
    settings = config.notify
    outbox_path, state_path = paths
    outbox = Outbox(outbox_path)
    state = load_state(state_path)
    state.catch_up(outbox.records)
    directory, router, done.routes = _routes(findings, controls, config, state, transport, now, account_owners_by_id)
    done.errors = directory.errors  # the same list: look-ups made later (approvers) land in it too
    done.items, quiet = classify(
        findings=findings,
        lapsed=lapsed,
        state=state,
        routes=done.routes,
        controls={c.id: c for c in config.controls} | {c.id: c for c in controls},
        scope=run_scope(findings, controls, summary.scope, config.scope.global_region),
        now=now,
        reminder_days=settings.reminder_days,
    )
    run = RunInfo(summary.run_id, summary.flow_run_url, now)
    messages = compose(
        done.items,
        quiet,
        run,
        MessageIds(summary.run_id, outbox.count_for_run(summary.run_id)),
        settings.max_items_per_control,
    )
    if lapsed:
        messages += approver_notices(done.items, lapsed, router, run)
    if settings.summary_channel:
        destinations = {f.owner: done.routes[f.key].destination for f in findings if f.key in done.routes}
        messages.append(summary_message(summary, findings, done.items, settings.summary_channel, run, destinations))
    done.messages = messages
    done.queued = [r for r in (outbox.queue({**m, "via": channel}) for m in messages) if r is not None]
    state.catch_up(outbox.records)
    state.save(state_path)
    if channel == "outbox":
        for record in done.queued:
            print(f"── to {record['destination']} ({record['purpose']}) ──\n{as_text(record['blocks'])}\n")
    if transport is not None:
        _deliverer(outbox, state, state_path, transport, settings).run(done.report)
    state.save(state_path)
    done.pending = len(outbox.pending())


@dataclass
class FlushResult:
    channel: str
    sent: int
    pending: int
    rerouted: int = 0
    waiting: int = 0
    found: int = 0  # of `sent`: already in Slack, recorded without posting
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
        report = _deliverer(outbox, state, state_path, transport, settings).run()
        state.save(state_path)
        pending = len(outbox.pending())
    return FlushResult(
        channel=transport.kind,
        sent=report.sent,
        pending=pending,
        rerouted=report.rerouted,
        waiting=report.waiting,
        found=report.found,
        errors=list(credentials.problems) + report.errors,
    )
