"""Deliver digests: to Slack when a bot token is configured, else to the outbox file and the console.

LEGACY: kept only until flows/pipeline.py calls `tasks.notify.service.notify_run`; delete this module then.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from complyflow.config import NotifySettings, Owners
from tasks.notify import outbox
from tasks.notify.digest import Digest
from tasks.notify.render import digest_text


@dataclass
class Delivery:
    sent: int
    queued: int
    outbox_file: str
    channel: str  # "slack" or "outbox"


def deliver(digests: list[Digest], settings: NotifySettings, owners: Owners, root: Path) -> Delivery:
    path = root / settings.outbox_file
    token = os.environ.get("SLACK_BOT_TOKEN")
    sent = 0
    for digest in digests:
        record = {"kind": "digest", "run_id": digest.run_id, "owner": digest.owner,
                  "route": owners.routes.get(digest.owner, digest.owner), "text": digest_text(digest),
                  "digest": digest.to_dict()}
        if token:
            from slack_sdk import WebClient

            client = WebClient(token=token, base_url=os.environ.get("SLACK_API_URL", settings.slack_api_url))
            client.chat_postMessage(channel=record["route"], text=record["text"])
            outbox.append(path, {**record, "state": "sent"})
            sent += 1
        else:
            outbox.append(path, {**record, "state": "outbox"})
            print(record["text"])
    return Delivery(sent=sent, queued=len(digests) - sent, outbox_file=str(path),
                    channel="slack" if token else "outbox")
