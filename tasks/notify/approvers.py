"""Lapsed exceptions, told to the people who approved them (ML SecPol "Exceptions").

The owner hears about a lapse in their digest; the approver gets a short notice of their own, once, when
the lapse is first seen. The notice carries no finding items, so it never changes the dedup state.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from complyflow.core.config import ExceptionEntry
from complyflow.core.model import Finding
from tasks.notify.blocks import header, sections_from_lines
from tasks.notify.changes import Category, Change, Item
from tasks.notify.compose import RunInfo
from tasks.notify.routing import Router
from tasks.notify.text import code, safe

SECTION_LIMIT = 2900  # Slack allows 3,000 characters per section


def approver_notices(
    items: list[Item], lapsed: list[tuple[Finding, ExceptionEntry]], router: Router, run: RunInfo
) -> list[dict[str, Any]]:
    """One notice per approver whose exceptions newly lapsed this run."""
    newly = {i.key for i in items if i.category == Category.LAPSED and i.change == Change.NEW}
    by_approver: dict[str, list[tuple[Finding, ExceptionEntry]]] = defaultdict(list)
    for finding, entry in lapsed:
        if finding.key in newly:
            by_approver[entry.approver].append((finding, entry))
    messages = []
    for approver, pairs in sorted(by_approver.items()):
        route = router.route(replace(pairs[0][0], owner=approver))
        lines = [
            f"• exception {code(entry.id)} on {code(f.control_id)} · {code(f.resource_name)} · {safe(f.region)}"
            f" expired {entry.expiry_date}; owner {safe(f.owner)}"
            for f, entry in pairs
        ]
        sections = [piece.block for piece in sections_from_lines([(line, set()) for line in lines], SECTION_LIMIT)]
        text = f"complyflow: {len(pairs)} exception(s) you approved have lapsed; the findings are violations again"
        messages.append(
            {
                "id": f"{run.run_id}/approver/{approver}",
                "run_id": run.run_id,
                "purpose": "approver-notice",
                "owner": approver,
                "destination": route.destination,
                "mention": route.mention,
                "thread_of": None,
                "part": 1,
                "parts": 1,
                "text": text,
                "blocks": [header("Exceptions you approved have lapsed"), *sections[:45]],
                "events": [],
                "items": [],
                "queued_at": run.now.isoformat(),
            }
        )
    return messages
