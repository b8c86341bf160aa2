"""Is this message already in Slack? Read the channel (or thread) back and look for its metadata id.

Every post carries its outbox id in Slack message metadata. When an attempt's outcome is unknown (a
timeout, a connection dropped after the send, a crash before the acknowledgement was written), the
message may be in Slack although nothing says so; posting it again is how it would appear twice.
So the channel's history (a thread's replies, for a reply) since the first such attempt is read with
`include_all_metadata`, page by page, and the message counts as sent if one carries its id.

History and replies take channel ids; messages are addressed by name (`#compliance`) or user id, so
those are resolved here too (conversations.list, conversations.open). The bot needs the scopes for
that (LOOKUP_SCOPES); without them a message whose first attempt went unanswered stays pending, with
an error saying so, rather than risk a duplicate.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk import WebClient

METADATA_EVENT = "complyflow_notification"
LOOKUP_SCOPES = "channels:history, groups:history, im:history, channels:read, groups:read and im:write"
CLOCK_MARGIN_SECONDS = 300.0  # read from this long before the first attempt: clocks differ, Slack's ts is Slack's
PAGE_SIZE = 200
MAX_PAGES = 100  # 20,000 messages since the first attempt: beyond that, give up rather than read forever
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


class LookupIncomplete(RuntimeError):
    """The history since the first attempt is longer than this module is willing to read."""


def metadata(message_id: str, run_id: str) -> dict[str, Any]:
    """What every post carries, so that it can be found again."""
    return {"event_type": METADATA_EVENT, "event_payload": {"message_id": message_id, "run_id": run_id}}


def carries(message: dict[str, Any], message_id: str) -> bool:
    data = message.get("metadata") or {}
    payload = data.get("event_payload") or {}
    return data.get("event_type") == METADATA_EVENT and payload.get("message_id") == message_id


class ChannelIds:
    """Channel ids for the names and user ids messages are addressed to, asked once per transport."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self.known: dict[str, str] = {}

    def remember(self, channel: str, channel_id: str) -> None:
        if channel and channel_id:
            self.known[channel] = channel_id

    def resolve(self, channel: str) -> str | None:
        """The id, or None when Slack shows no such channel to the bot (so nothing of ours can be in it)."""
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        if channel not in self.known:
            found = self._user_dm(channel) if channel[:1] in ("U", "W") else self._by_name(channel.lstrip("#"))
            if found is None:
                return None
            self.known[channel] = found
        return self.known[channel]

    def _user_dm(self, user: str) -> str | None:
        """Posting to a user id lands in the bot's direct message with them; this opens (finds) it."""
        channel = self.client.conversations_open(users=user).get("channel") or {}
        return str(channel.get("id") or "") or None

    def _by_name(self, name: str) -> str | None:
        cursor = None
        for _ in range(MAX_PAGES):
            page = self.client.conversations_list(
                types="public_channel,private_channel", exclude_archived=False, limit=1000, cursor=cursor
            )
            for channel in page.get("channels") or []:
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        raise LookupIncomplete(f"more than {MAX_PAGES} pages of channels")


def find_posted(
    client: WebClient, channel_id: str, message_id: str, *, thread_ts: str | None, oldest: float
) -> str | None:
    """The ts of the message carrying `message_id` in the channel (or thread) since `oldest`, or None."""
    cursor = None
    for _ in range(MAX_PAGES):
        common: dict[str, Any] = {
            "channel": channel_id,
            "oldest": f"{max(oldest - CLOCK_MARGIN_SECONDS, 0):.6f}",
            "include_all_metadata": True,
            "limit": PAGE_SIZE,
            "cursor": cursor,
        }
        page = (
            client.conversations_replies(ts=thread_ts, **common)
            if thread_ts
            else client.conversations_history(**common)
        )
        for message in page.get("messages") or []:
            if carries(message, message_id):
                return str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    raise LookupIncomplete(f"more than {MAX_PAGES * PAGE_SIZE} messages since the first attempt")
