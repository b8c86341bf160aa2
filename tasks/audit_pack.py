"""The audit pack: one zip an auditor can check offline, built from sealed runs without collecting again.

Inside: every stored run of the period exactly as sealed (evidence Parquet, gaps, findings, manifest,
tombstone), the chain head, the verification of the period, the controls catalog with its framework
mappings, the exceptions register, the findings of the newest run in scope (CSV, OCSF, HTML), the policy
coverage matrix of that run (`coverage/coverage.json` and `.csv`: per clause, what evidences it), and an
index with the SHA-256 of every file (`index.json`, and `SHA256SUMS` for `sha256sum -c`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from complyflow.core.config import FRAMEWORKS, Config, Control
from complyflow.core.coverage import CoverageRow, RunStatus, coverage_csv, coverage_matrix
from complyflow.core.model import Finding, Status
from complyflow.core.text import csv_cell
from tasks.evidence import (
    AUDIT_PACKS,
    CHAIN_HEAD,
    MANIFEST,
    TOMBSTONE,
    EvidenceStore,
    LocalStore,
    MissingObjectError,
    run_date,
    run_key,
    store_run_ids,
)
from tasks.exception_register import load_register
from tasks.findings import FINDINGS_JSON, findings_csv
from tasks.report.html import badge, coverage_section, esc, page, table
from tasks.report.ocsf import ocsf_json
from tasks.verify import VerifyReport, verify_store

PACK_VERSION = 1
INDEX = "index.json"
CHECKSUMS = "SHA256SUMS"


@dataclass(frozen=True, slots=True)
class PackRequest:
    """What to pack: a period, optionally narrowed to controls and accounts (ids), plus runs to force in."""

    period_start: date
    period_end: date
    control_ids: tuple[str, ...] = ()  # empty: every control
    account_ids: tuple[str, ...] = ()  # empty: every account
    include_runs: tuple[str, ...] = ()  # e.g. the fresh pre-audit run, whatever its date

    def slug(self) -> str:
        return f"{self.period_start:%Y%m%d}-{self.period_end:%Y%m%d}"


@dataclass(slots=True)
class AuditPack:
    path: Path  # the zip on local disk
    url: str  # where the store keeps it (file:// or s3://)
    sha256: str
    runs: list[str]
    files: int
    verification: VerifyReport
    findings: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "url": self.url,
            "sha256": self.sha256,
            "runs": self.runs,
            "files": self.files,
            "verified": self.verification.ok,
            "issues": [str(i) for i in self.verification.issues],
            "findings": self.findings,
        }


def resolve_period(start: date | None, end: date | None, default_days: int, today: date) -> tuple[date, date]:
    """The period to pack: end defaults to today, start to `default_days` before end; nonsense is refused."""
    end = end or today
    start = start or end - timedelta(days=default_days)
    if start > end:
        raise ValueError(f"period_start {start} is after period_end {end}")
    if end > today:
        raise ValueError(f"period_end {end} is in the future (today is {today} UTC)")
    return start, end


def _runs_in_period(store: EvidenceStore, request: PackRequest) -> list[str]:
    runs = []
    for run_id in store_run_ids(store):
        started = run_date(run_id)
        if run_id in request.include_runs or (started and request.period_start <= started <= request.period_end):
            runs.append(run_id)
    missing = set(request.include_runs) - set(runs)
    if missing:
        raise ValueError(f"run(s) {', '.join(sorted(missing))} not found in {store.location}")
    if not runs:
        raise ValueError(
            f"no stored runs between {request.period_start} and {request.period_end} in "
            f"{store.location}: run a compliance flow first, or widen the period"
        )
    return runs


def _run_findings(store: EvidenceStore, run_id: str) -> tuple[dict[str, Any], list[Finding]] | None:
    """The run record and the findings of a stored run; None when it has none."""
    try:
        data = json.loads(store.get_bytes(run_key(run_id, FINDINGS_JSON)))
    except MissingObjectError:
        return None  # pruned, or a run that crashed before writing findings
    return data.get("run") or {}, [Finding.from_dict(item) for item in data.get("findings", [])]


def pack_coverage(
    config: Config, request: PackRequest, run: dict[str, Any], findings: list[Finding]
) -> list[CoverageRow]:
    """The policy matrix of the newest run in scope: the catalog's clauses with that run's in-scope counts."""
    if not run:
        return coverage_matrix(config.policies, config.controls, None)
    scope = (run.get("scope") or {}).get("controls") or sorted({f.control_id for f in findings})
    in_scope = [c for c in scope if not request.control_ids or c in request.control_ids]
    started = datetime.fromisoformat(run["started_at"]) if run.get("started_at") else datetime.min.replace(tzinfo=UTC)
    status = RunStatus.from_findings(str(run.get("run_id", "")), str(run.get("flow", "")), started, findings, in_scope)
    return coverage_matrix(config.policies, config.controls, status)


def _in_scope(findings: list[Finding], request: PackRequest) -> list[Finding]:
    return [
        f
        for f in findings
        if (not request.control_ids or f.control_id in request.control_ids)
        and (not request.account_ids or f.account in request.account_ids)
    ]


def catalog_rows(controls: list[Control], in_scope: set[str]) -> list[dict[str, str]]:
    """The controls catalog with one column per framework, for auditors' spreadsheets."""
    return [
        {
            "id": c.id,
            "title": c.title,
            "severity": c.severity,
            "enabled": str(c.enabled).lower(),
            "in_scope": str(c.id in in_scope).lower(),
            "evidence_table": c.evidence_table,
            "policy_clause": f"{c.policy_clause.document} {c.policy_clause.section}",
            "clauses": "; ".join(c.clauses),  # secondary clauses, <policy id>:<clause id>
            **{f: "; ".join(c.frameworks.get(f, [])) for f in FRAMEWORKS},
        }  # type: ignore[call-overload]
        for c in controls
    ]


