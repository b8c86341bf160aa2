"""Demo recurring evidence (committee minutes, drills, training exports) for the recurring evidence tasks."""

from __future__ import annotations

from datetime import datetime


def seed_recurring_evidence(now: datetime) -> None:
    """Create the demo's recurring evidence where the demo configs expect it."""
