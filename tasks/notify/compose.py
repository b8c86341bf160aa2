"""From changed items to outgoing messages: one digest per owner per run, follow-ups in their threads.

Per owner and destination, new items (and follow-ups that have no thread to go to) make a top-level
digest; reminders and resolved notes for items announced earlier go as replies in the thread of the
message that announced them. A digest too large for one message continues in its own thread. Each
message carries the state changes it announces (`events`) and its items, so the outbox alone can
rebuild the state and show exactly what was said.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tasks.notify.blocks import FALLBACK_TEXT_LIMIT, Block, body, context, header, mrkdwn, pack
from tasks.notify.changes import Category, Change, Item
from tasks.notify.text import code, link, safe


@dataclass
class RunInfo:
    run_id: str
    flow_run_url: str
    now: datetime


class MessageIds:
    """Message ids `<run id>/<n>`, continuing after those already in the outbox for the same run."""

    def __init__(self, run_id: str, already: int) -> None:
        self.run_id = run_id
        self.n = already

    def next(self) -> str:
        self.n += 1
        return f"{self.run_id}/{self.n:03d}"


def mention_markup(mention: str | None) -> str:
    if not mention:
        return ""
    return f"<!subteam^{mention}>" if mention.startswith("S") else f"<@{mention}>"


def _counts(items: list[Item]) -> str:
    new = [i for i in items if i.change == Change.NEW]
    parts = []
    labels = (
        (Category.VIOLATION, "new violation"),
        (Category.LAPSED, "lapsed exception"),
        (Category.GAP, "new evidence gap"),
        (Category.REMINDER, "new reminder"),
    )
    for category, label in labels:
        n = sum(1 for i in new if i.category == category)
        if n:
            parts.append(f"{n} {label}{'s' if n != 1 else ''}")
    reminded = sum(1 for i in items if i.change == Change.REMINDER)
    resolved = sum(1 for i in items if i.change == Change.RESOLVED)
    if reminded:
        parts.append(f"{reminded} still open")
    if resolved:
        parts.append(f"{resolved} resolved")
    return ", ".join(parts) or "no changes"


def _foot(run: RunInfo, items: list[Item]) -> list[Block]:
    route = items[0].route.via if items else ""
    run_ref = link(run.flow_run_url, "flow run", missing="no flow-run link (set PREFECT_UI_URL)")
    return [
        context(f"complyflow run {code(run.run_id, 60)} · {run_ref}", f"routed by {safe(route, 120)}" if route else "")
    ]


def _message(
    *,
    msg_id: str,
    run: RunInfo,
    purpose: str,
    owner: str,
    destination: str,
    mention: str | None,
    thread_of: str | None,
    blocks: list[Block],
    text: str,
    items: list[Item],
    events: list[dict[str, Any]],
    part: int,
    parts: int,
) -> dict[str, Any]:
    return {
        "id": msg_id,
        "run_id": run.run_id,
        "purpose": purpose,
        "owner": owner,
        "destination": destination,
        "mention": mention,
        "thread_of": thread_of,
        "part": part,
        "parts": parts,
        "text": text[:FALLBACK_TEXT_LIMIT],
        "blocks": blocks,
        "events": events,
        "items": [i.to_dict() for i in items],
        "queued_at": run.now.isoformat(),
    }


def _events(items: list[Item], now: datetime, thread: str) -> list[dict[str, Any]]:
    events = []
    for item in items:
        if item.change == Change.RESOLVED:
            events.append({"change": "resolved", "key": item.key})
        else:
            events.append({"change": str(item.change), "key": item.key, "item": item.open_item(now, thread).to_dict()})
    return events


def _render(
    *,
    ids: MessageIds,
    run: RunInfo,
    purpose: str,
    owner: str,
    destination: str,
    mention: str | None,
    items: list[Item],
    quiet: int,
    thread: str | None,
    max_items: int,
) -> list[dict[str, Any]]:
    """The messages of one digest or follow-up; parts after the first continue in the first one's thread."""
    first_id = ids.next()
    root = thread or first_id  # where these items' follow-ups will go
    title = f"Compliance digest: {owner}" if purpose == "digest" else f"Compliance update: {owner}"
    summary = _counts(items)
    lead = f"{mention_markup(mention)} *{safe(summary, 400)}*".strip()
    if quiet:
        lead += f"\n{quiet} other open item{'s' if quiet != 1 else ''} reminded recently, not repeated here."

    def head(n: int, total: int) -> list[Block]:
        suffix = f" (part {n} of {total})" if total > 1 else ""
        blocks = [header(title[: 150 - len(suffix)] + suffix)]
        return blocks + [mrkdwn(lead)] if n == 1 else blocks

    hint = f"all are listed in findings.csv of run {code(run.run_id, 60)}"
    parts = pack(body(items, max_items, hint), head, _foot(run, items))
    messages = []
    for n, part in enumerate(parts, start=1):
        msg_id = first_id if n == 1 else ids.next()
        part_items = [i for i in items if i.key in part.keys]
        thread_of = thread if n == 1 else (thread or first_id)
        text = f"complyflow: {summary} for {safe(owner, 200)}"
        text += f" (part {n} of {len(parts)})" if len(parts) > 1 else ""
        messages.append(
            _message(
                msg_id=msg_id,
                run=run,
                purpose=purpose,
                owner=owner,
                destination=destination,
                mention=mention,
                thread_of=thread_of,
                blocks=part.blocks,
                text=text,
                items=part_items,
                events=_events(part_items, run.now, root),
                part=n,
                parts=len(parts),
            )
        )
    return messages


def compose(
    items: list[Item], quiet: dict[str, int], run: RunInfo, ids: MessageIds, max_items_per_control: int
) -> list[dict[str, Any]]:
    """Every message of this run's digests, in posting order (a thread's root before its replies)."""
    top: dict[tuple[str, str], list[Item]] = defaultdict(list)
    follow: dict[tuple[str, str, str], list[Item]] = defaultdict(list)
    for item in items:
        destination = item.route.destination
        threadable = item.change != Change.NEW and item.thread and item.announced_to == destination
        if threadable:
            follow[(item.owner, destination, item.thread)].append(item)
        else:
            top[(item.owner, destination)].append(item)
    messages: list[dict[str, Any]] = []
    owners = sorted({k[:2] for k in top} | {k[:2] for k in follow})
    for owner, destination in owners:
        group = top.get((owner, destination), [])
        mention = next((i.route.mention for i in group if i.route.mention), None)
        if group:
            messages += _render(
                ids=ids,
                run=run,
                purpose="digest",
                owner=owner,
                destination=destination,
                mention=mention,
                items=group,
                quiet=quiet.get(owner, 0),
                thread=None,
                max_items=max_items_per_control,
            )
        for (o, d, thread), replies in sorted(follow.items()):
            if (o, d) != (owner, destination):
                continue
            reply_mention = next(
                (i.route.mention for i in replies if i.route.mention and i.change != Change.RESOLVED), None
            )
            messages += _render(
                ids=ids,
                run=run,
                purpose="follow-up",
                owner=owner,
                destination=destination,
                mention=reply_mention,
                items=replies,
                quiet=0,
                thread=thread,
                max_items=max_items_per_control,
            )
    return messages


def digest_count(messages: list[dict[str, Any]]) -> int:
    """Owners (with their destination) that hear something this run: one digest each."""
    return len({(m["owner"], m["destination"]) for m in messages if m["purpose"] in ("digest", "follow-up")})
