"""The HTML report: self-contained, every piece of resource text escaped, and the sections an auditor reads."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

from complyflow.core.model import EvidenceGap, Status
from tasks.exceptions import ExceptionOutcome, apply_exceptions
from tasks.report.html import line_chart, render_run_report, render_trend_report, sparkline_svg
from tasks.report.posture import framework_mapping, posture
from tasks.report.trend import RunPoint, Trend
from tests.report.factory import STARTED, control, entry, finding, register, summary

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
CONTROLS = [
    control("c-enc", frameworks={"iso27001": ["A.8.24"], "soc2": ["CC6.1"]}, severity="critical"),
    control("c-log", frameworks={"soc2": ["CC7.2"], "cis_aws": ["3.1"]}, severity="low"),
]
MAPPING = framework_mapping(CONTROLS)


class Tags(HTMLParser):
    """Every start tag and attribute the browser would see."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(text)
    return parser.tags


def render(
    findings: list,
    *,
    outcome: ExceptionOutcome | None = None,
    reg=None,
    gaps=(),
    trend: Trend | None = None,
    links=None,
) -> str:
    reg = reg or register()
    outcome = outcome or apply_exceptions(findings, reg, STARTED.date())
    run = summary(outcome.findings)
    current = posture(outcome.findings, MAPPING, [c.id for c in CONTROLS])
    trend = trend or Trend(points=[RunPoint(run.run_id, run.started_at, run.flow, current)])
    return render_run_report(
        summary=run,
        findings=outcome.findings,
        controls=CONTROLS,
        outcome=outcome,
        register=reg,
        gaps=list(gaps),
        current=current,
        trend=trend,
        links=links,
    )


def test_untrusted_text_is_escaped_everywhere() -> None:
    gap = EvidenceGap(
        account="111111111111",
        region="eu-west-1",
        service="s3",
        tables=("things",),
        operation="GetBucketPolicy",
        error_code="AccessDenied",
        message=EVIL,
        resource_id=EVIL,
    )
    findings = [
        finding("c-enc", Status.FAIL, EVIL, arn=f"arn:aws:s3:::{EVIL}", owner=EVIL, observed=f"ok = {EVIL}"),
        finding("c-log", Status.ERROR, "b", message=EVIL),
        finding("c-enc", Status.FAIL, "excepted-1", arn="arn:aws:s3:::excepted-1"),
    ]
    reg = register(entry(resource="arn:aws:s3:::excepted*"), entry("EXC-2", resource=EVIL))
    text = render(findings, reg=reg, gaps=[gap])
    assert "<script" not in text.lower()
    assert [t for t, a in tags(text) if t == "img" or any(k.startswith("on") for k in a)] == []
    assert text.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 6  # name, ARN, owner, observed, ...


def test_report_is_self_contained() -> None:
    text = render([finding("c-enc", Status.PASS)], links={"Findings (JSON)": "findings/findings.json"})
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'' in text
    for tag, attrs in tags(text):
        assert tag not in ("script", "link", "iframe", "object", "embed"), tag
        assert "src" not in attrs, (tag, attrs)
        href = attrs.get("href") or ""
        assert not href.startswith(("http:", "https:", "//")), href


def test_posture_per_framework_and_per_control() -> None:
    findings = [
        finding("c-enc", Status.PASS, "a"),
        finding("c-enc", Status.FAIL, "b"),
        finding("c-log", Status.ERROR, "c"),
    ]
    text = render(findings)
    framework_rows = re.findall(r"<tr><td>([^<]+)</td>((?:<td class=num>[^<]*</td>)+)", text)
    rows = {name: re.findall(r">([^<]*)<", cells)[::2] for name, cells in framework_rows}
    # controls, passing, failing, evidence missing, PASS, FAIL, ERROR, EXCEPTED, REMINDER, score
    assert rows["All controls"] == ["2", "0", "1", "1", "1", "1", "1", "0", "0", "33.3 %"]
    assert rows["ISO/IEC 27001:2022 Annex A"] == ["1", "0", "1", "0", "1", "1", "0", "0", "0", "50.0 %"]
    assert rows["SOC 2 TSC"] == ["2", "0", "1", "1", "1", "1", "1", "0", "0", "33.3 %"]
    assert rows["CIS AWS Foundations"] == ["1", "0", "0", "1", "0", "0", "1", "0", "0", "0.0 %"]
    assert "CIS AWS Foundations: 3.1" in text
    assert text.index("<code>c-enc</code>") < text.index("<code>c-log</code>")  # critical first


def test_violations_are_grouped_per_owner() -> None:
    findings = [
        finding("c-enc", Status.FAIL, "b1", owner="team-b"),
        finding("c-enc", Status.FAIL, "a1", owner="team-a"),
        finding("c-log", Status.FAIL, "a2", owner="team-a"),
        finding("c-enc", Status.PASS, "ok", owner="team-c"),
        finding("c-enc", Status.FAIL, "orphan", owner=""),
    ]
    text = render(findings)
    section = text[text.index("Violations per owner") : text.index("<h2>Exceptions")]
    owners = re.findall(r"<h3>([^<]+) <span class=muted>\((\d+)\)</span></h3>", section)
    assert owners == [("(no owner)", "1"), ("team-a", "2"), ("team-b", "1")]
    assert "team-c" not in section and ">ok<" not in section


def test_no_violations_is_said_plainly() -> None:
    assert "<h2>Violations per owner</h2><p>No violations.</p>" in render([finding("c-enc", Status.PASS)])


