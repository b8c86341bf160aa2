"""The policy documents we enforce, as data: one YAML file per document under `configs/policies/`.

Each clause has an id, a title and a one-line summary of what it requires. A clause that no control or
recurring task can evidence says why (`not_evidenced_reason`), so the coverage matrix shows a decision
rather than a hole. Controls point at clauses in two ways, both resolved at load (`resolve_references`):
`policy_clause` (document title + the section's leading number, "6.1 System Monitoring" -> clause 6.1) and
the optional `clauses` list (`<policy id>:<clause id>`, for secondary mappings).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

if TYPE_CHECKING:
    from complyflow.core.config import Control

POLICIES_DIR = "policies"
DOCUMENT_ID = r"^[a-z0-9][a-z0-9-]*$"
CLAUSE_ID = r"^[A-Za-z0-9]+([.-][A-Za-z0-9]+)*$"
#: `<policy id>:<clause id>`, as written in a control's `clauses` list.
CLAUSE_REF = re.compile(r"^([a-z0-9][a-z0-9-]*):([A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*)$")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):  # as config._Strict; config imports this module, so its helpers are imported late here
    model_config = ConfigDict(extra="forbid", frozen=True)


class Clause(_Strict):
    """One clause (a numbered section, a security area, a step): what it requires, or why nothing evidences it."""

    id: str = Field(pattern=CLAUSE_ID)
    title: Text
    summary: Text
    not_evidenced_reason: Text | None = None


class PolicyDocument(_Strict):
    """A policy document: `title` is the name controls use in `policy_clause.document`."""

    id: str = Field(pattern=DOCUMENT_ID)
    title: Text
    aliases: list[Text] = Field(default_factory=list)  # other names a control may give the document
    source: str = ""  # where the text comes from (document number, version, file)
    clauses: list[Clause] = Field(min_length=1)

    @field_validator("clauses")
    @classmethod
    def _unique_clause_ids(cls, clauses: list[Clause]) -> list[Clause]:
        ids = [c.id for c in clauses]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"clause id(s) {', '.join(twice)} declared twice")
        return clauses

    def names(self) -> list[str]:
        return [self.title, *self.aliases]

    def clause(self, clause_id: str) -> Clause | None:
        return next((c for c in self.clauses if c.id == clause_id), None)

    def match_section(self, section: str) -> Clause | None:
        """The clause a `policy_clause.section` names: its leading token is the clause id ("6.1 System
        Monitoring"), or the whole section is the clause title ("Data Security"); case is ignored."""
        text = section.strip()
        lead = text.split()[0].rstrip(".") if text else ""
        for clause in self.clauses:
            if lead.lower() == clause.id.lower() or text.lower() == clause.title.lower():
                return clause
        return None


def ref(document: PolicyDocument, clause: Clause) -> str:
    """The `<policy id>:<clause id>` reference of a clause."""
    return f"{document.id}:{clause.id}"


def load_policies(directory: Path) -> list[PolicyDocument]:
    """`policies/*.yaml` (or `.yml`), one document per file named after its id; none when the folder is absent."""
    from complyflow.core.config import CONTROL_SUFFIXES, ConfigError, parse_model, read_yaml

    folder = directory / POLICIES_DIR
    if not folder.is_dir():
        return []
    documents: list[PolicyDocument] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.suffix not in CONTROL_SUFFIXES:
            if re.search(r"(?i)\.(ya?ml|json|toml)$", path.name):
                raise ConfigError(f"{path}: not read: policy files must end in .yaml or .yml (lower case)")
            continue
        data = read_yaml(path)
        entry = data.get("id") if isinstance(data, dict) else None
        document = parse_model(PolicyDocument, data, path, str(entry or path.stem))
        if document.id != path.stem:
            raise ConfigError(f"{path}: policy id {document.id!r} must match the file name {path.stem!r}")
        for other in documents:
            shared = {n.lower() for n in other.names()} & {n.lower() for n in document.names()}
            if other.id == document.id:
                raise ConfigError(f"{path}: policy {document.id!r} is declared twice (.yaml and .yml)")
            if shared:
                raise ConfigError(
                    f"{path}: field title: {sorted(shared)[0]!r} already names policy {other.id!r}; "
                    "a document title or alias must name one document"
                )
        documents.append(document)
    return documents


def document_named(documents: Iterable[PolicyDocument], name: str) -> PolicyDocument | None:
    wanted = name.strip().lower()
    return next((d for d in documents if wanted in (n.lower() for n in d.names())), None)


def resolve_references(documents: Sequence[PolicyDocument], controls: Sequence[Control], controls_dir: Path) -> None:
    """Every control's `policy_clause` and `clauses` name a declared clause; else ConfigError naming file and field.

    Without policy documents (no `policies/` folder) `policy_clause` is not checked (older config
    directories), but a `clauses` entry still has nothing to resolve against and is refused.
    """
    from complyflow.core.config import ConfigError

    for control in controls:
        where = f"{_control_file(controls_dir, control.id)}: entry {control.id!r}"
        if documents:
            named = control.policy_clause.document
            document = document_named(documents, named)
            if document is None:
                known = ", ".join(repr(d.title) for d in documents)
                raise ConfigError(f"{where}: field policy_clause.document: unknown policy {named!r}; known: {known}")
            if document.match_section(control.policy_clause.section) is None:
                raise ConfigError(
                    f"{where}: field policy_clause.section: {control.policy_clause.section!r} names no clause "
                    f"of {document.title!r} (its leading number must be a clause id: "
                    f"{', '.join(c.id for c in document.clauses)})"
                )
        for index, raw in enumerate(control.clauses):
            policy_id, clause_id = raw.split(":", 1)
            document = next((d for d in documents if d.id == policy_id), None)
            if document is None:
                known = ", ".join(d.id for d in documents) or "none: no policy documents under policies/"
                raise ConfigError(f"{where}: field clauses[{index}]: unknown policy {policy_id!r}; known: {known}")
            if document.clause(clause_id) is None:
                raise ConfigError(
                    f"{where}: field clauses[{index}]: {document.id} has no clause {clause_id!r}; "
                    f"clauses: {', '.join(c.id for c in document.clauses)}"
                )


def check_reasons(documents: Sequence[PolicyDocument], controls: Sequence[Control], folder: Path) -> None:
    """A clause an enabled control evidences must not also say why nothing evidences it (a stale reason)."""
    from complyflow.core.config import ConfigError

    for control in (c for c in controls if c.enabled):
        for clause_ref in clauses_of(control, documents):
            policy_id, clause_id = clause_ref.split(":", 1)
            document = next(d for d in documents if d.id == policy_id)
            clause = document.clause(clause_id)
            if clause is not None and clause.not_evidenced_reason:
                index = document.clauses.index(clause)
                raise ConfigError(
                    f"{folder / POLICIES_DIR / (document.id + '.yaml')}: entry {document.id!r}: field "
                    f"clauses[{index}].not_evidenced_reason: clause {clause.id} is evidenced by control "
                    f"{control.id!r}; remove the reason"
                )


def clauses_of(control: Control, documents: Sequence[PolicyDocument]) -> list[str]:
    """Every `<policy id>:<clause id>` a control evidences: its `policy_clause` first, then `clauses`."""
    refs: list[str] = []
    document = document_named(documents, control.policy_clause.document)
    clause = document.match_section(control.policy_clause.section) if document else None
    if document and clause:
        refs.append(ref(document, clause))
    refs += [r for r in control.clauses if r not in refs]
    return refs


def _control_file(folder: Path, control_id: str) -> Path:
    """The control's file; the config folder for an entry kept elsewhere (a recurring evidence task)."""
    for suffix in (".yaml", ".yml"):
        if (folder / f"{control_id}{suffix}").exists():
            return folder / f"{control_id}{suffix}"
    return folder.parent
