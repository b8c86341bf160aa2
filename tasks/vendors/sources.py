"""Read register rows, with their locations, from whichever source `vendors.yaml` names.

YAML keeps the line of every field (from PyYAML's node marks), CSV the line of every row, DynamoDB
the item's key; that is what lets a malformed row be reported where a person can fix it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from boto3.dynamodb.types import TypeDeserializer

from complyflow.core.config import ConfigError
from tasks.aws import paginate
from tasks.vendors.register import Location, RawRow
from tasks.vendors.settings import SETTINGS_FILE, DynamoDBSource, FileSource, InlineSource, S3Source, VendorSettings

ClientFactory = Callable[[str, str], Any]  # (service, region) → boto3 client
ANSWER_COLUMN_PREFIX = "answers."


def read_rows(settings: VendorSettings, config_dir: Path, client: ClientFactory) -> list[RawRow]:
    """Every row of the register, in source order (DynamoDB: by vendor key, as a scan has no order)."""
    source = settings.source
    if isinstance(source, InlineSource):
        path = config_dir / SETTINGS_FILE
        return yaml_rows(path.read_text(encoding="utf-8"), shown_path(path, config_dir), key="vendors")
    if isinstance(source, FileSource):
        path = config_dir / source.path
        if not path.is_file():
            raise ConfigError(f"{config_dir / SETTINGS_FILE}: field source.path: register {path} not found")
        return text_rows(path.read_text(encoding="utf-8"), shown_path(path, config_dir), path.suffix)
    if isinstance(source, DynamoDBSource):
        return dynamodb_rows(client("dynamodb", source.region), source.table, source.region)
    if isinstance(source, S3Source):
        body = client("s3", source.region).get_object(Bucket=source.bucket, Key=source.key)["Body"].read()
        return text_rows(body.decode("utf-8"), f"s3://{source.bucket}/{source.key}", Path(source.key).suffix)
    raise TypeError(f"unknown register source {source!r}")  # pragma: no cover - the schema is exhaustive


def shown_path(path: Path, config_dir: Path) -> str:
    """The path as a policy author knows it: `configs/vendors.yaml`."""
    try:
        return str(Path(config_dir.name) / path.relative_to(config_dir))
    except ValueError:
        return str(path)


def text_rows(text: str, source: str, suffix: str) -> list[RawRow]:
    if suffix.casefold() == ".csv":
        return csv_rows(text, source)
    return yaml_rows(text, source, key=None)


# --- YAML ----------------------------------------------------------------------------------------


def yaml_rows(text: str, source: str, key: str | None) -> list[RawRow]:
    """Rows of a YAML list (top level, or under `key`), each with the line of every field."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    node, items = root, data
    if isinstance(root, yaml.MappingNode) and isinstance(data, dict) and (key or "vendors") in data:
        name = key or "vendors"
        node = next(v for k, v in root.value if k.value == name)
        items = data[name]
    elif key:
        raise ConfigError(f"{source}: field {key}: missing")
    if items is None:
        return []
    if not isinstance(node, yaml.SequenceNode) or not isinstance(items, list):
        raise ConfigError(f"{source}: the register must be a list of vendors")
    rows = []
    for item_node, item in zip(node.value, items, strict=True):
        lines: dict[str, int] = {}
        _field_lines(item_node, "", lines)
        rows.append(RawRow(item, Location(source, line=item_node.start_mark.line + 1, field_lines=lines)))
    return rows


def _field_lines(node: yaml.Node, prefix: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            name = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            lines[name] = key_node.start_mark.line + 1
            _field_lines(value_node, name, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            name = f"{prefix}[{index}]"
            lines[name] = child.start_mark.line + 1
            _field_lines(child, name, lines)


# --- CSV -----------------------------------------------------------------------------------------


def csv_rows(text: str, source: str) -> list[RawRow]:
    """Rows of a CSV with a header; empty cells are absent values, `answers.<id>` columns are answers."""
    reader = csv.DictReader(io.StringIO(text), restkey="extra_cells")
    rows = []
    for record in reader:
        rows.append(RawRow(fold_answers(record), Location(source, line=first_line(reader.line_num, record))))
    return rows


def first_line(last_line: int, record: dict[str, Any]) -> int:
    """The line a row starts on: the reader's line count, less the line breaks inside quoted cells."""
    cells = [v for value in record.values() for v in (value if isinstance(value, list) else [value])]
    return last_line - sum(str(cell).count("\n") for cell in cells if cell)


def fold_answers(record: dict[str, Any]) -> dict[str, Any]:
    """Drop empty cells and gather `answers.<question>` columns into one `answers` mapping."""
    data: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    for column, value in record.items():
        if column is None:
            continue
        if isinstance(value, str):
            value = value.strip()
        if value in ("", None):
            continue
        name = str(column).strip()
        if name.startswith(ANSWER_COLUMN_PREFIX):
            answers[name.removeprefix(ANSWER_COLUMN_PREFIX)] = value
        else:
            data[name] = value
    if answers:
        if isinstance(data.get("answers"), dict):
            answers = {**data["answers"], **answers}
        data["answers"] = answers
    return data


# --- DynamoDB ------------------------------------------------------------------------------------


def dynamodb_rows(dynamodb: Any, table: str, region: str) -> list[RawRow]:
    """Every item of the table; attributes as in the CSV (`answers` a map or `answers.<id>` attributes)."""
    deserializer = TypeDeserializer()
    items = [
        fold_answers({k: deserializer.deserialize(v) for k, v in item.items()})
        for item in paginate(dynamodb, "scan", "Items", TableName=table)
    ]
    items.sort(key=lambda item: (str(item.get("id") or ""), str(item.get("vendor") or "")))
    source = f"dynamodb table {table} ({region})"
    rows = []
    for index, item in enumerate(items, start=1):
        name = item.get("id") or item.get("vendor")
        label = f"item {name!r}" if name else f"item #{index}"
        rows.append(RawRow(item, Location(source, item=label)))
    return rows
