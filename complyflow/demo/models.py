"""The demo estate's models: a healthy and a drifting model, an unlisted endpoint, and their drift evidence.

Matches `configs/models.yaml`, whose governance records (risk assessments, PIAs, approvals, links) are
policy data only: nothing here seeds them. Everything goes through the AWS APIs (SageMaker, S3) of
whatever boto3 points at, the moto server in `complyflow demo`. The datasets are built from evenly spaced quantiles
rather than random draws, so every run (and every numpy version) computes the same PSI and KS values.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any

import boto3
import pandas as pd

BUCKET = "demo-model-monitoring"
REGION = "us-east-1"


def _endpoint(sm: Any, name: str, model: str, owner: str) -> None:
    account = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
    tags = [{"Key": "owner", "Value": owner}]
    sm.create_model(
        ModelName=model,
        ExecutionRoleArn=f"arn:aws:iam::{account}:role/ml-training",
        PrimaryContainer={"Image": f"{account}.dkr.ecr.{REGION}.amazonaws.com/demo-inference:1"},
        Tags=tags,
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": "primary", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=tags)


def _bucket(s3: Any) -> None:
    """SSE-KMS by default and an owner tag, like the other demo buckets.

    No TLS-only policy: moto denies every request under a Deny statement with conditions, so the
    collectors could not read the reports back; the demo therefore also shows an s3-bucket-tls-only finding.
    """
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "owner", "Value": "ml-research"}]})
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )


def _put(s3: Any, key: str, body: bytes | str) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)


def _spread(n: int, transform: Callable[[float], float], offset: float = 0.5) -> list[float]:
    """n values at evenly spaced quantiles of a normal distribution, passed through `transform`."""
    normal = NormalDist()
    return [round(transform(normal.inv_cdf((i + offset) / n)), 2) for i in range(n)]


def _categories(n: int, shares: dict[str, float]) -> list[str]:
    values = [name for name, share in shares.items() for _ in range(round(share * n))]
    return (values * 2)[:n]


def churn_datasets() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current data from the same distribution: no drift."""

    def frame(n: int, step: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "customer_id": [f"c{i:05d}" for i in range(n)],
                "tenure_months": [1 + (i * step) % 72 for i in range(n)],
                "monthly_charges": _spread(n, lambda z: 70 + 20 * z),
                "plan": _categories(n, {"basic": 0.5, "pro": 0.35, "enterprise": 0.15}),
            }
        )

    return frame(360, 7), frame(288, 11)


