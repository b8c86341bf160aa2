"""What owners read: one Block Kit digest per owner, sections by change, grouped by control, safe and in limits."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date
from pathlib import Path

from complyflow.core.config import Config, ExceptionEntry
from complyflow.core.model import Status
from tasks.notify.blocks import MAX_BLOCKS, SECTION_TEXT_LIMIT
from tasks.notify.outbox import Outbox
from tests.notify.conftest import T0, FindingFactory, all_text, digest_posts, notify, tuned
from tests.support.slack_double import SlackDouble, block_problem

FLOW_RUN = "https://prefect.example/runs/flow-run/abc"


def test_one_digest_per_owner_with_every_section_grouped_by_control(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    vendor = config.control("kms-key-rotation").model_copy(
        update={
            "id": "vendor-review-due",
            "title": "Vendor review falls due",
            "severity": "informational",
            "remediation": "Schedule the annual review with the vendor owner.",
        }
    )
    config = config.model_copy(update={"controls": [*config.controls, vendor]})
    lapsed_finding = finding(
        "s3-bucket-sse-kms",
        "legacy-bucket",
        observed="sse_algorithm = AES256",
        message="exception EXC-9 lapsed on 2026-10-01",
    )
    exception = ExceptionEntry(
        id="EXC-9",
        control="s3-bucket-sse-kms",
        resource="arn:aws:s3:::legacy-bucket",
        justification="migration",
        approver="ciso@example.com",
        approval_date=date(2026, 1, 1),
        expiry_date=date(2026, 10, 1),
    )
    findings = [
        finding(name="bucket-a"),
        finding(name="bucket-b"),
        finding("s3-bucket-default-encryption", "bucket-c", observed="sse_algorithm = missing"),
        lapsed_finding,
        finding(
            "s3-bucket-tls-only",
            "bucket-d",
            status=Status.ERROR,
            observed="tls_only_policy = missing",
            message="evidence missing: GetBucketPolicy AccessDenied",
        ),
        dataclasses.replace(
            finding(name="acme-corp"),
            control_id="vendor-review-due",
            severity="informational",
            control_title="Vendor review falls due",
            observed="days_to_review = 12",
            expected="days_to_review > 30",
        ),
        finding("iam-user-console-mfa", "bob", owner="ml-research", observed="mfa_active = False"),
        finding(name="bucket-ok", status=Status.PASS),
    ]
    result = notify(config, tmp_path, findings, "run-1", T0, lapsed=[(lapsed_finding, exception)], url=FLOW_RUN)
    assert result.digests == 2
    posts = {p["channel"]: p for p in digest_posts(slack)}
    assert set(posts) == {"#data-eng", "#ml-research"}
    text = all_text(posts["#data-eng"])
    assert (
        text.index("*New violations* (3)")
        < text.index("*Lapsed exceptions* (1)")
        < text.index("*Evidence gaps*")
        < text.index("*Reminders* (1)")
    )
    # grouped by control: the TLS control heads its two buckets, with the catalog's remediation
    tls = config.control("s3-bucket-tls-only")
    assert text.count(f"*{tls.title}*") == 2  # once under new violations, once under evidence gaps
    assert f"_To fix:_ {tls.remediation}" in text
    assert (
        "• `bucket-a` · us-east-1 · 123456789012\n      observed `tls_only_policy = False` · expected "
        "`tls_only_policy = True`" in text
    )
    assert "exception `EXC-9` expired 2026-10-01, approved by ciso@example.com" in text
    assert "evidence missing: GetBucketPolicy AccessDenied" in text
    assert "Schedule the annual review with the vendor owner." in text and "`acme-corp`" in text
    assert "bucket-ok" not in text
    assert f"<{FLOW_RUN}|flow run>" in text
    assert posts["#data-eng"]["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "emoji": True, "text": "Compliance digest: data-eng"},
    }
    assert "3 new violations, 1 lapsed exception, 1 new evidence gap, 1 new reminder" in text
    assert "bob" in all_text(posts["#ml-research"]) and "bucket-a" not in all_text(posts["#ml-research"])

    [summary] = [
        p
        for p in slack.posts
        if p["channel"] == "#compliance" and p["metadata"]["event_payload"]["message_id"].endswith("/summary")
    ]
    summary_text = all_text(summary)
    assert "*Posture:* 12.5 % compliant (1 of 8 checks pass)" in summary_text
    assert "PASS: *1* · FAIL: *6* · ERROR: *1* · EXCEPTED: *0*" in summary_text
    assert "• data-eng: 6 open → #data-eng\n• ml-research: 1 open → #ml-research" in summary_text

    # the approver hears of the lapse too, once, in a notice that names the exception and the owner
    [notice] = [p for p in slack.posts if "/approver/" in p["metadata"]["event_payload"]["message_id"]]
    notice_text = all_text(notice)
    assert "Exceptions you approved have lapsed" in notice_text
    assert "`EXC-9`" in notice_text and "`legacy-bucket`" in notice_text and "owner data-eng" in notice_text
    assert notice["metadata"]["event_payload"]["message_id"] == "run-1/approver/ciso@example.com"
    again = notify(config, tmp_path, findings, "run-2", T0, lapsed=[(lapsed_finding, exception)], url=FLOW_RUN)
    assert again.new == 0
    assert len([p for p in slack.posts if "/approver/" in p["metadata"]["event_payload"]["message_id"]]) == 1

    # the outbox keeps the structured items next to the blocks
    records = {r["id"]: r for r in Outbox(Path(result.outbox_file)).records if r["kind"] == "message"}
    items = records["run-1/001"]["items"]
    assert {(i["control_id"], i["resource_name"], i["category"]) for i in items} >= {
        ("s3-bucket-sse-kms", "legacy-bucket", "lapsed"),
        ("s3-bucket-tls-only", "bucket-d", "gap"),
        ("vendor-review-due", "acme-corp", "reminder"),
    }


HOSTILE = "<!channel> & <https://evil.example|click here> *bold* `tick`\n> fake quote\u202egnp.exe"


def test_hostile_names_and_tags_cannot_ping_link_or_break_the_layout(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    hostile_owner = "<!here> <@U0BOSS> team"
    findings = [
        finding(name=HOSTILE, observed=f"tls_only_policy = {HOSTILE}"),
        finding(name="bucket-b", owner=hostile_owner, owner_route="tag:owner"),
    ]
    notify(config, tmp_path, findings, "run-1", T0, url=FLOW_RUN)
    texts = [all_text(p) for p in slack.posts]
    for text in texts:
        # every `<` left is markup we wrote: the flow-run link (no mentions are configured here)
        assert re.findall(r"<(?!https://prefect\.example/)", text) == []
        assert "\u202e" not in text
    joined = "\n".join(texts)
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click here&gt;" in joined
    assert "&lt;!here&gt; &lt;@U0BOSS&gt; team" in joined
    assert "\n> fake quote" not in joined  # the newline inside the name cannot start a quote line
    assert "ˋtickˋ" in joined  # a backtick cannot close the code span early
    [fallback] = [p for p in digest_posts(slack) if p["channel"] == "#compliance"]  # an unknown owner
    header = fallback["blocks"][0]
    assert header["text"] == {"type": "plain_text", "emoji": True, "text": "Compliance digest: ‹!here› ‹@U0BOSS› team"}


def test_oversized_values_are_clipped(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    notify(config, tmp_path, [finding(name="&" * 10_000, observed="x" * 50_000)], "run-1", T0)
    [post] = digest_posts(slack)
    assert block_problem(post["blocks"]) is None
    assert len(json.dumps(post["blocks"])) < 4000


def test_an_oversized_digest_is_split_within_slack_limits_and_nothing_is_dropped(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    config = tuned(shipped_config, max_items_per_control=1000)
    controls = ("s3-bucket-tls-only", "s3-bucket-sse-kms", "s3-bucket-default-encryption")
    findings = [finding(controls[i % 3], f"bucket-{i:04d}-" + "n" * 140) for i in range(400)]
    result = notify(config, tmp_path, findings, "run-1", T0)
    parts = digest_posts(slack)
    assert result.pending == 0 and len(parts) > 3  # the double rejects anything Slack would reject
    for post in parts:
        assert len(post["blocks"]) <= MAX_BLOCKS
        assert all(len(b.get("text", {}).get("text", "")) <= SECTION_TEXT_LIMIT for b in post["blocks"])
    root, rest = parts[0], parts[1:]
    assert all(p["thread_ts"] == root["ts"] for p in rest)
    assert parts[0]["blocks"][0]["text"]["text"] == f"Compliance digest: data-eng (part 1 of {len(parts)})"
    shown = re.findall(r"`(bucket-\d{4})-n+…?`", "\n".join(all_text(p) for p in parts))
    assert sorted(shown) == sorted(f"bucket-{i:04d}" for i in range(400))  # each exactly once
    records = [r for r in Outbox(Path(result.outbox_file)).records if r["kind"] == "message"]
    announced = [e["key"] for r in records for e in r["events"]]
    assert sorted(announced) == sorted(f.key for f in findings)
    state = json.loads((tmp_path / "notify" / "state.json").read_text())
    assert {v["thread"] for v in state["open"].values()} == {"run-1/001"}  # follow-ups go to the root


def test_long_lists_per_control_end_with_a_count_of_the_rest(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    config = tuned(shipped_config, max_items_per_control=5)
    findings = [finding(name=f"bucket-{i:02d}") for i in range(12)]
    result = notify(config, tmp_path, findings, "run-1", T0)
    [post] = digest_posts(slack)
    text = all_text(post)
    assert text.count("• `bucket-") == 5
    assert "… and 7 more; all are listed in findings.csv of run `run-1`" in text
    assert result.new == 12


def test_a_flow_run_url_that_is_not_http_is_not_linked(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    notify(config, tmp_path, [finding()], "run-1", T0, url="None/flow-runs/flow-run/123")
    for post in slack.posts:
        text = all_text(post)
        assert "no flow-run link (set PREFECT_UI_URL)" in text and "<None" not in text
