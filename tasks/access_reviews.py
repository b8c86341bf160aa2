"""Access-review campaigns (AI Security Policy 5.1 "regularly review and audit access rights").

A campaign takes the principals of the newest sealed run that collected `iam_principals`, and gives
each owner one review of their principals. The owner keeps, revokes or reassigns each one; the answer
is sealed and signed as a decision (tasks/decisions.py) naming the evidence run it reviewed. The
campaign itself is sealed too (who was asked, when, where the form is), so every later run can tell
which reviews are pending, remind their owners on a cadence and escalate them, without asking the
Prefect API.

Two evidence tables come from these records and the run's own `iam_principals`:
`access_reviews` (one row per owner and account: is there a completed review within the interval)
and `access_review_revocations` (one row per principal marked revoke: does it still have the access
that was reviewed).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from complyflow.core.config import AccessReviewSettings, Config, NonBlank
from complyflow.core.model import EvidenceGap
from tasks.decisions import SealedDecision, is_decision_run, sealed_decisions
from tasks.evidence import EVIDENCE, MANIFEST, EvidenceStore, MissingObjectError, run_key, store_run_ids
from tasks.notify.text import code, safe

CAMPAIGN_KIND = "access-review-campaign"
REVIEW_KIND = "access-review"
PRINCIPALS = "iam_principals"
REVIEWS_TABLE = "access_reviews"
REVOCATIONS_TABLE = "access_review_revocations"
ACCESS_FIELDS = ("groups", "attached_policies", "inline_policies")
Action = Literal["keep", "revoke", "reassign"]


class ReviewError(RuntimeError):
    """A campaign cannot start (no sealed principals to review)."""


@dataclass(frozen=True)
class Principal:
    """One user or role as the owner reviews it."""

    arn: str
    name: str
    type: str
    account: str
    groups: str = ""
    attached_policies: str = ""
    inline_policies: str = ""
    is_admin: bool = False
    last_activity: str = ""

    def access(self) -> dict[str, list[str]]:
        """What the principal can use, as reviewed: groups and policies by name."""
        return {f: _names(getattr(self, f)) for f in ACCESS_FIELDS}

    def line(self) -> str:
        admin = " · *admin*" if self.is_admin else ""
        used = f"last used {safe(self.last_activity[:10])}" if self.last_activity else "never used"
        return f"• {code(self.name)} ({safe(self.type)}, {safe(self.account)}){admin} · {used}"


def _names(text: object) -> list[str]:
    return sorted(p.strip() for p in str(text or "").split(",") if p.strip())


# --- the forms ----------------------------------------------------------------------------------------


class PrincipalDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal: NonBlank = Field(description="ARN of the user or role")
    action: Action = Field(default="keep", description="keep, revoke, or reassign to another owner")
    reassign_to: str = Field(default="", description="The new owner, for reassign")
    comment: str = ""


class ReviewAnswer(BaseModel):
    """What the owner (or, after escalation, the fallback owner) submits."""

    model_config = ConfigDict(extra="forbid")

    reviewer: NonBlank = Field(description="Who reviews (name or e-mail); recorded in the signed decision")
    decisions: list[PrincipalDecision] = Field(default_factory=list)


# --- the campaign -------------------------------------------------------------------------------------


def principals_of_run(store: EvidenceStore, run_id: str) -> pd.DataFrame:
    """The IAM principals a sealed run collected; MissingObjectError when it collected none."""
    return pd.read_parquet(io.BytesIO(store.get_bytes(run_key(run_id, f"{EVIDENCE}/{PRINCIPALS}.parquet"))))


def latest_principals(store: EvidenceStore) -> tuple[str, pd.DataFrame]:
    """The newest sealed run that collected IAM principals, and its table (decision runs are skipped)."""
    for run_id in reversed(store_run_ids(store)):
        if not store.exists(run_key(run_id, MANIFEST)) or is_decision_run(store, run_id):
            continue
        try:
            return run_id, principals_of_run(store, run_id)
        except MissingObjectError:
            continue
    raise ReviewError(f"no sealed run with {PRINCIPALS} in {store.location}: run the nightly compliance flow first")


def principals_by_owner(frame: pd.DataFrame, fallback_owner: str) -> dict[str, list[Principal]]:
    """Each owner's principals, admins first; a principal without an owner goes to the fallback owner."""
    found: dict[str, list[Principal]] = {}
    for row in frame.to_dict("records"):
        owner = str(row.get("owner") or "").strip() or fallback_owner
        found.setdefault(owner, []).append(
            Principal(
                arn=str(row["resource_arn"]),
                name=str(row.get("resource_name") or ""),
                type=str(row.get("resource_type") or ""),
                account=str(row.get("account") or ""),
                groups=str(row.get("groups") or ""),
                attached_policies=str(row.get("attached_policies") or ""),
                inline_policies=str(row.get("inline_policies") or ""),
                is_admin=bool(row.get("is_admin")) if row.get("is_admin") is not None else False,
                last_activity=str(row.get("last_activity") or ""),
            )
        )
    return {
        owner: sorted(items, key=lambda p: (not p.is_admin, p.name, p.arn)) for owner, items in sorted(found.items())
    }