def _csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def findings_html(
    request: PackRequest,
    latest: str | None,
    findings: list[Finding],
    controls: list[Control],
    runs: list[dict[str, Any]],
    verification: VerifyReport,
    generated: datetime,
    coverage: list[CoverageRow] | None = None,
) -> str:
    """The pack's cover page: the period, the verification, the newest findings per control, the policy
    coverage, the runs."""
    counts = Counter((f.control_id, f.status) for f in findings)
    chosen = [c for c in controls if not request.control_ids or c.id in request.control_ids]
    if verification.ok:
        verdict = '<p class="PASS"><b>Evidence verified</b>: every hash and the manifest chain match.</p>'
    else:
        verdict = (
            '<p class="FAIL"><b>Evidence verification FAILED</b></p><ul>'
            + "".join(f"<li><code>{esc(str(i))}</code></li>" for i in verification.issues)
            + "</ul>"
        )
    control_rows = [
        [
            esc(c.id),
            esc(c.title),
            esc(c.severity),
            "<br>".join(esc(f"{f}: {', '.join(refs)}") for f, refs in c.frameworks.items() if refs),
            *(str(counts[(c.id, s)]) for s in Status),
        ]
        for c in chosen
    ]
    bad = sorted(
        (f for f in findings if f.status in (Status.FAIL, Status.ERROR)),
        key=lambda f: (f.control_id, f.account, f.resource_id),
    )
    violation_rows = [
        [
            badge(str(f.status)),
            esc(f.control_id),
            f'{esc(f.resource_name)}<br><span class="muted mono">{esc(f.resource_arn)}</span>',
            esc(f.account),
            esc(f.region),
            esc(f.owner),
            esc(f.observed),
            esc(f.expected),
        ]
        for f in bad
    ]
    run_rows = [
        [
            f'<span class="mono">{esc(r["run_id"])}</span>',
            esc(r.get("flow") or ""),
            "pruned" if r["pruned"] else "kept",
            f"<code>{esc(r['manifest_sha256'] or 'missing')}</code>",
        ]
        for r in runs
    ]
    scope = (
        f"Controls: {esc(', '.join(request.control_ids) or 'all')}. "
        f"Accounts: {esc(', '.join(request.account_ids) or 'all')}. Newest run: {esc(latest or 'none')}."
    )
    body = (
        f"<h1>Audit pack {esc(request.period_start)} – {esc(request.period_end)}</h1>"
        f'<p class="muted">Generated {esc(generated.isoformat(timespec="seconds"))} by complyflow. {scope}</p>'
        f"{verdict}<h2>Controls and framework mappings (newest run)</h2>"
        + table(
            ["control", "title", "severity", "frameworks", *map(str, Status)],
            control_rows,
            numeric=range(4, 4 + len(Status)),
        )
        + "<h2>Violations and evidence gaps (newest run)</h2>"
        + (
            table(
                ["status", "control", "resource", "account", "region", "owner", "observed", "expected"], violation_rows
            )
            if violation_rows
            else "<p>None.</p>"
        )
        + coverage_section(coverage or [], "Policy coverage (newest run)")
        + "<h2>Runs of the period</h2>"
        + table(["run", "flow", "evidence", "manifest SHA-256"], run_rows)
        + "<p>Check the pack with <code>sha256sum -c SHA256SUMS</code>; each <code>runs/*/manifest.json</code> "
        "lists its files' SHA-256 and the previous manifest's SHA-256, and <code>verification.json</code> "
        "is the check complyflow ran when it built the pack.</p>"
    )
    return page(f"complyflow audit pack {request.slug()}", body)


