"""Fault injection for AWS calls: make chosen operations fail as a denied call would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError


@contextmanager
def denied(operation: str, region: str | None = None, when: Callable[[dict], bool] = lambda _: True) -> Iterator[None]:
    """Make every `operation` call (in `region`, matching `when`) fail with AccessDenied."""
    original = BaseClient._make_api_call

    def guarded(self: BaseClient, name: str, params: dict) -> Any:
        if name == operation and region in (None, self.meta.region_name) and when(params):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": f"not authorized to {name}"}}, name)
        return original(self, name, params)

    BaseClient._make_api_call = guarded  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


@contextmanager
def throttled(service_id: str, operation: str, times: int) -> Iterator[list[str]]:
    """Answer the first `times` requests of a JSON-protocol operation with AWS's ThrottlingException.

    The answer is given at the HTTP layer (a `before-send` handler of every session created inside the
    block, ahead of moto's), so botocore's own retry logic sees it and retries as against AWS. Yields
    one entry per request sent for that operation, throttled or answered, to count the attempts.
    """
    import botocore.handlers
    from botocore.awsrequest import AWSResponse

    seen: list[str] = []

    def maybe_throttle(request: Any, **_: Any) -> Any:
        seen.append(operation)
        if len(seen) <= times:
            body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
            return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, _Body(body))
        return None  # the real (emulated) service answers

    entry = (f"before-send.{service_id}.{operation}", maybe_throttle)
    botocore.handlers.BUILTIN_HANDLERS.insert(0, entry)
    try:
        yield seen
    finally:
        botocore.handlers.BUILTIN_HANDLERS.remove(entry)
