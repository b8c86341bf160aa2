"""Register and export CSVs of recurring tasks, read strictly: a bad cell is an error naming file, line and field.

A register row that cannot be read makes the whole task ERROR rather than being skipped: the unreadable
row may be the newest one, and a verdict on the others would then be wrong.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from complyflow.core.recurring import Completion, RegisterSource, parse_cell_date
from tasks.recurring.sources import RecurringSourceError

#: DictReader's key for cells beyond the header
_EXTRA = "\x00extra"


@dataclass(frozen=True, slots=True)
class RegisterRow:
    line: int
    day: date
    link: str


@dataclass(frozen=True, slots=True)
class Register:
    rows: list[RegisterRow]  # rows dated on or before today
    future_rows: int


@dataclass(frozen=True, slots=True)
class CompletionCount:
    total: int
    completed: int

    @property
    def rate(self) -> float:
        return self.completed / self.total


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")  # spreadsheet exports often start with a byte-order mark
    except UnicodeDecodeError as exc:
        raise RecurringSourceError(f"{where}: not UTF-8 text (byte {exc.start})") from None


def _rows(data: bytes, where: str, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line, row) for every row; the header must name `required`, and no row may have more cells than it."""
    reader = csv.DictReader(io.StringIO(_text(data, where), newline=""), restkey=_EXTRA)
    try:
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in required if c not in header]
        if missing:
            found = ", ".join(header) if header else "no header row"
            raise RecurringSourceError(f"{where}: line 1: column(s) {', '.join(missing)} missing (found: {found})")
        reader.fieldnames = header
        rows = []
        for row in reader:
            cells = [c for v in row.values() for c in (v if isinstance(v, list) else [v]) if c]
            line = reader.line_num - sum(c.count("\n") for c in cells)  # where the row starts
            if _EXTRA in row:
                raise RecurringSourceError(f"{where}: line {line}: more cells than the header has columns")
            rows.append((line, {k: (v or "").strip() for k, v in row.items()}))
    except csv.Error as exc:
        raise RecurringSourceError(f"{where}: line {reader.line_num}: not valid CSV: {exc}") from None
    return rows


def read_register(data: bytes, where: str, source: RegisterSource, today: date, relative: bool) -> Register:
    """Dated rows of a register; an empty or unparsable date is an error naming its line."""
    rows, future = [], 0
    for line, row in _rows(data, where, (source.date_column,)):
        cell = row.get(source.date_column, "")
        if not cell:
            raise RecurringSourceError(f"{where}: line {line}: field {source.date_column}: empty")
        try:
            day = parse_cell_date(cell, today, relative)
        except ValueError as exc:
            raise RecurringSourceError(f"{where}: line {line}: field {source.date_column}: {exc}") from None
        if day > today:
            future += 1  # planned, not done
            continue
        rows.append(RegisterRow(line, day, row.get(source.link_column, "")))
    return Register(rows, future)


def count_completion(data: bytes, where: str, completion: Completion) -> CompletionCount:
    """People in the export and how many completed (status compared case-insensitively; empty: not completed)."""
    done = {v.casefold() for v in completion.completed_values}
    rows = _rows(data, where, (completion.column,))
    if not rows:
        raise RecurringSourceError(f"{where}: the export lists nobody; a completion rate needs people")
    completed = sum(row.get(completion.column, "").casefold() in done for _, row in rows)
    return CompletionCount(total=len(rows), completed=completed)
