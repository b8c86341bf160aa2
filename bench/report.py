"""Plain-text tables for the bench's results (stdout and bench/README.md share the numbers, not the code)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def table(headers: list[str], rows: Iterable[Iterable[object]]) -> str:
    """A fixed-width text table, numbers right-aligned."""
    body = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), "  ".join("-" * w for w in widths)]
    for row in body:
        lines.append("  ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace("-", "", 1).replace("x", "").replace("%", "").isdigit()


def by_operation(calls: dict[tuple[str, str, str], int]) -> Counter[str]:
    """(service, region, operation) -> 'service:Operation' totals over regions."""
    totals: Counter[str] = Counter()
    for (service, _region, operation), n in calls.items():
        totals[f"{service}:{operation}"] += n
    return totals


def calls_table(actual: Counter[str], minimum: Counter[str], minimum_tagging: Counter[str]) -> str:
    names = sorted(set(actual) | set(minimum) | set(minimum_tagging))
    rows = [(n, actual.get(n, 0), minimum.get(n, 0), minimum_tagging.get(n, 0)) for n in names]
    rows.append(("TOTAL", sum(actual.values()), sum(minimum.values()), sum(minimum_tagging.values())))
    return table(["service:operation", "actual", "minimum", "min (tagging API)"], rows)


def service_table(calls: Counter[str]) -> str:
    services: Counter[str] = Counter()
    for name, n in calls.items():
        services[name.split(":", 1)[0]] += n
    return table(["service", "calls"], sorted(services.items()))
