"""Evidence tables as declared data: the contract between a collector and the controls that read it.

A collector declares each table it fills (columns with a type and a meaning, the key) and each AWS API
call it makes (the IAM action, the columns it feeds, the condition under which it is called). That one
declaration is what `complyflow check` validates controls against, what `complyflow tables` and
docs/evidence-tables.md print, what `complyflow iam-policy` grants, and what tells validation which
columns an evidence gap leaves unknown. Nothing here imports boto3, pandas or Great Expectations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "integer", "number", "boolean", "date", "json"]

#: What each type accepts as a threshold in a rule (`value_set` items, `min_value`, `max_value`).
_NUMERIC = ("integer", "number")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an evidence table. Every column may be null: null means "not known", never "no"."""

    name: str
    type: ColumnType
    meaning: str

    @property
    def numeric(self) -> bool:
        return self.type in _NUMERIC


#: Columns every evidence table has (collectors fill the first seven, owner resolution the last two).
BASE_COLUMNS: tuple[Column, ...] = (
    Column("account", "string", "12-digit AWS account id (or the organisation, for registers)"),
    Column("region", "string", "AWS region; account-wide services report the scope's global region"),
    Column("resource_arn", "string", "the ARN exactly as AWS writes it"),
    Column("resource_type", "string", "e.g. AwsIamUser, AwsS3Bucket (Security Hub / OCSF style)"),
    Column("resource_id", "string", "unique row key within the table (the ARN, or ARN + sub-resource)"),
    Column("resource_name", "string", "human-readable name (untrusted text)"),
    Column("tags", "json", "JSON object of the resource's tags (untrusted text)"),
    Column("owner", "string", "resolved owner: tag, then account owner, then the fallback"),
    Column("owner_source", "string", "where `owner` came from (tag name, account, fallback)"),
)
BASE_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in BASE_COLUMNS)
#: Columns a resource's own tag call feeds; a failed tag call leaves exactly these unknown.
TAG_COLUMNS: tuple[str, ...] = ("tags", "owner", "owner_source")


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One evidence table: one row per `key` value."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: str = "resource_id"

    def __post_init__(self) -> None:
        names = [c.name for c in self.all_columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"table {self.name}: columns declared twice: {', '.join(duplicates)}")
        if self.key not in names:
            raise ValueError(f"table {self.name}: key {self.key!r} is not a declared column")

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return (*BASE_COLUMNS, *self.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.all_columns)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.all_columns if c.name == name), None)


#: IAM service prefixes that differ from the boto3 client name.
_IAM_PREFIX = {"resourcegroupstaggingapi": "tag"}


@dataclass(frozen=True, slots=True)
class AwsCall:
    """One AWS API operation a collector may call, and what it is for.

    `feeds`: the columns whose values come from this call; a gap on it leaves only these unknown.
    Empty means the whole row (or, for a listing call, the whole scope). `when`: the condition under which
    it is called at all (a fallback, a feature in use); empty: always. `resources`: which resources the
    IAM policy grants it on — "*" or the name of a resource set the policy generator derives from config.
    """

    service: str  # boto3 client name, e.g. "s3", "resourcegroupstaggingapi"
    operation: str  # API operation, e.g. "GetBucketEncryption"
    feeds: tuple[str, ...] = ()
    when: str = ""
    action: str = ""  # the IAM action when it is not <prefix>:<operation>, e.g. s3:GetEncryptionConfiguration
    resources: str = "*"

    @property
    def iam_action(self) -> str:
        return self.action or f"{_IAM_PREFIX.get(self.service, self.service)}:{self.operation}"


def call(service: str, operation: str, *feeds: str, when: str = "", action: str = "", resources: str = "*") -> AwsCall:
    """Shorthand for a declaration line: `call("kms", "GetKeyRotationStatus", "rotation_enabled")`."""
    return AwsCall(service, operation, tuple(feeds), when, action, resources)


def tag_fallback(service: str, operation: str, action: str = "") -> AwsCall:
    """A resource's own tag call, made only when the Resource Groups Tagging API is refused."""
    return call(service, operation, *TAG_COLUMNS, when="tag:GetResources is refused", action=action)


#: The Resource Groups Tagging API: one page replaces up to 100 per-resource tag calls.
TAGGING = call("resourcegroupstaggingapi", "GetResources", *TAG_COLUMNS)