def fraud_datasets() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transaction amounts almost double between reference and current: drift on `amount` only."""

    def frame(n: int, centre: float, step: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "amount": _spread(n, lambda z: 2.718281828 ** (centre + 0.8 * z)),
                "hour": [(i * step) % 24 for i in range(n)],
                "merchant_category": _categories(n, {"grocery": 0.4, "online": 0.3, "travel": 0.2, "fuel": 0.1}),
            }
        )

    return frame(240, 3.5, 1), frame(192, 4.1, 5)


def _execution(prefix: str, schedule: str, when: datetime) -> str:
    return f"{prefix}/{schedule}/{when:%Y/%m/%d/%H}"


def _statistics(features: list[str], metrics: dict[str, float] | None = None) -> str:
    doc: dict[str, Any] = {
        "version": 0.0,
        "dataset": {"item_count": 288},
        "features": [{"name": f, "inferred_type": "Fractional"} for f in features],
    }
    if metrics:
        doc["binary_classification_metrics"] = {k: {"value": v, "standard_deviation": 0.01} for k, v in metrics.items()}
    return json.dumps(doc)


def _violations(*items: tuple[str, str, str]) -> str:
    return json.dumps(
        {"violations": [{"feature_name": f, "constraint_check_type": c, "description": d} for f, c, d in items]}
    )


def evidently_fraud_report(when: datetime) -> dict[str, Any]:
    """An Evidently (legacy Report.json) data-drift + classification-quality report of the fraud model."""

    def column(name: str, kind: str, test: str, threshold: float, score: float, drifted: bool) -> dict[str, Any]:
        return {
            "column_name": name,
            "column_type": kind,
            "stattest_name": test,
            "stattest_threshold": threshold,
            "drift_score": score,
            "drift_detected": drifted,
        }

    columns = [
        column("amount", "num", "PSI", 0.1, 0.31, True),
        column("hour", "num", "K-S p_value", 0.05, 0.42, False),
        column("merchant_category", "cat", "Jensen-Shannon distance", 0.1, 0.04, False),
    ]
    return {
        "version": "0.4.33",
        "timestamp": when.isoformat(),
        "metrics": [
            {
                "metric": "DatasetDriftMetric",
                "result": {
                    "drift_share": 0.5,
                    "number_of_columns": 3,
                    "number_of_drifted_columns": 1,
                    "dataset_drift": False,
                },
            },
            {
                "metric": "DataDriftTable",
                "result": {
                    "number_of_columns": 3,
                    "number_of_drifted_columns": 1,
                    "share_of_drifted_columns": 1 / 3,
                    "dataset_drift": False,
                    "drift_by_columns": {c["column_name"]: c for c in columns},
                },
            },
            {
                "metric": "ClassificationQualityMetric",
                "result": {"current": {"accuracy": 0.81, "precision": 0.7, "recall": 0.56, "f1": 0.62}},
            },
        ],
    }


def seed_models(now: datetime) -> None:
    """Create the demo models' endpoints and drift evidence, relative to `now`."""
    sm = boto3.client("sagemaker", region_name=REGION)
    _endpoint(sm, "demo-churn-endpoint", "demo-churn-model", "ml-research")
    _endpoint(sm, "demo-fraud-endpoint", "demo-fraud-model", "data-eng")
    _endpoint(sm, "demo-shadow-endpoint", "demo-shadow-model", "ml-research")  # not in the inventory

    s3 = boto3.client("s3", region_name=REGION)
    _bucket(s3)
    churn = "model-monitor/demo-churn-endpoint"
    features = ["tenure_months", "monthly_charges", "plan"]
    old = _execution(churn, "churn-data-quality", now - timedelta(days=9))
    _put(s3, f"{old}/statistics.json", _statistics(features))
    _put(
        s3,
        f"{old}/constraint_violations.json",
        _violations(("plan", "categorical_values_check", "Baseline has 3 values, current has 4")),
    )  # superseded below
    latest = _execution(churn, "churn-data-quality", now - timedelta(days=2))
    _put(s3, f"{latest}/statistics.json", _statistics(features))
    _put(s3, f"{latest}/constraint_violations.json", _violations())
    quality = _execution(churn, "churn-model-quality", now - timedelta(days=1))
    _put(s3, f"{quality}/statistics.json", _statistics([], {"auc": 0.91, "accuracy": 0.88}))
    _put(s3, f"{quality}/constraint_violations.json", _violations())

    stale = _execution("model-monitor/demo-fraud-endpoint", "fraud-data-quality", now - timedelta(days=20))
    _put(s3, f"{stale}/statistics.json", _statistics(["amount", "hour", "merchant_category"]))
    _put(
        s3,
        f"{stale}/constraint_violations.json",
        _violations(("amount", "baseline_drift_check", "Baseline drift distance: 0.36 exceeds threshold: 0.1")),
    )
    reported = now - timedelta(days=1)
    _put(s3, f"evidently/fraud-detector/report-{reported:%Y-%m-%d}.json", json.dumps(evidently_fraud_report(reported)))

    for model, (reference, current), fmt in (
        ("churn", churn_datasets(), "parquet"),
        ("fraud", fraud_datasets(), "csv"),
    ):
        for name, frame in (("reference", reference), ("current", current)):
            buffer = io.BytesIO()
            if fmt == "parquet":
                frame.to_parquet(buffer, index=False)
            else:
                buffer.write(frame.to_csv(index=False).encode())
            _put(s3, f"datasets/{model}/{name}.{fmt}", buffer.getvalue())
