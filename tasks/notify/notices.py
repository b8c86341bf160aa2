"""Short notices to people (exception requests, access reviews), through the same outbox as digests.

A notice's id is derived from what it is about (`exception-request/<id>/approver`), never from the
time: a suspended flow run starts again from the top when it is resumed, and a nightly run repeats
every day, so the same notice is queued again and the outbox, which keeps one message per id, drops
it. Nothing is told twice, and nothing is lost when Slack is down (the outbox keeps it pending).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from complyflow.core.config import Config
from tasks.evidence import EvidenceStore
from tasks.notify.blocks import as_text, context, header, mrkdwn
from tasks.notify.credentials import resolve
from tasks.notify.delivery import DeliveryReport
from tasks.notify.directory import EmailDirectory
from tasks.notify.outbox import Outbox
from tasks.notify.routing import Router, route_person
from tasks.notify.service import OPERATIONAL_ERRORS, _channel, _deliverer, _logger, _stopped
from tasks.notify.shared import notification_files
from tasks.notify.state import load_state
from tasks.notify.text import link, safe
from tasks.notify.transport import BotTransport, open_transport


@dataclass(frozen=True)
class Notice:
    """One message to one person or team. `lines` are mrkdwn already escaped by the caller (tasks.notify.text)."""

    id: str
    to: str  # an owner, team or e-mail, routed like a finding's owner
    title: str  # plain text
    lines: tuple[str, ...]
    link_url: str = ""
    link_label: str = "Open the form"
    control_id: str = ""  # for the control-owner fallback route
    purpose: str = "notice"


@dataclass
class NoticeResult:
    queued: int = 0
    sent: int = 0
    pending: int = 0
    destinations: dict[str, str] = field(default_factory=dict)  # notice id -> destination
    errors: list[str] = field(default_factory=list)


def send_notices(
    notices: list[Notice],
    config: Config,
    evidence_root: Path,
    store: EvidenceStore | None = None,
    now: datetime | None = None,
) -> NoticeResult:
    """Queue the notices not queued before, then deliver what is pending. Never raises for Slack, network or
    disk trouble (OPERATIONAL_ERRORS): the result says what happened and the outbox keeps the rest."""
    now = now or datetime.now(UTC)
    settings = config.notify
    outbox_path, state_path = evidence_root / settings.outbox_file, evidence_root / settings.state_file
    credentials = resolve(settings)
    transport = open_transport(settings, credentials)
    channel = _channel(settings, transport, credentials)
    result = NoticeResult(errors=list(credentials.problems))
    if not notices:
        return result
    try:
        with notification_files(evidence_root, settings.outbox_file, settings.state_file, store):
            outbox = Outbox(outbox_path)
            state = load_state(state_path)
            state.catch_up(outbox.records)
            lookup = transport.lookup_email if isinstance(transport, BotTransport) and settings.email_lookup else None
            directory = EmailDirectory(lookup, state.emails, timedelta(hours=settings.email_cache_hours), now)
            router = Router(config, config.controls, {}, directory)
            queued = []
            for notice in notices:
                route = route_person(router, notice.to, notice.control_id)
                result.destinations[notice.id] = route.destination
                record = outbox.queue({**_message(notice, route.destination, route.mention, now), "via": channel})
                if record is not None:
                    queued.append(record)
            result.queued = len(queued)
            result.errors += directory.errors
            state.catch_up(outbox.records)
            state.save(state_path)
            if channel == "outbox":
                for record in queued:
                    print(f"── to {record['destination']} ({record['purpose']}) ──\n{as_text(record['blocks'])}\n")
            if transport is not None:
                report = DeliveryReport()
                _deliverer(outbox, state, state_path, transport, settings).run(report)
                result.sent = report.sent
                result.errors += report.errors
                state.save(state_path)
            result.pending = len(outbox.pending())
    except OPERATIONAL_ERRORS as exc:
        result.errors.append(f"notices stopped: {_stopped(exc, credentials)}; what was queued stays in the outbox")
    for error in result.errors:
        _logger().warning("notices: %s", error)
    return result


def _message(notice: Notice, destination: str, mention: str | None, now: datetime) -> dict[str, object]:
    blocks = [header(notice.title), *(mrkdwn(line) for line in notice.lines)]
    if notice.link_url:
        blocks.append(context(link(notice.link_url, notice.link_label, missing="(no Prefect UI address configured)")))
    return {
        "id": notice.id,
        "run_id": notice.id.split("/", 1)[0],
        "purpose": notice.purpose,
        "owner": notice.to,
        "destination": destination,
        "mention": mention,
        "thread_of": None,
        "part": 1,
        "parts": 1,
        "text": f"complyflow: {safe(notice.title)}",
        "blocks": blocks,
        "events": [],
        "items": [],
        "queued_at": now.isoformat(),
    }
