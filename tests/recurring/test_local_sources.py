"""Folders and registers on disk: verdicts at the edges, gaps that are ERROR, and nothing read outside the folder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.recurring.support import NOW, collect, evaluate, row, statuses, task, write_tasks


def folder(configs: Path, name: str, files: dict[str, bytes | str]) -> dict[str, str]:
    path = configs / "evidence-docs" / name
    path.mkdir(parents=True, exist_ok=True)
    for file_name, body in files.items():
        (path / file_name).write_bytes(body.encode() if isinstance(body, str) else body)
    return {"kind": "folder", "path": f"evidence-docs/{name}"}


def test_current_due_today_and_overdue_folders(config_dir: Path) -> None:
    write_tasks(
        config_dir,
        [
            task("current", folder(config_dir, "current", {"2026-06-01-minutes.md": "m", "2026-05-01-old.md": "o"})),
            task("due-today", folder(config_dir, "due", {"2026-05-16-drill.md": "d"})),  # + 30 days = today
            task("grace-end", folder(config_dir, "grace", {"2026-05-11-drill.md": "d"})),  # due 06-10, grace to 06-15
            task("late", folder(config_dir, "late", {"2026-05-10-drill.md": "d"})),  # grace ended yesterday
        ],
    )
    result = collect(config_dir)
    assert not result.gaps
    found = statuses(evaluate(config_dir, result))
    assert found == {
        "recurring-current": "PASS",
        "recurring-current-due-soon": "PASS",
        "recurring-due-today": "PASS",
        "recurring-due-today-due-soon": "REMINDER",
        "recurring-grace-end": "PASS",
        "recurring-grace-end-due-soon": "REMINDER",
        "recurring-late": "FAIL",  # the reminder does not apply once overdue
    }
    current = row(result, "current")
    assert (current["last_evidence_date"], current["evidence_date_basis"]) == ("2026-06-01", "file name")
    assert current["evidence_sha256"] == hashlib.sha256(b"m").hexdigest()
    assert (
        current["evidence_copy"]
        == f"evidence/documents/current/{current['evidence_sha256'][:12]}-2026-06-01-minutes.md"
    )
    assert [d.path for d in result.documents if "/current/" in d.path] == [current["evidence_copy"]]
    late = row(result, "late")
    assert (late["due_date"], late["grace_end"], late["due_in_days"], late["days_overdue"]) == (
        "2026-06-09",
        "2026-06-14",
        -6,
        1,
    )


def test_findings_go_to_the_task_owner(config_dir: Path) -> None:
    write_tasks(config_dir, [task("late", folder(config_dir, "late", {"2026-01-01.md": "x"}), owner="data-eng")])
    (finding,) = [f for f in evaluate(config_dir, collect(config_dir)) if f.control_id == "recurring-late"]
    assert (finding.owner, finding.owner_route, str(finding.status)) == ("data-eng", "tag:owner", "FAIL")
    assert "last_evidence_date = 2026-01-01" in finding.observed


def test_missing_folder_is_an_error_never_a_pass(config_dir: Path) -> None:
    write_tasks(
        config_dir,
        [
            task("gone", {"kind": "folder", "path": "nowhere"}),
            task("ok", folder(config_dir, "ok", {"2026-06-10.md": "x"})),
        ],
    )
    result = collect(config_dir)
    (gap,) = result.gaps
    assert gap.resource_id == "recurring:gone" and "nowhere: evidence folder not found" in gap.message
    found = evaluate(config_dir, result)
    assert statuses(found) == {
        "recurring-gone": "ERROR",
        "recurring-gone-due-soon": "ERROR",
        "recurring-ok": "PASS",
        "recurring-ok-due-soon": "PASS",
    }


def test_an_empty_folder_is_a_failure_not_an_error(config_dir: Path) -> None:
    write_tasks(config_dir, [task("never", folder(config_dir, "never", {}))])
    result = collect(config_dir)
    assert not result.gaps and not result.documents
    assert row(result, "never")["evidence_found"] is False
    assert statuses(evaluate(config_dir, result)) == {"recurring-never": "FAIL"}


def test_undated_future_and_hidden_files_are_not_evidence(config_dir: Path) -> None:
    source = folder(
        config_dir,
        "mixed",
        {
            "minutes.md": "undated",
            "2026-07-01-planned.md": "future",
            ".2026-06-14-draft.md": "hidden",
            "2026-01-01.md": "x",
        },
    )
    write_tasks(config_dir, [task("mixed", source)])
    facts = row(collect(config_dir), "mixed")
    assert (facts["last_evidence_date"], facts["documents_found"], facts["ignored_files"]) == ("2026-01-01", 1, 3)


def test_modification_time_only_when_the_task_allows_it(config_dir: Path) -> None:
    source = folder(config_dir, "mtime", {"minutes.md": "undated"})
    stamp = NOW.timestamp() - 3 * 86400
    os.utime(config_dir / "evidence-docs" / "mtime" / "minutes.md", (stamp, stamp))
    write_tasks(config_dir, [task("strict", source), task("lenient", source, undated_files="modified_time")])
    result = collect(config_dir)
    assert row(result, "strict")["evidence_found"] is False
    lenient = row(result, "lenient")
    assert (lenient["last_evidence_date"], lenient["evidence_date_basis"]) == ("2026-06-12", "modified time")


def test_symlinks_are_never_followed(config_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not evidence", encoding="utf-8")
    source = folder(config_dir, "links", {"2026-01-01-minutes.md": "real"})
    base = config_dir / "evidence-docs" / "links"
    (base / "2026-06-14-minutes.md").symlink_to(outside / "secret.txt")
    (base / "2026-06-13-dir").symlink_to(outside, target_is_directory=True)
    (config_dir / "evidence-docs" / "escape").symlink_to(outside, target_is_directory=True)
    write_tasks(config_dir, [task("links", source), task("escape", {"kind": "folder", "path": "evidence-docs/escape"})])
    result = collect(config_dir)
    links = row(result, "links")
    assert (links["last_evidence_date"], links["ignored_files"]) == ("2026-01-01", 1)
    assert all(b"not evidence" not in d.data for d in result.documents)
    (gap,) = result.gaps
    assert gap.resource_id == "recurring:escape" and "outside the config directory" in gap.message


@pytest.mark.parametrize(
    "name",
    [
        "2026-06-10-<!channel> *minutes*.md",
        "2026-06-10-\u202egnp.exe",
        "2026-06-10\nfake line.md",
        "2026-06-10..%2e%2e..md",
        "-2026-06-10 =HYPERLINK(x).csv",
    ],
)
def test_hostile_file_names_are_copied_under_a_safe_name(config_dir: Path, name: str) -> None:
    write_tasks(config_dir, [task("hostile", folder(config_dir, "hostile", {name: "body"}))])
    result = collect(config_dir)
    facts = row(result, "hostile")
    assert facts["evidence_file"] == name  # the raw name is evidence (escaped where it is shown)
    (document,) = result.documents
    assert document.path == facts["evidence_copy"]
    assert document.path.startswith("evidence/documents/hostile/")
    tail = document.path.rsplit("/", 1)[1]
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in tail) and not tail.startswith(".")


def test_a_document_over_the_size_limit_is_dated_but_not_copied(config_dir: Path) -> None:
    source = folder(config_dir, "big", {"2026-06-10-recording.mp4": b"x" * 2000})
    write_tasks(config_dir, [task("big", source)], max_document_mb=0.001)  # 1048 bytes
    result = collect(config_dir)
    facts = row(result, "big")
    assert (facts["last_evidence_date"], facts["evidence_copy"], facts["evidence_bytes"]) == ("2026-06-10", None, 2000)
    assert "larger than 0.001 MB" in facts["note"]
    assert not result.documents
    assert statuses(evaluate(config_dir, result))["recurring-big"] == "PASS"


def test_several_documents_of_the_latest_date_are_copied_up_to_the_limit(config_dir: Path) -> None:
    files = {f"2026-06-10-part-{n}.md": f"part {n}" for n in range(5)} | {"2026-06-01-older.md": "old"}
    write_tasks(config_dir, [task("parts", folder(config_dir, "parts", files))], max_documents_per_task=3)
    result = collect(config_dir)
    assert [d.path.rsplit("-", 1)[1] for d in result.documents] == ["0.md", "1.md", "2.md"]


# --- registers -----------------------------------------------------------------------------------


def register(configs: Path, text: str, name: str = "register.csv") -> dict[str, str]:
    (configs / "registers").mkdir(exist_ok=True)
    (configs / "registers" / name).write_text(text, encoding="utf-8")
    return {"kind": "register", "path": f"registers/{name}"}


def test_register_newest_row_dates_the_task_and_its_local_link_is_copied(config_dir: Path) -> None:
    (config_dir / "registers").mkdir()
    (config_dir / "registers" / "v1.1.md").write_text("approved", encoding="utf-8")
    source = register(
        config_dir,
        "date,link,version\n2026-01-10,https://grc.example.com/v1,1.0\n2026-06-01,registers/v1.1.md,1.1\n"
        "2026-09-01,,planned\n",
    )
    write_tasks(config_dir, [task("log", source, cadence="annual")])
    result = collect(config_dir)
    facts = row(result, "log")
    assert facts["last_evidence_date"] == "2026-06-01"
    assert facts["evidence_date_basis"] == "register row (line 3)"
    assert (facts["documents_found"], facts["ignored_files"]) == (2, 1)  # the planned row is not evidence
    assert facts["evidence_sha256"] == hashlib.sha256(b"approved").hexdigest()
    assert sorted(d.path.rsplit("-", 1)[1] for d in result.documents) == ["register.csv", "v1.1.md"]


@pytest.mark.parametrize("link", ["../../etc/passwd", "/etc/passwd", "registers/missing.md", "s3://b/k"])
def test_register_links_outside_the_config_dir_are_not_read(config_dir: Path, link: str) -> None:
    write_tasks(config_dir, [task("log", register(config_dir, f"date,link\n2026-06-01,{link}\n"))])
    result = collect(config_dir)
    assert [d.path.rsplit("-", 1)[1] for d in result.documents] == ["register.csv"]
    assert row(result, "log")["evidence_link"] == link


def test_empty_register_is_a_failure(config_dir: Path) -> None:
    write_tasks(config_dir, [task("log", register(config_dir, "date,link\n"))])
    result = collect(config_dir)
    assert not result.gaps
    assert statuses(evaluate(config_dir, result)) == {"recurring-log": "FAIL"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "date,link\n2026-01-01,a\n2026-13-01,b\n",
            "registers/register.csv: line 3: field date: '2026-13-01' is not a date",
        ),
        ("date,link\n2026-01-01,a\n,b\n", "registers/register.csv: line 3: field date: empty"),
        ('date,link\n"2026-01-01","multi\nline"\n2026-02-01,a,extra\n', "registers/register.csv: line 4: more cells"),
        ("when,link\n2026-01-01,a\n", "registers/register.csv: line 1: column(s) date missing (found: when, link)"),
        ("", "registers/register.csv: line 1: column(s) date missing (found: no header row)"),
    ],
)
def test_malformed_register_is_an_error_naming_file_and_line(config_dir: Path, text: str, message: str) -> None:
    write_tasks(config_dir, [task("log", register(config_dir, text))])
    result = collect(config_dir)
    (gap,) = result.gaps
    assert message in gap.message
    assert set(statuses(evaluate(config_dir, result)).values()) == {"ERROR"}


def test_register_relative_dates_only_for_demo_registers(config_dir: Path) -> None:
    source = register(config_dir, "date\ntoday-10d\n")
    write_tasks(config_dir, [task("log", source)], relative_dates=True)
    assert row(collect(config_dir), "log")["last_evidence_date"] == "2026-06-05"
    write_tasks(config_dir, [task("log", source)])
    assert "'today-10d' is not a date" in collect(config_dir).gaps[0].message


# --- training export -----------------------------------------------------------------------------

COMPLETION = {"column": "status", "completed_values": ["Completed", "passed"], "min_rate": 0.95}


def export(configs: Path, body: str) -> dict[str, str]:
    return folder(configs, "hr", {"ai-training-2026-06-10.csv": body, "ai-training-2026-05-10.csv": "status\nx\n"})


@pytest.mark.parametrize(("completed", "verdict"), [(19, "PASS"), (18, "FAIL")])  # 95 % exactly passes
def test_training_completion_rate_threshold(config_dir: Path, completed: int, verdict: str) -> None:
    rows = ["completed"] * (completed - 1) + ["PASSED"] + [""] * (20 - completed)
    body = "employee,status\n" + "".join(f"e{n},{s}\n" for n, s in enumerate(rows))
    write_tasks(config_dir, [task("training", export(config_dir, body), completion=COMPLETION)])
    result = collect(config_dir)
    facts = row(result, "training")
    assert (facts["people_total"], facts["people_completed"]) == (20, completed)
    assert facts["evidence_file"] == "ai-training-2026-06-10.csv"
    assert statuses(evaluate(config_dir, result)) == {
        "recurring-training": "PASS",
        "recurring-training-due-soon": "PASS",
        "recurring-training-completion-rate": verdict,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("employee,state\ne1,completed\n", "ai-training-2026-06-10.csv: line 1: column(s) status missing"),
        ("employee,status\n", "the export lists nobody"),
        (b"employee,status\ne1,\xff\n", "not UTF-8"),
    ],
)
def test_unreadable_training_export_is_an_error(config_dir: Path, body: str | bytes, message: str) -> None:
    source = folder(config_dir, "hr", {"ai-training-2026-06-10.csv": body})
    write_tasks(config_dir, [task("training", source, completion=COMPLETION)])
    result = collect(config_dir)
    (gap,) = result.gaps
    assert message in gap.message
    assert set(statuses(evaluate(config_dir, result)).values()) == {"ERROR"}


def test_a_hostile_name_reaches_slack_and_html_escaped(config_dir: Path) -> None:
    from tasks.notify.text import code
    from tasks.report.html import esc

    name = "2026-01-01 <!channel> <script>x.md"
    write_tasks(config_dir, [task("hostile", folder(config_dir, "hostile", {name: "body"}))])
    (finding,) = [f for f in evaluate(config_dir, collect(config_dir)) if f.control_id == "recurring-hostile"]
    assert str(finding.status) == "FAIL" and name in finding.observed
    assert "<!channel>" not in code(finding.observed) and "&lt;!channel&gt;" in code(finding.observed)
    assert "<script>" not in esc(finding.observed)


def test_check_warns_about_local_sources_a_run_would_report_as_error(config_dir: Path) -> None:
    from tasks.check import check_config

    write_tasks(
        config_dir,
        [
            task("gone", {"kind": "folder", "path": "nowhere"}),
            task("log", register(config_dir, "date\n2026-02-30\n")),
            task("fine", folder(config_dir, "fine", {})),
            task("remote", {"kind": "s3", "uri": "s3://not-read-by-check/x/"}),
        ],
    )
    warnings = check_config(config_dir).warnings
    assert warnings == [
        "recurring task gone: configs/nowhere: evidence folder not found",
        "recurring task log: configs/registers/register.csv: line 2: field date: '2026-02-30' is not a date "
        "(YYYY-MM-DD)",
    ]


def test_a_symlinked_register_is_not_read(config_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere.csv").write_text("date\n2026-06-10\n", encoding="utf-8")
    (config_dir / "registers").mkdir()
    (config_dir / "registers" / "register.csv").symlink_to(tmp_path / "elsewhere.csv")
    write_tasks(config_dir, [task("log", {"kind": "register", "path": "registers/register.csv"})])
    result = collect(config_dir)
    (gap,) = result.gaps
    assert "a symlink or outside the config directory" in gap.message and not result.documents