def test_exceptions_with_expiry_days_left_flags_and_lapses() -> None:
    today = STARTED.date()
    reg = register(
        entry("EXC-LIVE", resource="arn:aws:s3:::excepted*"),
        entry("EXC-SOON", resource="arn:aws:s3:::nothing*", expiry=date(2026, 12, 10)),
        entry("EXC-GONE", resource="arn:aws:s3:::lapsed*", expiry=date(2026, 11, 1)),
        entry("EXC-LATER", resource="arn:aws:s3:::x", approval=date(2027, 1, 1), expiry=date(2027, 6, 1)),
    )
    findings = [
        finding("c-enc", Status.FAIL, "excepted-1", arn="arn:aws:s3:::excepted-1"),
        finding("c-enc", Status.FAIL, "lapsed-1", arn="arn:aws:s3:::lapsed-1", owner="team-l"),
    ]
    outcome = apply_exceptions(findings, reg, today)
    text = render(findings, outcome=outcome, reg=reg)
    section = text[text.index("<h2>Exceptions") : text.index("<h2>Evidence gaps")]
    rows = {
        m[0]: m
        for m in re.findall(
            r"<tr><td><code>([^<]+)</code></td>.*?<td class=num>(-?\d+)</td><td>([^<]*)</td><td class=num>(\d+)</td>"
            r"<td>([^<]*)</td></tr>",
            section,
        )
    }
    assert rows["EXC-LIVE"][1:] == ("92", "live", "1", "")
    assert rows["EXC-SOON"][1:] == ("11", "live", "0", "expiring soon: review, unused")
    assert rows["EXC-GONE"][1:] == ("-28", "expired", "0", "lapsed")
    assert rows["EXC-LATER"][1:] == ("184", "not yet approved", "0", "")
    assert "Lapsed: violations again" in section and "team-l" in section
    assert "exception EXC-GONE lapsed" in text  # beside the violation, for its owner


def test_evidence_gaps_and_error_findings_are_listed() -> None:
    gap = EvidenceGap(
        account="111111111111",
        region="eu-west-1",
        service="s3",
        tables=("things",),
        operation="ListBuckets",
        error_code="AccessDenied",
        message="not authorized",
    )
    text = render([finding("c-enc", Status.ERROR, "b", message="evidence missing")], gaps=[gap])
    section = text[text.index("<h2>Evidence gaps") :]
    assert "1 collection gap(s); 1 ERROR finding(s)" in section
    assert "<td>ListBuckets</td><td>AccessDenied</td><td>whole scope</td>" in section
    assert "<h3>Findings without evidence (ERROR)</h3>" in section
    clean = render([finding("c-enc", Status.PASS)])
    assert "None: every applicable resource was verified." in clean


def test_trend_chart_appears_from_the_second_run() -> None:
    one = render([finding("c-enc", Status.PASS)])
    assert "The trend appears from the second sealed run; 1 run(s) so far." in one
    earlier = RunPoint(
        "R0",
        datetime(2026, 11, 28, 2, tzinfo=UTC),
        "nightly",
        posture([finding("c-enc", Status.FAIL)], MAPPING, ["c-enc"]),
    )
    now = RunPoint("R1", STARTED, "nightly", posture([finding("c-enc", Status.PASS)], MAPPING, ["c-enc"]))
    text = render([finding("c-enc", Status.PASS)], trend=Trend(points=[earlier, now]))
    assert "<h2>Trend per framework</h2>" in text
    assert text.count("<svg") >= 2  # the chart and the sparkline of c-enc
    assert "<title>ISO/IEC 27001:2022 Annex A · 2026-11-28 02:00: 0.0 %</title>" in text
    assert "<title>ISO/IEC 27001:2022 Annex A · 2026-11-29 02:00: 100.0 %</title>" in text


def test_line_chart_draws_gaps_as_gaps_and_escapes_names() -> None:
    svg = line_chart({"<b>": [10.0, None, 30.0, 40.0]}, ["a", "b", "c", "d"], title="t")
    assert svg.count("<polyline") == 2  # the missing score splits the line: [10] and [30, 40]
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    assert svg.count("<circle") == 3
    assert sparkline_svg([None, None]) == ""
    assert sparkline_svg([50.0]).count("<circle") == 1


def test_links_to_the_run_files_are_relative() -> None:
    text = render([finding("c-enc", Status.PASS)], links={"Data Docs": "gx-docs/index.html"})
    assert '<a href="gx-docs/index.html">Data Docs</a>' in text


def test_trend_report_lists_frameworks_controls_and_skipped_runs() -> None:
    points = [
        RunPoint(
            f"R{i}",
            datetime(2026, 11, 20 + i, tzinfo=UTC),
            "nightly",
            posture([finding("c-enc", s), finding("c-log", Status.PASS)], MAPPING, ["c-enc", "c-log"]),
        )
        for i, s in enumerate((Status.FAIL, Status.PASS, Status.PASS))
    ]
    text = render_trend_report(
        Trend(points=points, skipped=[("R-x", "<not sealed>")]), CONTROLS, since=date(2026, 11, 1)
    )
    assert "<h1>Compliance posture since 2026-11-01</h1>" in text
    assert "3 sealed run(s), 2026-11-20 00:00 to 2026-11-22 00:00" in text
    row = re.search(r"<code>c-enc</code><br>Title of c-enc</td>(.*?)</tr>", text)
    assert row is not None
    assert re.findall(r"<td class=num>([^<]*)</td>", row.group(1)) == ["3", "0.0 %", "100.0 %", "+100.0", "0.0 %"]
    assert "&lt;not sealed&gt;" in text
    empty = render_trend_report(Trend(), CONTROLS, since=date(2026, 11, 1))
    assert "No sealed runs in this period." in empty
