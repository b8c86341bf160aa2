"""A moto server on 127.0.0.1 that counts every AWS API call it answers, by phase, service and operation.

The run under test is a subprocess, so counting has to happen where the calls land: a WSGI wrapper
around moto's own dispatcher. The service and region come from the SigV4 credential scope, the
operation from the protocol (X-Amz-Target for JSON, Action for query, method and sub-resource for S3).
"""

from __future__ import annotations

import io
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import BaseWSGIServer, make_server

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_S3_SUBRESOURCES = {
    "location": "BucketLocation",
    "encryption": "BucketEncryption",
    "policy": "BucketPolicy",
    "tagging": "BucketTagging",
    "acl": "BucketAcl",
    "versioning": "BucketVersioning",
    "logging": "BucketLogging",
    "publicAccessBlock": "PublicAccessBlock",
    "ownershipControls": "BucketOwnershipControls",
    "lifecycle": "BucketLifecycleConfiguration",
    "replication": "BucketReplication",
    "object-lock": "ObjectLockConfiguration",
    "website": "BucketWebsite",
    "cors": "BucketCors",
    "notification": "BucketNotificationConfiguration",
    "policyStatus": "BucketPolicyStatus",
    "accelerate": "BucketAccelerateConfiguration",
    "requestPayment": "BucketRequestPayment",
}
_VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "POST": "Post", "HEAD": "Head"}

CallKey = tuple[str, str, str, str]  # (phase, service, region, operation)


@dataclass(frozen=True, slots=True)
class Call:
    service: str
    region: str
    operation: str


def _s3_operation(method: str, path: str, query: dict[str, list[str]]) -> str:
    parts = [p for p in path.split("/") if p]
    if parts and parts[0].startswith("v20180820"):
        return f"S3Control:{method} /{'/'.join(parts[1:3])}"
    if not parts:
        return "ListBuckets" if method == "GET" else f"{method} /"
    for key, name in _S3_SUBRESOURCES.items():
        if key in query:
            return _VERBS.get(method, method) + name
    if len(parts) == 1:
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(
            method, "ListObjectsV2" if "list-type" in query else "ListObjects"
        )
    return {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(
        method, f"{method}Object"
    )


def classify(environ: dict[str, Any]) -> tuple[Call, bytes | None]:
    """The call a WSGI request makes; returns the body when it had to be read (to be put back)."""
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    region, service = scope.groups() if scope else ("?", "?")
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return Call(service, region, target.rsplit(".", 1)[-1]), None
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "Action" in query:
        return Call(service, region, query["Action"][0]), None
    body = None
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return Call(service, region, action[0]), body
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    if service == "s3":
        return Call(service, region, _s3_operation(method, path, query)), body
    return Call(service, region, f"{method} /{path.strip('/').split('/')[0]}"), body


class CallCounter:
    """Thread-safe call counts; `phase` labels whatever runs now (seed, complyflow, prowler).

    `latency` (seconds) is added to every call outside the seed phase: moto answers in a few
    milliseconds of CPU, AWS in tens of milliseconds of waiting, and only waiting shows whether a
    tool overlaps its calls. The sleep releases the GIL, so concurrent calls wait concurrently.
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.phase = "idle"
        self.latency = latency
        self._lock = threading.Lock()
        self._counts: Counter[CallKey] = Counter()
        self._errors: Counter[CallKey] = Counter()

    def record(self, call: Call, status: int) -> None:
        key = (self.phase, call.service, call.region, call.operation)
        with self._lock:
            self._counts[key] += 1
            if status >= 400:
                self._errors[key] += 1

    def calls(self, phase: str) -> dict[tuple[str, str, str], int]:
        """(service, region, operation) -> calls in one phase."""
        with self._lock:
            return {k[1:]: v for k, v in self._counts.items() if k[0] == phase}

    def errors(self, phase: str) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return {k[1:]: v for k, v in self._errors.items() if k[0] == phase}


def counting(app: Callable[..., Iterable[bytes]], counter: CallCounter) -> Callable[..., Iterable[bytes]]:
    """WSGI middleware: classify, pass through, count with the response status."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        call, body = classify(environ)
        if counter.latency and counter.phase != "seed":
            time.sleep(counter.latency)
        if body is not None:
            environ["wsgi.input"] = io.BytesIO(body)
        status: list[int] = [0]

        def recording_start(code: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            status[0] = int(code.split(" ", 1)[0])
            return start_response(code, headers, *args)

        result = app(environ, recording_start)
        counter.record(call, status[0])
        return result

    return wrapped


class CountingMotoServer:
    """moto's ThreadedMotoServer, with the counting middleware in front of its dispatcher."""

    def __init__(self, port: int, counter: CallCounter) -> None:
        self.port = port
        self.counter = counter
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        # No access-log line per call, and no traceback for the operations moto has not implemented
        # (they still answer 500 and are counted as errors).
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        app = counting(DomainDispatcherApplication(create_backend_app), self.counter)
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._ready.set()
        self._server.serve_forever()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="moto-server", daemon=True)
        self._thread.start()
        self._ready.wait()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
        if self._thread:
            self._thread.join()
