"""What owners hear about access reviews: the request with the form's link, reminders on a cadence,
escalation, and the recorded decision. Ids name the campaign, the owner and the step (and the reminder's
number), so each notice is queued once however often a run repeats (tasks/notify/notices.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from complyflow.core.config import AccessReviewSettings
from tasks.access_reviews import REVIEW_KIND, Principal, ReviewState
from tasks.notify.notices import Notice
from tasks.notify.text import code, safe


def request_notice(campaign: str, owner: str, principals: list[Principal], form_url: str) -> Notice:
    lines = [f"{len(principals)} principal(s) to keep, revoke or reassign:", *(p.line() for p in principals[:30])]
    if len(principals) > 30:
        lines.append(f"… and {len(principals) - 30} more in the form")
    return Notice(
        id=f"{REVIEW_KIND}/{campaign}/{owner}/request",
        to=owner,
        title=f"Access review {campaign}: your principals",
        lines=("\n".join(lines),),
        link_url=form_url,
        link_label="Review in Prefect",
        purpose=REVIEW_KIND,
    )


def pending_notices(
    state: ReviewState, settings: AccessReviewSettings, fallback_owner: str, now: datetime
) -> list[Notice]:
    """Reminders every `reminder_days` to the owner; once `escalate_after_days` have passed, the escalation
    owner is told (once) and reminded with the owner. Ids carry the reminder's number, so each is sent once."""
    notices = []
    escalate_to = settings.escalation_owner or fallback_owner
    for campaign, entry in state.pending():
        started = datetime.fromisoformat(campaign["started_at"])
        waited = now - started
        owner, url = entry["owner"], entry.get("form_url", "")
        rid = f"{REVIEW_KIND}/{campaign['campaign']}/{owner}"
        count = int(waited / timedelta(days=settings.reminder_days))
        escalated = waited >= timedelta(days=settings.escalate_after_days)
        line = f"Waiting since {started.date()} ({waited.days} day(s)) for {safe(owner)}'s review"
        if count >= 1:
            notices.append(
                Notice(
                    f"{rid}/reminder/{count}",
                    owner,
                    f"Reminder: access review {campaign['campaign']}",
                    (line,),
                    url,
                    "Review in Prefect",
                    purpose=f"{REVIEW_KIND}-reminder",
                )
            )
        if escalated:
            notices.append(
                Notice(
                    f"{rid}/escalation",
                    escalate_to,
                    f"Escalated: access review {campaign['campaign']} of {owner}",
                    (f"{line}; escalated after {settings.escalate_after_days} day(s). You may review in their place.",),
                    url,
                    "Review in Prefect",
                    purpose=f"{REVIEW_KIND}-escalation",
                )
            )
    return notices


def decision_notice(record: dict[str, Any], sealed_run: str) -> list[Notice]:
    """The owner is told what was recorded; a new owner of a reassigned principal is told too."""
    counts: dict[str, int] = {}
    for item in record["items"]:
        counts[item["action"]] = counts.get(item["action"], 0) + 1
    summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "nothing decided"
    rid = f"{REVIEW_KIND}/{record['campaign']}/{record['owner']}"
    notices = [
        Notice(
            f"{rid}/decision",
            record["owner"],
            f"Access review {record['campaign']} recorded",
            (
                f"{summary} by {safe(record['reviewer'])}; sealed in run {code(sealed_run)}"
                + ("" if record["complete"] else f"; *incomplete*: {len(record['missing'])} principal(s) undecided"),
            ),
            purpose=REVIEW_KIND,
        )
    ]
    for new_owner in sorted({i["reassign_to"] for i in record["items"] if i["action"] == "reassign"}):
        names = [i["name"] for i in record["items"] if i["action"] == "reassign" and i["reassign_to"] == new_owner]
        notices.append(
            Notice(
                f"{rid}/reassigned/{new_owner}",
                new_owner,
                f"Principals reassigned to you by {record['owner']}",
                (", ".join(code(n) for n in names) + ": tag them with your owner tag so the next review is yours",),
                purpose=REVIEW_KIND,
            )
        )
    return notices
