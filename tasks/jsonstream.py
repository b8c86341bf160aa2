"""JSON arrays written element by element, so a report of 50,000 findings never sits whole in memory."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO


def dumps_compact(item: Any) -> str:
    """One line of ASCII JSON: untrusted text (a lone surrogate in a tag) can never break the file's encoding."""
    return json.dumps(item, ensure_ascii=True, sort_keys=True, default=str, separators=(",", ":"))


def write_array(handle: TextIO, items: Iterable[Any]) -> int:
    """Write `items` as a JSON array, one compact element per line (diff- and grep-friendly); returns the count."""
    count = 0
    handle.write("[")
    for item in items:
        handle.write(",\n" if count else "\n")
        handle.write(dumps_compact(item))
        count += 1
    handle.write("\n]" if count else "]")
    return count
