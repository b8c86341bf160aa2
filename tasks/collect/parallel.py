"""Per-resource calls in a small thread pool, results in input order.

AWS answers each call in tens of milliseconds, so a collector that asks 400 buckets one at a time is
the run's critical path. The pool is bounded (boto3 clients are thread-safe; the pool size stays under
the client's max_pool_connections) so adaptive retries still see and slow down on throttling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
WORKERS = 8


def map_bounded(fn: Callable[[T], R], items: Iterable[T], workers: int = WORKERS) -> list[R]:
    """`[fn(i) for i in items]`, at most `workers` at a time."""
    items = list(items)
    if len(items) < 2:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="collect") as pool:
        return list(pool.map(fn, items))
