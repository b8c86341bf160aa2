"""Demo AI-platform resources (Bedrock, SageMaker training jobs and endpoints): compliant and violating examples."""

from __future__ import annotations

from datetime import datetime


def seed_ai_platform(now: datetime, keys: dict[str, str]) -> None:
    """Create the AI-platform part of the demo estate; `keys` are the demo KMS key ARNs by name."""
