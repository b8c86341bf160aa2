"""Block Kit rendering of digests, and splitting so no message or block exceeds Slack's limits.

Slack rejects a section over 3,000 characters, a header over 150, more than 50 blocks, and in practice
a message whose blocks hold more than about 13,000 characters (`msg_blocks_too_long`). Lines are
packed into sections, sections into messages under a safety margin; what does not fit continues in
the next message ("part 2 of 3"). Every piece remembers the finding keys it carries, so the state
knows which message announced what.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from complyflow.core.text import clean
from tasks.notify.changes import Category, Change, Item
from tasks.notify.text import code, plain, safe

SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
CONTEXT_ELEMENTS_LIMIT = 10
MAX_BLOCKS = 50
MESSAGE_TEXT_BUDGET = 11_000  # total characters of block text per message, under Slack's ~13k
FALLBACK_TEXT_LIMIT = 3000

Block = dict[str, Any]

#: Digest sections, in reading order: (id, title).
SECTIONS = (
    ("new", ":rotating_light: *New violations*"),
    ("lapsed", ":hourglass: *Lapsed exceptions*"),
    ("gaps", ":grey_question: *Evidence gaps*: not collected, so not known to pass"),
    ("reminders", ":spiral_calendar_pad: *Reminders*"),
    ("open", ":repeat: *Still open*"),
    ("resolved", ":white_check_mark: *Resolved since the last run*"),
)


def section_of(item: Item) -> str:
    if item.change == Change.RESOLVED:
        return "resolved"
    if item.category == Category.REMINDER:
        return "reminders"
    if item.change == Change.REMINDER:
        return "open"
    return {Category.LAPSED: "lapsed", Category.GAP: "gaps"}.get(item.category, "new")


def mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_TEXT_LIMIT]}}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": plain(text, HEADER_TEXT_LIMIT), "emoji": True}}


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": t[:SECTION_TEXT_LIMIT]} for t in texts[:CONTEXT_ELEMENTS_LIMIT] if t],
    }


def divider() -> Block:
    return {"type": "divider"}


def block_text_size(block: Block) -> int:
    """Characters Slack counts for a block: the texts it holds (its JSON length bounds it from above)."""
    return len(json.dumps(block, ensure_ascii=False))


@dataclass
class Piece:
    """A block of a message body and the finding keys it carries."""

    block: Block
    keys: set[str] = field(default_factory=set)


# --- item lines ----------------------------------------------------------------------------------


def item_line(item: Item) -> str:
    where = f"{safe(item.region, 40)} · {safe(item.account, 40)}"
    if item.change == Change.RESOLVED:
        return f"• {code(item.resource_name)} · {where}\n      _{safe(item.resolution, 300)}_"
    head = f"• {code(item.resource_name)} · {where}"
    if item.change == Change.REMINDER:
        head += f" · open {item.age_days} day{'s' if item.age_days != 1 else ''}"
    if item.exception:
        exc = item.exception
        head += (
            f" · exception {code(exc.get('id', ''), 60)} expired {safe(exc.get('expired', ''), 20)}"
            f", approved by {safe(exc.get('approver', ''), 80)}"
        )
    if item.category == Category.GAP:
        detail = safe(item.message or "evidence missing", 300)
    else:
        detail = f"observed {code(item.observed)} · expected {code(item.expected)}"
    return f"{head}\n      {detail}"


def control_heading(item: Item, with_fix: bool) -> str:
    title = f"*{safe(item.control_title, 140)}* · `{safe(item.control_id, 60)}`"
    if item.severity:
        title += f" · {safe(item.severity, 20)}"
    if with_fix and item.remediation:
        title += f"\n_To fix:_ {safe(item.remediation, 600)}"
    return title


def sections_from_lines(lines: list[tuple[str, set[str]]], limit: int = SECTION_TEXT_LIMIT) -> list[Piece]:
    """Pack lines (each with the finding keys it carries) into section blocks of at most `limit` characters."""
    pieces: list[Piece] = []
    text, keys = "", set()
    for line, line_keys in lines:
        if text and len(text) + 1 + len(line) > limit:
            pieces.append(Piece(mrkdwn(text), keys))
            text, keys = "", set()
        text = f"{text}\n{line}" if text else line
        keys = keys | line_keys
    if text:
        pieces.append(Piece(mrkdwn(text), keys))
    return pieces


def body(items: list[Item], max_items_per_control: int, more_hint: str) -> list[Piece]:
    """Sections in reading order; per section, controls in id order, each with its items."""
    pieces: list[Piece] = []
    for section_id, title in SECTIONS:
        chosen = [i for i in items if section_of(i) == section_id]
        if not chosen:
            continue
        if pieces:
            pieces.append(Piece(divider()))
        pieces.append(Piece(mrkdwn(f"{title} ({len(chosen)})")))
        by_control: dict[str, list[Item]] = {}
        for item in sorted(chosen, key=lambda i: (i.control_id, i.resource_name, i.key)):
            by_control.setdefault(item.control_id, []).append(item)
        for control_items in by_control.values():
            shown, hidden = control_items[:max_items_per_control], control_items[max_items_per_control:]
            lines = [(control_heading(shown[0], with_fix=section_id != "resolved"), set())]
            lines += [(item_line(i), {i.key}) for i in shown]
            if hidden:
                lines.append((f"… and {len(hidden)} more; {more_hint}", {i.key for i in hidden}))
            pieces += sections_from_lines(lines)
    return pieces


# --- splitting into messages ---------------------------------------------------------------------


@dataclass
class Part:
    blocks: list[Block]
    keys: set[str]


def pack(pieces: list[Piece], head: Callable[[int, int], list[Block]], foot: list[Block]) -> list[Part]:
    """Messages of at most MAX_BLOCKS blocks and MESSAGE_TEXT_BUDGET characters, head and foot included."""
    probe = head(99, 99)
    block_room = MAX_BLOCKS - 1 - len(probe) - len(foot)  # one spare for a delivery note (reroute, webhook)
    char_room = MESSAGE_TEXT_BUDGET - sum(block_text_size(b) for b in [*probe, *foot])
    groups: list[list[Piece]] = []
    current: list[Piece] = []
    size = 0
    for piece in pieces:
        if not current and piece.block["type"] == "divider":
            continue  # a part never starts with a divider
        piece_size = block_text_size(piece.block)
        if current and (len(current) + 1 > block_room or size + piece_size > char_room):
            groups.append(current)
            current, size = [], 0
            if piece.block["type"] == "divider":
                continue
        current.append(piece)
        size += piece_size
    if current or not groups:
        groups.append(current)
    total = len(groups)
    return [
        Part(
            blocks=[*head(n, total), *(p.block for p in group), *foot],
            keys=set().union(*(p.keys for p in group)) if group else set(),
        )
        for n, group in enumerate(groups, start=1)
    ]


def as_text(blocks: list[Block]) -> str:
    """A readable plain rendering of blocks, for the console and the outbox (no HTML entities, no bidi or
    control characters: block text is built from `safe` values, and what reaches a terminal is cleaned here)."""
    lines = []
    for block in blocks:
        if block["type"] in ("header", "section"):
            lines.append(block["text"]["text"])
        elif block["type"] == "context":
            lines.append(" · ".join(e["text"] for e in block["elements"]))
        elif block["type"] == "divider":
            lines.append("—" * 20)
    # Plain text for a terminal: Slack's own escaping (&amp; &lt; &gt;) undone, as Slack itself shows it.
    text = "\n".join(lines).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return clean(text, keep_newlines=True)
