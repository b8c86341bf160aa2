"""The per-run summary for the compliance channel: posture, counts per status, what changed, top owners."""

from __future__ import annotations

from collections import Counter
from typing import Any

from complyflow.core.model import Finding, RunSummary, Status, posture_of
from tasks.notify.blocks import Block, context, header, mrkdwn
from tasks.notify.changes import Category, Change, Item
from tasks.notify.compose import RunInfo
from tasks.notify.text import code, link, safe

TOP_OWNERS = 5


def summary_blocks(
    summary: RunSummary, findings: list[Finding], items: list[Item], destinations: dict[str, str]
) -> tuple[list[Block], str, dict[str, Any]]:
    """Blocks, fallback text and plain data of the summary of one run."""
    posture = posture_of(summary.counts)  # the one formula (complyflow.core.model.Posture)
    share = f"{posture.percent:.1f} %" if posture.percent is not None else "n/a"
    counts = " · ".join(f"{status}: *{summary.counts.get(str(status), 0)}*" for status in Status)
    changes = Counter((i.change, i.category) for i in items)
    new = sum(n for (change, _), n in changes.items() if change == Change.NEW)
    line = (
        f"This run: *{new}* new ({changes[(Change.NEW, Category.VIOLATION)]} violations, "
        f"{changes[(Change.NEW, Category.LAPSED)]} lapsed exceptions, {changes[(Change.NEW, Category.GAP)]} "
        f"evidence gaps, {changes[(Change.NEW, Category.REMINDER)]} reminders) · "
        f"*{sum(n for (c, _), n in changes.items() if c == Change.REMINDER)}* reminded · "
        f"*{sum(n for (c, _), n in changes.items() if c == Change.RESOLVED)}* resolved"
    )
    open_by_owner = Counter(f.owner for f in findings if f.status in (Status.FAIL, Status.ERROR))
    top = open_by_owner.most_common(TOP_OWNERS)
    owners = (
        "\n".join(
            f"• {safe(owner, 80)}: {n} open" + (f" → {safe(destinations[owner], 82)}" if owner in destinations else "")
            for owner, n in top
        )
        or "Nobody has open violations or evidence gaps."
    )
    run_ref = link(summary.flow_run_url, "flow run", missing="no flow-run link (set PREFECT_UI_URL)")
    blocks = [
        header(f"Compliance run {summary.run_id}"),
        mrkdwn(f"*Posture:* {posture.text()}\n{counts}"),
        mrkdwn(line),
        mrkdwn(f"*Top owners by open items*\n{owners}"),
        context(f"complyflow {safe(summary.flow, 40)} run {code(summary.run_id, 60)} · {run_ref}"),
    ]
    if summary.manifest_sha256:  # a witness of the chain head outside the evidence store
        blocks.append(context(f"sealed · chain head SHA-256 {code(summary.manifest_sha256, 64)}"))
    failing = summary.counts.get("FAIL", 0)
    text = f"complyflow run {safe(summary.run_id, 60)}: {share} compliant, {new} new, {failing} failing"
    data = {
        "posture_percent": posture.percent,
        "counts": dict(summary.counts),
        "new": new,
        "top_owners": top,
        "manifest_sha256": summary.manifest_sha256,
    }
    return blocks, text, data


def summary_message(
    summary: RunSummary,
    findings: list[Finding],
    items: list[Item],
    channel: str,
    run: RunInfo,
    destinations: dict[str, str],
) -> dict[str, Any]:
    blocks, text, data = summary_blocks(summary, findings, items, destinations)
    return {
        "id": f"{summary.run_id}/summary",
        "run_id": summary.run_id,
        "purpose": "summary",
        "owner": "",
        "destination": channel,
        "mention": None,
        "thread_of": None,
        "part": 1,
        "parts": 1,
        "text": text,
        "blocks": blocks,
        "events": [],
        "items": [],
        "summary": data,
        "queued_at": run.now.isoformat(),
    }