class _PackWriter:
    """Adds files to the zip and remembers each one's SHA-256 for the index."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.files: dict[str, dict[str, Any]] = {}

    def add(self, name: str, data: bytes | str) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if name in self.files:
            raise ValueError(f"{name}: added twice to the audit pack")
        self.archive.writestr(name, raw)
        self.files[name] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}


def _run_summary(store: EvidenceStore, run_id: str) -> dict[str, Any]:
    try:
        manifest_bytes = store.get_bytes(run_key(run_id, MANIFEST))
        manifest = json.loads(manifest_bytes)
    except (MissingObjectError, ValueError):
        return {"run_id": run_id, "flow": None, "manifest_sha256": None, "pruned": False}
    return {
        "run_id": run_id,
        "flow": (manifest.get("metadata") or {}).get("flow"),
        "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
        "previous_run_id": manifest.get("previous_run_id"),
        "pruned": store.exists(run_key(run_id, TOMBSTONE)),
    }


def build_audit_pack(
    store: EvidenceStore,
    config: Config,
    request: PackRequest,
    out_dir: Path | None = None,
    retention_days: int | None = None,
    now: datetime | None = None,
    public_key_pem: bytes | None = None,
) -> AuditPack:
    """Assemble, index and store the pack; returns where it is and what the verification found."""
    now = now or datetime.now(UTC)
    runs = _runs_in_period(store, request)
    verification = verify_store(
        store,
        since=min(request.period_start, *(run_date(r) or request.period_start for r in runs)),
        retention_days=retention_days,
        today=now.date(),
        public_key_pem=public_key_pem,
    )
    # An interrupted run was never sealed: nothing proves what it held, so it is listed, not packed.
    interrupted = sorted(set(runs) & set(verification.interrupted))
    runs = [r for r in runs if r not in interrupted]
    latest, latest_run, latest_findings = None, {}, []
    for run_id in reversed(runs):
        found = _run_findings(store, run_id)
        if found is not None:
            latest, latest_run, latest_findings = run_id, {"run_id": run_id, **found[0]}, _in_scope(found[1], request)
            break
    coverage = pack_coverage(config, request, latest_run, latest_findings)
    summaries = [_run_summary(store, r) for r in runs]
    name = f"audit-pack-{request.slug()}-{now:%Y%m%dT%H%M%SZ}.zip"
    scratch = out_dir is None and not isinstance(store, LocalStore)  # built here, kept only in the store
    if out_dir is None:
        out_dir = store.root / AUDIT_PACKS if isinstance(store, LocalStore) else Path(tempfile.mkdtemp())
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    partial = path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        pack = _PackWriter(archive)
        for run_id in runs:
            for key in store.keys(run_key(run_id)):
                pack.add(key, store.get_bytes(key))
        if store.exists(CHAIN_HEAD):
            pack.add(CHAIN_HEAD, store.get_bytes(CHAIN_HEAD))
        pack.add("verification.json", json.dumps(verification.to_dict(), indent=2))
        in_scope = {c.id for c in config.controls if not request.control_ids or c.id in request.control_ids}
        rows = catalog_rows(config.controls, in_scope)
        pack.add("controls/catalog.csv", _csv(rows))
        pack.add("controls/catalog.json", json.dumps([c.model_dump(mode="json") for c in config.controls], indent=2))
        register = load_register(config, store, now.date())  # exceptions.yaml + sealed request decisions
        pack.add(
            "exceptions/register.json",
            json.dumps({**register.effective.model_dump(mode="json"), "register": register.to_dict()}, indent=2),
        )
        pack.add("exceptions/register.csv", _csv([{k: str(v) for k, v in r.to_dict().items()} for r in register.rows]))
        if coverage:
            pack.add("coverage/coverage.json", json.dumps([row.to_dict() for row in coverage], indent=2))
            pack.add("coverage/coverage.csv", coverage_csv(coverage))
        pack.add("findings/findings.csv", findings_csv(latest_findings))
        pack.add("findings/findings.ocsf.json", ocsf_json(latest_findings, {c.id: c for c in config.controls}, now))
        pack.add(
            "findings/findings.html",
            findings_html(request, latest, latest_findings, config.controls, summaries, verification, now, coverage),
        )
        index = {
            "pack_version": PACK_VERSION,
            "generated_at": now.isoformat(),
            "store": store.location,
            "period": {"start": request.period_start.isoformat(), "end": request.period_end.isoformat()},
            "scope": {"controls": list(request.control_ids), "accounts": list(request.account_ids)},
            "newest_run": latest,
            "runs": summaries,
            "interrupted_runs": interrupted,
            "verification": {
                "ok": verification.ok,
                "issues": len(verification.issues),
                "signatures_checked": verification.signatures_checked,
            },
            "files": dict(sorted(pack.files.items())),
        }
        pack.add(INDEX, json.dumps(index, indent=2))
        pack.add(CHECKSUMS, "".join(f"{entry['sha256']}  {name}\n" for name, entry in sorted(pack.files.items())))
    partial.replace(path)
    key = f"{AUDIT_PACKS}/{name}"
    store.put_file(key, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if scratch:  # the pack lives in the store (`url`); no copy left behind in the temporary directory
        shutil.rmtree(out_dir, ignore_errors=True)
        path = Path(name)
    return AuditPack(
        path=path,
        url=store.url(key),
        sha256=digest,
        runs=runs,
        files=len(pack.files),
        verification=verification,
        findings=dict(Counter(str(f.status) for f in latest_findings)),
    )
