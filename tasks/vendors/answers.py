"""Per-vendor answer files: `<answers_dir>/<vendor id>.csv` with columns `question,answer`.

The shape a form tool exports; answers may also sit in the register itself. A question answered in
both places must be answered the same way, so the evidence never depends on which one was read.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from complyflow.core.config import ConfigError
from tasks.vendors.register import Answer, ParsedRow
from tasks.vendors.sources import first_line

COLUMNS = ("question", "answer")


def check_answer_folder(folder: Path, shown: str, vendor_ids: set[str]) -> None:
    """The folder exists and every file in it names a vendor: a misnamed file would hide its answers."""
    if not folder.is_dir():
        raise ConfigError(f"{shown}: answers_dir not found (source.answers_dir in vendors.yaml)")
    orphans = sorted(p.name for p in folder.iterdir() if p.is_file() and p.stem not in vendor_ids)
    if orphans:
        raise ConfigError(
            f"{shown}: answer file(s) {', '.join(orphans)} match no vendor id in the register "
            f"(known: {', '.join(sorted(vendor_ids))}); name each file <vendor id>.csv"
        )


def merge_answer_file(parsed: ParsedRow, folder: Path, shown: str, question_ids: set[str]) -> None:
    """Add the vendor's answer file (if any) to its answers; conflicts and unknown questions are row errors."""
    if parsed.record is None:
        return
    path = folder / f"{parsed.record.key}.csv"
    if not path.is_file():
        return
    label = f"{shown}/{path.name}"
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        parsed.errors.append(f"{label} line 1: header must be exactly {','.join(COLUMNS)}")
    else:
        for record in reader:
            where = f"{label} line {first_line(reader.line_num, record)}"
            question = (record.get("question") or "").strip()
            text = (record.get("answer") or "").strip()
            if question not in question_ids:
                parsed.errors.append(
                    f"{where}: field question: unknown question {question!r} (known: {', '.join(sorted(question_ids))})"
                )
                continue
            if not text:
                continue  # an empty answer is no answer
            known = parsed.answers.get(question)
            if known is not None and known.text.casefold() != text.casefold():
                parsed.errors.append(
                    f"{where}: field answer: {question} answered {text!r} here but {known.text!r} at {known.where}"
                )
                continue
            parsed.answers.setdefault(question, Answer(text, where))
    if parsed.errors:
        parsed.record = None
