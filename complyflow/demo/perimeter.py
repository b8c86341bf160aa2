"""Demo perimeter resources (API Gateway, S3 Block Public Access, log-group KMS, data lifecycle rules)."""

from __future__ import annotations

from datetime import datetime


def seed_perimeter(now: datetime, keys: dict[str, str]) -> None:
    """Create the perimeter part of the demo estate; `keys` are the demo KMS key ARNs by name."""
