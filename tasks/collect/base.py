"""What every collector shares: its declaration, its context, and how rows and gaps are recorded.

A collector turns AWS API answers into evidence rows. It knows nothing about controls: it records
facts (a flag, an age in days, a key id) and, where an API call fails, an evidence gap.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from complyflow.core.model import CollectorResult, EvidenceDocument, EvidenceGap
from complyflow.core.tables import AwsCall, TableSpec
from tasks.aws import AccountSession, error_code, error_message


@dataclass
class CollectContext:
    """One (account, region, service) unit of collection."""

    account: AccountSession
    region: str
    service: str
    tables: tuple[str, ...]
    as_of: datetime
    config_dir: Path | None = None  # for evidence sources kept as policy data (registers, inventories)
    #: every region of the run's scope, so a global collector can place resources by region in a few calls
    scope_regions: tuple[str, ...] = ()
    #: the collector's declared calls: a gap on one of them names the columns it leaves unknown
    calls: tuple[AwsCall, ...] = ()
    #: the declared tables, so that an empty table still has its columns
    specs: tuple[TableSpec, ...] = ()
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    gaps: list[EvidenceGap] = field(default_factory=list)
    #: documents to copy into the sealed run (recurring evidence): organisation-scope collectors only
    documents: list[EvidenceDocument] = field(default_factory=list)

    @property
    def account_id(self) -> str:
        return self.account.account_id

    @property
    def partition(self) -> str:
        """aws, aws-cn or aws-us-gov: for ARNs built from names (S3 buckets, tables that could not be read)."""
        return self.account.session.get_partition_for_region(self.region) or "aws"

    def client(self, service: str | None = None, region: str | None = None) -> Any:
        return self.account.client(service or self.service, region or self.region)

    def add(
        self,
        table: str,
        *,
        resource_arn: str,
        resource_type: str,
        resource_name: str,
        resource_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        region: str | None = None,
        **facts: Any,
    ) -> None:
        """Record one evidence row; `facts` are the table's own columns."""
        self.rows.setdefault(table, []).append(
            {
                "account": self.account_id,
                "region": region or self.region,
                "resource_arn": resource_arn,
                "resource_type": resource_type,
                "resource_id": resource_id or resource_arn,
                "resource_name": resource_name,
                "tags": json.dumps(dict(tags or {}), sort_keys=True),
                "owner": "",
                **facts,
            }
        )

    def gap(
        self,
        operation: str,
        exc: Exception,
        *,
        resource_id: str | None = None,
        tables: tuple[str, ...] | None = None,
    ) -> None:
        """Record evidence that could not be gathered; its controls will report ERROR."""
        self.gaps.append(
            EvidenceGap(
                account=self.account_id,
                region=self.region,
                service=self.service,
                tables=tables or self.tables,
                operation=operation,
                error_code=error_code(exc),
                message=error_message(exc),
                resource_id=resource_id,
                columns=self.fed_by(operation),
            )
        )

    def fed_by(self, operation: str) -> tuple[str, ...]:
        """The columns a call feeds (declared), empty (every column) for a listing or an undeclared call."""
        service, _, name = operation.rpartition(":")
        for declared in self.calls:
            if declared.operation == name and (not service or declared.iam_action.startswith(f"{service}:")):
                return declared.feeds
        return ()

    def days_since(self, moment: datetime | None) -> int | None:
        """Whole days between `moment` and the collection time (floor), None when unknown."""
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (self.as_of - moment).days

    def result(self) -> CollectorResult:
        tables = {}
        declared = {spec.name: spec for spec in self.specs}
        for name in self.tables:
            rows = self.rows.get(name, [])
            columns = [c for c in declared[name].column_names if c != "owner_source"] if name in declared else None
            tables[name] = pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)
        # Per-resource calls run concurrently; sorted, the same estate gives the same gaps.json.
        gaps = sorted(self.gaps, key=lambda g: (g.operation, g.resource_id or "", g.error_code))
        return CollectorResult(tables=tables, gaps=gaps, documents=list(self.documents))


CollectFn = Callable[[CollectContext], None]


@dataclass(frozen=True, slots=True)
class Collector:
    """Declaration of one evidence source: what it reads, where, the tables it fills and the calls it makes.

    `name` is unique (task names, logs); `service` is the AWS client it mainly uses. `declares` and
    `calls` are the single source for `complyflow check`, `complyflow tables`, `complyflow iam-policy`
    and the columns an evidence gap affects; tests fail when the code calls an undeclared operation or
    fills an undeclared column.
    """

    name: str
    service: str
    #: regional: once per (account, region); global: once per account; organization: once per run
    scope: Literal["global", "regional", "organization"]
    declares: tuple[TableSpec, ...]
    calls: tuple[AwsCall, ...]
    collect: CollectFn
    description: str = ""

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.declares)


#: The tag that says what data a resource holds (`ai-training`, `ai-operational`, …): recorded as `data_class`.
DATA_CLASS_TAG = "data-class"


def data_class(tags: dict[str, str] | None) -> str | None:
    """The `data-class` tag value (lower-cased, trimmed; empty: untagged); None when the tags are unknown."""
    if tags is None:
        return None
    return next((v.strip().lower() for k, v in tags.items() if k.strip().lower() == DATA_CLASS_TAG), "")


def tag_dict(tags: list[dict[str, str]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {t[key]: t.get(value, "") for t in tags or []}
