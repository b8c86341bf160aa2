"""Demo recurring evidence (committee minutes, drills, training exports) for the recurring evidence tasks.

The S3 prefixes of configs/recurring.yaml are filled here with documents whose names carry dates relative
to `now`, so the demo tells the same story every day: the governance committee, the internal audit and
the training export are current, the awareness activity falls due within its reminder window, the IR
drill is overdue, and the training export shows 18 of 20 people completed (under the 95 % floor). The
registers (compliance reviews, post-incident reviews, policy revisions) are files in configs/recurring/
with relative dates.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import boto3

BUCKET = "demo-grc-evidence"
REGION = "us-east-1"
#: (key under the bucket with {date} for the document's date, days before `now`, body)
DOCUMENTS: tuple[tuple[str, int, str], ...] = (
    ("governance-committee/{date}-ai-governance-committee-minutes.md", 130, "Minutes: model risk tiers agreed."),
    ("governance-committee/{date}-ai-governance-committee-minutes.md", 40, "Minutes: EU AI Act readiness reviewed."),
    ("ir-drills/{date}-ai-incident-tabletop-report.md", 220, "Tabletop: poisoned training data scenario."),
    ("awareness/{date}-prompt-injection-briefing.md", 85, "Briefing: prompt injection, 120 attendees."),
    ("internal-audit/{date}-ai-security-policy-internal-audit.md", 300, "Internal audit report: 3 findings, 2 closed."),
    ("internal-audit/scope-and-method.md", 300, "Undated working notes: not evidence by themselves."),
)
TRAINING_EXPORT = "hr-exports/ai-security-training/ai-security-training-{date}.csv"
TRAINING_EXPORT_AGE_DAYS = 10


def _training_export() -> str:
    """20 people, 18 completed: a 90 % completion rate."""
    rows = ["employee_id,department,status,completed_on"]
    for number in range(1, 21):
        status = "completed" if number <= 18 else "not started"
        rows.append(f"E{number:04d},{'ml-platform' if number % 2 else 'data-eng'},{status},")
    return "\n".join(rows) + "\n"


def seed_recurring_evidence(now: datetime) -> None:
    """Create the demo's recurring evidence where the demo configs expect it.

    The bucket is encrypted, private and owned, but has no TLS-only policy: moto denies every request under a
    Deny with conditions, so the collector could not read the documents back (as for demo-model-monitoring).
    """
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "owner", "Value": "security-team"}]})
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    for key, days, body in DOCUMENTS:
        day = (now - timedelta(days=days)).date().isoformat()
        s3.put_object(Bucket=BUCKET, Key=key.format(date=day), Body=f"# {key.split('/')[0]}\n\n{body}\n".encode())
    day = (now - timedelta(days=TRAINING_EXPORT_AGE_DAYS)).date().isoformat()
    s3.put_object(Bucket=BUCKET, Key=TRAINING_EXPORT.format(date=day), Body=_training_export().encode())
