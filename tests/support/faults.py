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