def campaign_id(flow_run_id: str, started: datetime) -> str:
    return f"AR-{started:%Y%m%d}-{flow_run_id.replace('-', '')[:8] or 'local'}"


def form_defaults(principals: list[Principal]) -> list[dict[str, str]]:
    """The form starts with one `keep` line per principal: the owner changes what must change."""
    return [{"principal": p.arn, "action": "keep", "reassign_to": "", "comment": ""} for p in principals]


def review_record(
    *,
    campaign: str,
    owner: str,
    evidence_run: str,
    principals: list[Principal],
    answer: ReviewAnswer,
    decided_at: datetime,
    flow_run_id: str = "",
) -> dict[str, Any]:
    """The decision to seal: one item per reviewed principal, with the access it had when reviewed.

    The review is complete when every principal has a decision; lines naming other principals are
    recorded as ignored, and a reassign without a new owner is kept as is, with a note.
    """
    by_arn = {p.arn: p for p in principals}
    answered = {}
    notes = []
    for line in answer.decisions:
        if line.principal not in by_arn:
            notes.append(f"{line.principal}: not one of this review's principals; ignored")
            continue
        if line.action == "reassign" and not line.reassign_to.strip():
            notes.append(f"{line.principal}: reassign without a new owner; kept")
            line = line.model_copy(update={"action": "keep"})
        answered[line.principal] = line
    items = [
        {
            "principal": p.arn,
            "name": p.name,
            "type": p.type,
            "account": p.account,
            "access": p.access(),
            "is_admin": p.is_admin,
            "action": answered[p.arn].action,
            "reassign_to": answered[p.arn].reassign_to.strip(),
            "comment": answered[p.arn].comment.strip(),
        }
        for p in principals
        if p.arn in answered
    ]
    missing = [p.arn for p in principals if p.arn not in answered]
    return {
        "campaign": campaign,
        "owner": owner,
        "reviewer": answer.reviewer,
        "decided_at": decided_at.isoformat(),
        "evidence_run": evidence_run,
        "flow_run_id": flow_run_id,
        "complete": not missing,
        "missing": missing,
        "items": items,
        "notes": notes,
    }


# --- what the records say today -------------------------------------------------------------------


