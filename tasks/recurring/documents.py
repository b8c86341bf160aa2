"""Copy recurring-evidence documents into the run folder before it is sealed, so the manifest lists them.

The paths were made safe by the collector (complyflow.core.recurring.document_path); they are checked
again here, because this is where bytes land on disk: one fixed pattern, inside `evidence/documents/`,
never over an existing file or through a symlink, and the bytes must still have the hash the evidence
table records.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from complyflow.core.model import EvidenceDocument
from complyflow.core.recurring import DOCUMENTS_DIR
from tasks.evidence import RunFolder, atomic_write_bytes

_SAFE = re.compile(re.escape(DOCUMENTS_DIR) + r"/[a-z0-9][a-z0-9-]{1,60}/[0-9a-f]{12}-[A-Za-z0-9._-]{1,80}")


def write_documents(folder: RunFolder, documents: Iterable[EvidenceDocument]) -> list[str]:
    """Write each document once under the run folder; returns their paths relative to it."""
    root = folder.path.resolve()
    written: list[str] = []
    for document in documents:
        if not _SAFE.fullmatch(document.path):
            raise ValueError(f"{document.path!r}: not a document path of the run folder")
        if hashlib.sha256(document.data).hexdigest() != document.sha256:
            raise ValueError(f"{document.path}: bytes differ from the SHA-256 recorded in the evidence table")
        target = folder.path / document.path
        if document.path in written:
            continue  # the same document found twice (same hash, same name)
        if target.exists() or target.is_symlink():
            raise FileExistsError(f"{target}: evidence is written once per run")
        target.parent.mkdir(parents=True, exist_ok=True)
        if root not in target.parent.resolve().parents:
            raise ValueError(f"{document.path}: resolves outside the run folder")
        atomic_write_bytes(target, document.data)
        written.append(document.path)
    return written
