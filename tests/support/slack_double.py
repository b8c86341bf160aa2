"""A Slack Web API double on 127.0.0.1, for driving the real `slack_sdk.WebClient` (`base_url`) in tests.

It implements what complyflow uses — chat.postMessage (with Slack's block limits and threads),
users.lookupByEmail and an incoming webhook — records every call, and can misbehave on demand:
answer 429 with Retry-After, answer 5xx, drop connections (an outage, optionally after N accepted
posts), or stop listening altogether.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
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

    def restore(self) -> None:
        self.down_after_posts = None
        self.failures.clear()

    # --- queries for assertions ----------------------------------------------------------------

    def message_ids(self) -> list[str]:
        return [p["metadata"]["event_payload"]["message_id"] for p in self.posts if p.get("metadata")]

    def method_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

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
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        webhook = path == WEBHOOK_PATH
        method = "webhook" if webhook else path.removeprefix("/api/")
        params = self._params(handler)
        authorized = webhook or handler.headers.get("Authorization") == f"Bearer {self.token}"
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
            return "C" + hashlib.sha256(channel.encode()).hexdigest()[:9].upper()
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
            ts = f"{1_700_000_000 + len(self.posts)}.{len(self.posts):06d}"
            self.posts.append({**params, "channel_id": channel_id, "ts": ts, "via": "bot"})
        self._reply(handler, 200, {"ok": True, "channel": channel_id, "ts": ts, "message": {"ts": ts}})

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
