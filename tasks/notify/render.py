"""Plain-text rendering of a digest, with every untrusted string escaped for Slack mrkdwn.

LEGACY: kept only until flows/pipeline.py calls `tasks.notify.service.notify_run`; delete this module then.
"""

from __future__ import annotations

from tasks.notify.digest import Digest


def escape(text: str) -> str:
    """Escape Slack's control characters so resource text can neither ping nor link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def digest_text(digest: Digest) -> str:
    lines = [f"complyflow run {digest.run_id}: {digest.count} item(s) for {escape(digest.owner)}"]
    for control, items in sorted(digest.items.items()):
        lines.append(f"* {control} ({len(items)})")
        for f in items:
            lines.append(f"  - [{f.status}] {escape(f.resource_name)} ({escape(f.region)}): "
                         f"{escape(f.observed)}; expected {escape(f.expected)}")
    return "\n".join(lines)