@dataclass
class ReviewState:
    """The sealed campaigns and reviews, read once per run."""

    campaigns: list[SealedDecision] = field(default_factory=list)
    reviews: list[SealedDecision] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def last_completed(self, owner: str) -> dict[str, Any] | None:
        done = [r.record for r in self.reviews if r.record.get("owner") == owner and r.record.get("complete")]
        return max(done, key=lambda r: r["decided_at"]) if done else None

    def pending(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(campaign, review entry) of the newest campaign's reviews without a sealed answer yet."""
        if not self.campaigns:
            return []
        campaign = max((c.record for c in self.campaigns), key=lambda c: c["started_at"])
        answered = {r.record.get("owner") for r in self.reviews if r.record.get("campaign") == campaign["campaign"]}
        return [(campaign, entry) for entry in campaign.get("reviews", []) if entry["owner"] not in answered]


def load_state(store: EvidenceStore) -> ReviewState:
    campaigns, problems = sealed_decisions(store, CAMPAIGN_KIND)
    reviews, more = sealed_decisions(store, REVIEW_KIND)
    return ReviewState(campaigns, reviews, problems + more)


def _base_row(account: str, region: str, arn: str, rtype: str, rid: str, name: str, owner: str) -> dict[str, Any]:
    return {
        "account": account,
        "region": region,
        "resource_arn": arn,
        "resource_type": rtype,
        "resource_id": rid,
        "resource_name": name,
        "tags": "{}",
        "owner": owner,
    }


def review_tables(
    principals_now: pd.DataFrame,
    state: ReviewState,
    settings: AccessReviewSettings,
    fallback_owner: str,
    region: str,
    now: datetime,
) -> dict[str, pd.DataFrame]:
    """The two evidence tables of this run, from its own principals and the sealed review records."""
    today = now.date()
    reviews = []
    current = principals_by_owner(principals_now, fallback_owner) if not principals_now.empty else {}
    pending = {entry["owner"]: campaign for campaign, entry in state.pending()}
    for owner, principals in current.items():
        for account in sorted({p.account for p in principals}):
            done = state.last_completed(owner)
            decided = datetime.fromisoformat(done["decided_at"]).date() if done else None
            days = (today - decided).days if decided else None
            waiting = pending.get(owner)
            reviews.append(
                {
                    **_base_row(
                        account,
                        region,
                        f"arn:aws:iam::{account}:root",
                        "AccessReview",
                        f"{account}/access-review/{owner}",
                        f"access review of {owner}",
                        owner,
                    ),
                    "principals": sum(1 for p in principals if p.account == account),
                    "last_review_completed": decided.isoformat() if decided else "",
                    "days_since_review": days,
                    "review_current": days is not None and days <= settings.interval_days,
                    "reviewer": done["reviewer"] if done else "",
                    "review_pending_since": waiting["started_at"][:10] if waiting else "",
                }
            )
    revocations = []
    by_arn = {str(r["resource_arn"]): r for r in principals_now.to_dict("records")} if not principals_now.empty else {}
    collected_accounts = {str(a) for a in principals_now.get("account", pd.Series(dtype=str)).unique()}
    for arn, (record, item) in sorted(_standing_revocations(state).items()):
        if item["account"] not in collected_accounts:
            continue  # not collected by this run (another scope): nothing to judge
        now_row = by_arn.get(arn)
        remaining = []
        if now_row is not None:
            had = item["access"]
            remaining = sorted(
                f"{f}:{name}" for f in ACCESS_FIELDS for name in set(had.get(f, [])) & set(_names(now_row.get(f)))
            )
        revocations.append(
            {
                **_base_row(item["account"], region, arn, item["type"], arn, item["name"], record["owner"]),
                "revoked_on": record["decided_at"][:10],
                "reviewer": record["reviewer"],
                "campaign": record["campaign"],
                "principal_exists": now_row is not None,
                "still_has_access": bool(remaining),
                "remaining_access": ", ".join(remaining),
            }
        )
    return {
        REVIEWS_TABLE: _frame(reviews, REVIEW_COLUMNS),
        REVOCATIONS_TABLE: _frame(revocations, REVOCATION_COLUMNS),
    }


def _standing_revocations(state: ReviewState) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Principal ARN → (review, item) of its newest decision, kept only when that decision is revoke."""
    newest: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for review in sorted((r.record for r in state.reviews), key=lambda r: r["decided_at"]):
        for item in review.get("items", []):
            newest[item["principal"]] = (review, item)
    return {arn: pair for arn, pair in newest.items() if pair[1]["action"] == "revoke"}


REVIEW_COLUMNS = (
    "principals",
    "last_review_completed",
    "days_since_review",
    "review_current",
    "reviewer",
    "review_pending_since",
)
REVOCATION_COLUMNS = (
    "revoked_on",
    "reviewer",
    "campaign",
    "principal_exists",
    "still_has_access",
    "remaining_access",
)
_BASE = ("account", "region", "resource_arn", "resource_type", "resource_id", "resource_name", "tags", "owner")


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*_BASE, *columns])
    if "days_since_review" in frame:
        frame["days_since_review"] = frame["days_since_review"].astype("Int64")
    return frame


#: The principals' columns the review tables read: a gap on any of them leaves the tables unknown.
REVIEW_INPUTS = frozenset({"resource_arn", "tags", "owner", *ACCESS_FIELDS})


def with_review_inputs(tables: set[str]) -> set[str]:
    """The tables to collect: the review tables are derived from the run's principals, so those too."""
    return tables | {PRINCIPALS} if tables & {REVIEWS_TABLE, REVOCATIONS_TABLE} else tables


def derive_review_tables(
    tables: dict[str, pd.DataFrame], state: ReviewState, config: Config, now: datetime
) -> dict[str, pd.DataFrame]:
    """Both review tables for a run whose `tables` already have owners; `owner_source` says where from."""
    principals = tables.get(PRINCIPALS, pd.DataFrame())
    derived = review_tables(
        principals, state, config.access_review, config.owners.fallback_owner, config.scope.global_region, now
    )
    for frame in derived.values():
        frame["owner_source"] = pd.Series(["access-review"] * len(frame), dtype="str")
    return derived


def derived_gaps(gaps: list[EvidenceGap]) -> list[EvidenceGap]:
    """A gap in the run's principals is a gap in both review tables: no PASS on evidence not collected."""
    return [
        EvidenceGap(
            account=g.account,
            region=g.region,
            service="access-reviews",
            tables=(REVIEWS_TABLE, REVOCATIONS_TABLE),
            operation=g.operation,
            error_code=g.error_code,
            message=f"{PRINCIPALS} not collected: {g.message}",
            resource_id=None,
            columns=(),
        )
        for g in gaps
        if PRINCIPALS in g.tables and g.resource_id is None and g.affects(REVIEW_INPUTS)
    ]
