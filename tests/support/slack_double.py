"""A Slack Web API double on 127.0.0.1, for driving the real `slack_sdk.WebClient` (`base_url`) in tests.

It implements what complyflow uses — chat.postMessage (with Slack's block limits and threads),
users.lookupByEmail, an incoming webhook, and what looking a message up needs: conversations.history
and conversations.replies (`oldest`, cursor pagination, `include_all_metadata`), conversations.list
and conversations.open (channel ids for names and users) — records every call, and can misbehave on
demand: answer 429 with Retry-After, answer 5xx, drop connections (an outage, optionally after N
accepted posts), accept a post but answer only seconds later (the client has timed out meanwhile),
drop the connection after accepting a post, run a hook between accepting a post and answering (to kill
the poster), or stop listening altogether.

Message timestamps are wall-clock times, as Slack's are, so that `oldest` means what it means there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

WEBHOOK_PATH = "/services/T0DOUBLE/B0DOUBLE/double-webhook-secret"
SECTION_LIMIT, HEADER_LIMIT, MAX_BLOCKS, CONTEXT_LIMIT = 3000, 150, 50, 10
BLOCKS_TEXT_LIMIT = 13_000  # where Slack starts answering msg_blocks_too_long
TEXT_LIMIT = 40_000


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    authorized: bool


@dataclass
class Failure:
    status: int
    error: str = ""
    retry_after: int | None = None
    methods: tuple[str, ...] = ()  # empty: any method


def _texts(block: dict[str, Any]) -> list[str]:
    out = []
    if isinstance(block.get("text"), dict):
        out.append(str(block["text"].get("text", "")))
    for element in block.get("elements") or []:
        if isinstance(element, dict) and "text" in element:
            out.append(str(element["text"]))
    for element in block.get("fields") or []:
        out.append(str(element.get("text", "")))
    return out


def block_problem(blocks: list[dict[str, Any]]) -> str | None:
    """The error Slack would answer for these blocks, or None when it would accept them."""
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        kind = block.get("type")
        if kind == "header" and (block["text"]["type"] != "plain_text" or len(block["text"]["text"]) > HEADER_LIMIT):
            return "invalid_blocks"
        if kind == "section" and len(block.get("text", {}).get("text", "")) > SECTION_LIMIT:
            return "invalid_blocks"
        if kind == "context" and not 0 < len(block.get("elements", [])) <= CONTEXT_LIMIT:
            return "invalid_blocks"
        if kind not in ("header", "section", "context", "divider"):
            return "invalid_blocks"
    if sum(len(t) for b in blocks for t in _texts(b)) > BLOCKS_TEXT_LIMIT:
        return "msg_blocks_too_long"
    return None


@dataclass
class SlackDouble:
    token: str = "xoxb-double-0000-secret"  # noqa: S105 - a test token
    users: dict[str, str] = field(default_factory=dict)  # e-mail → user id
    missing_channels: set[str] = field(default_factory=set)  # answered with channel_not_found
    calls: list[Call] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)  # accepted messages (bot and webhook)
    failures: list[Failure] = field(default_factory=list)
    down: bool = False
    down_after_posts: int | None = None
    late: dict[str, float] = field(default_factory=dict)  # method → seconds to wait after accepting, then answer
    unanswered: int = 0  # this many more accepted posts get no answer: the connection drops after the send
    on_accept: Callable[[dict[str, Any]], None] | None = None  # runs once a post is recorded, before the answer
    max_page: int = 999  # most messages per conversations.history/replies page (Slack: 999)
    channels: dict[str, str] = field(default_factory=dict)  # channel name (no #) → id, as conversations.list
    _last_ts: float = 0.0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SlackDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return

            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                double._handle(self)

            do_GET = do_POST  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: clients now get connection refused."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self._port}{WEBHOOK_PATH}"

    # --- misbehaviour --------------------------------------------------------------------------

    def fail_next(
        self, count: int, status: int, *, error: str = "", retry_after: int | None = None, methods: tuple[str, ...] = ()
    ) -> None:
        self.failures += [Failure(status, error, retry_after, methods) for _ in range(count)]

    def outage(self, after_posts: int = 0) -> None:
        """Drop every connection (no response at all) once `after_posts` more messages were accepted."""
        self.down_after_posts = len(self.posts) + after_posts

    def answer_late(self, seconds: float, methods: tuple[str, ...] = ("chat.postMessage",)) -> None:
        """Accept (record) every post as usual, but answer only after `seconds`: beyond a client's timeout,
        the post is in Slack while its sender does not know it."""
        self.late.update(dict.fromkeys(methods, seconds))

    def chatter(self, channel_id: str, count: int) -> None:
        """`count` messages from other people in a channel (no metadata): a busy channel to page through."""
        with self._lock:
            for n in range(count):
                self._last_ts = max(time.time(), self._last_ts + 0.000001)
                self.posts.append({"channel_id": channel_id, "ts": f"{self._last_ts:.6f}", "text": f"chatter {n}"})

    def drop_answers(self, posts: int) -> None:
        """Accept (record) the next `posts` posts but drop the connection instead of answering them."""
        self.unanswered = posts

    def restore(self) -> None:
        self.down_after_posts = None
        self.failures.clear()
        self.late.clear()
        self.unanswered = 0
        self.on_accept = None

    # --- queries for assertions ----------------------------------------------------------------

    def message_ids(self) -> list[str]:
        return [p["metadata"]["event_payload"]["message_id"] for p in self.posts if p.get("metadata")]

    def method_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def post_counts(self) -> dict[str, int]:
        """How many accepted posts carry each message id (exactly once: every value is 1)."""
        counts: dict[str, int] = {}
        for message_id in self.message_ids():
            counts[message_id] = counts.get(message_id, 0) + 1
        return counts

    # --- the API -------------------------------------------------------------------------------

    @staticmethod
    def _params(handler: BaseHTTPRequestHandler) -> dict[str, Any]:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode("utf-8") if length else ""
        params: dict[str, Any] = dict(parse_qsl(urlsplit(handler.path).query))
        if raw:
            if "json" in (handler.headers.get("Content-Type") or ""):
                params.update(json.loads(raw))
            else:
                params.update(dict(parse_qsl(raw)))
        for key in ("blocks", "metadata"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    def _reply(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        try:
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:  # the client gave up waiting (timeout) or died: Slack's answer goes nowhere either
            handler.close_connection = True

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        webhook = path == WEBHOOK_PATH
        method = "webhook" if webhook else path.removeprefix("/api/")
        params = self._params(handler)
        authorized = webhook or handler.headers.get("Authorization") == f"Bearer {self.token}"
        if str(params.get("channel", "")).startswith("#"):
            self._channel_id(str(params["channel"]))  # any channel name used exists (conversations.list)
        with self._lock:
            self.calls.append(Call(method, params, authorized))
            if self.down or (self.down_after_posts is not None and len(self.posts) >= self.down_after_posts):
                handler.close_connection = True  # no response at all: the client sees the connection drop
                return
            failure = next((f for f in self.failures if not f.methods or method in f.methods), None)
            if failure:
                self.failures.remove(failure)
        if failure:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            body: Any = failure.error if webhook else {"ok": False, "error": failure.error or f"http_{failure.status}"}
            self._reply(handler, failure.status, body, headers, "text/plain" if webhook else "application/json")
            return
        if webhook:
            self._webhook(handler, params)
        elif not path.startswith("/api/"):
            self._reply(handler, 404, {"ok": False, "error": "unknown_method"})
        elif not authorized:
            self._reply(handler, 200, {"ok": False, "error": "invalid_auth"})
        elif method == "chat.postMessage":
            self._post_message(handler, params)
        elif method in ("conversations.history", "conversations.replies"):
            self._reply(handler, 200, self._history(params, replies=method == "conversations.replies"))
        elif method == "conversations.list":
            with self._lock:
                listed = [{"id": cid, "name": name, "is_channel": True} for name, cid in sorted(self.channels.items())]
            self._reply(handler, 200, self._page(listed, params, "channels"))
        elif method == "conversations.open":
            user = str(params.get("users", ""))
            body = {"ok": True, "channel": {"id": "D" + user[1:]}} if user[:1] in ("U", "W") and "," not in user else {}
            self._reply(handler, 200, body or {"ok": False, "error": "user_not_found"})
        elif method == "users.lookupByEmail":
            user = self.users.get(str(params.get("email", "")).lower())
            body = {"ok": True, "user": {"id": user}} if user else {"ok": False, "error": "users_not_found"}
            self._reply(handler, 200, body)
        else:
            self._reply(handler, 200, {"ok": False, "error": "unknown_method"})

    def _channel_id(self, channel: str) -> str | None:
        if channel in self.missing_channels:
            return None
        if channel.startswith("#"):
            channel_id = "C" + hashlib.sha256(channel.encode()).hexdigest()[:9].upper()
            self.channels.setdefault(channel[1:], channel_id)
            return channel_id
        if channel[:1] in "UW":
            return "D" + channel[1:]
        return channel if channel[:1] in "CGD" else None

    def _post_message(self, handler: BaseHTTPRequestHandler, params: dict[str, Any]) -> None:
        channel_id = self._channel_id(str(params.get("channel", "")))
        if channel_id is None:
            self._reply(handler, 200, {"ok": False, "error": "channel_not_found"})
            return
        problem = block_problem(params.get("blocks") or [])
        if problem is None and len(str(params.get("text", ""))) > TEXT_LIMIT:
            problem = "msg_too_long"
        thread_ts = params.get("thread_ts")
        with self._lock:
            if thread_ts and not any(p["ts"] == thread_ts and p["channel_id"] == channel_id for p in self.posts):
                problem = problem or "thread_not_found"
            if problem:
                self._reply(handler, 200, {"ok": False, "error": problem})
                return
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            ts = f"{self._last_ts:.6f}"
            post = {**params, "channel_id": channel_id, "ts": ts, "via": "bot"}
            self.posts.append(post)
        self._answer_accepted(handler, "chat.postMessage", post, {"ok": True, "channel": channel_id, "ts": ts})

    def _answer_accepted(self, handler: BaseHTTPRequestHandler, method: str, post: dict[str, Any], body: Any) -> None:
        """The answer to an accepted post: after the accept hook and any delay asked for."""
        if self.on_accept is not None:
            self.on_accept(post)
        if method in self.late:
            time.sleep(self.late[method])
        with self._lock:
            unanswered, self.unanswered = self.unanswered > 0, max(0, self.unanswered - 1)
        if unanswered:
            handler.close_connection = True
            return
        self._reply(handler, 200, {**body, "message": {"ts": post["ts"]}})

    # --- reading messages back -----------------------------------------------------------------

    def _page(self, items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
        """One page of `items` as Slack pages them: `limit`, an opaque `cursor`, `response_metadata.next_cursor`."""
        cursor = str(params.get("cursor") or "")
        start = int(base64.b64decode(cursor).decode().removeprefix("next:")) if cursor else 0
        limit = min(int(params.get("limit") or 100), self.max_page)
        page, more = items[start : start + limit], start + limit < len(items)
        next_cursor = base64.b64encode(f"next:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, key: page, "has_more": more, "response_metadata": {"next_cursor": next_cursor}}

    def _history(self, params: dict[str, Any], *, replies: bool) -> dict[str, Any]:
        """conversations.history (top-level messages, newest first) or .replies (one thread, oldest first)."""
        channel = str(params.get("channel", ""))
        if channel[:1] not in ("C", "G", "D"):  # Slack wants an id here, not #name or a user id
            return {"ok": False, "error": "channel_not_found"}
        oldest, inclusive = float(params.get("oldest") or 0), str(params.get("inclusive", "")) in ("1", "true", "True")
        metadata = str(params.get("include_all_metadata", "")) in ("1", "true", "True")
        with self._lock:
            here = [p for p in self.posts if p["channel_id"] == channel]
        if replies:
            root = str(params.get("ts", ""))
            if not any(p["ts"] == root for p in here):
                return {"ok": False, "error": "thread_not_found"}
            chosen = [p for p in here if root in (p["ts"], p.get("thread_ts"))]
        else:
            chosen = [p for p in here if p.get("thread_ts") in (None, p["ts"])][::-1]
        chosen = [p for p in chosen if float(p["ts"]) > oldest or (inclusive and float(p["ts"]) == oldest)]
        messages = [
            {
                "type": "message",
                "ts": p["ts"],
                "text": p.get("text", ""),
                **({"thread_ts": p["thread_ts"]} if p.get("thread_ts") else {}),
                **({"metadata": p["metadata"]} if metadata and p.get("metadata") else {}),
            }
            for p in chosen
        ]
        return self._page(messages, params, "messages")

    def _webhook(self, handler: BaseHTTPRequestHandler, params: dict[str, Any]) -> None:
        problem = block_problem(params.get("blocks") or [])
        if problem:
            self._reply(handler, 400, problem, content_type="text/plain")
            return
        with self._lock:
            self.posts.append({**params, "channel_id": "webhook", "ts": "", "via": "webhook"})
        self._reply(handler, 200, "ok", content_type="text/plain")


@contextmanager
def slack_double(**kwargs: Any) -> Iterator[SlackDouble]:
    double = SlackDouble(**kwargs).start()
    try:
        yield double
    finally:
        double.stop()
