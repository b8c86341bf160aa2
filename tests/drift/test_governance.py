"""Governance records of the model inventory (AI Security Policy 2.2, 3.1, 3.4, 7.1-7.4): schema, facts and
the verdicts of each model-* governance control at its edges (boundary days, future dates, missing records,
lifecycle and risk-tier applicability), decided by GX on evidence collected as in a run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from complyflow.cli import app
from complyflow.core.config import ConfigError
from tasks.collect.model_drift import COLLECTOR
from tasks.drift.governance import DayOffset, Governance, GovernanceDefaults, governance_facts
from tasks.drift.inventory import load_inventory
from tests.drift.support import collect, evaluate, model_configs

DEFAULTS: dict[str, Any] = {
    "thresholds": {"psi_max": 0.2, "ks_pvalue_min": 0.01, "constraint_violations_max": 0},
    "psi_bins": 10,
}
#: The collection time of every verdict test: late on 2 December 2026 (UTC).
AS_OF = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
TODAY = AS_OF.date()


def ago(days: int) -> str:
    """A calendar date `days` before the collection day (negative: after it)."""
    return (TODAY - timedelta(days=days)).isoformat()


def _write(folder: Path, models: list[dict], **top: Any) -> Path:
    data = {"defaults": top.pop("defaults", DEFAULTS), "models": models, **top}
    (folder / "models.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder


def _model(model_id: str, status: str | None = "production", tier: str | None = "high", **governance: Any) -> dict:
    entry: dict[str, Any] = {"id": model_id, "owner": "data-eng", "purpose": "p"}
    if status:
        entry["status"] = status
    if tier:
        entry["risk_tier"] = tier
    if governance:
        entry["governance"] = governance
    return entry


# --- schema ---------------------------------------------------------------------------------------


def test_records_take_a_bare_date_an_iso_string_or_a_mapping_with_a_link(tmp_path: Path) -> None:
    inventory = load_inventory(
        _write(
            tmp_path,
            [
                _model(
                    "m",
                    risk_assessment=date(2026, 3, 1),
                    pia="2026-02-10",
                    ethics_approval={"date": "2026-01-15", "link": "minutes/eb-2026-01.pdf"},
                    fairness_report={"date": date(2026, 10, 1), "max_age_days": 90},
                )
            ],
        )
    )
    g = inventory.models[0].governance
    assert g is not None
    assert (g.risk_assessment.date, g.risk_assessment.link) == (date(2026, 3, 1), None)
    assert g.pia.date == date(2026, 2, 10)
    assert (g.ethics_approval.date, g.ethics_approval.link) == (date(2026, 1, 15), "minutes/eb-2026-01.pdf")
    assert g.fairness_report.max_age_days == 90
    assert inventory.defaults.governance == GovernanceDefaults()  # the policy's 12 months when not stated
    assert GovernanceDefaults().risk_assessment_max_age_days == 365


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-02-30", "'2026-02-30' is not a calendar date"),
        ("01/03/2026", "expected a date YYYY-MM-DD, got '01/03/2026'"),
        (20260301, "expected a date YYYY-MM-DD, got 20260301"),  # never a Unix timestamp
        (datetime(2026, 3, 1, 10, 0), "not a date and time"),
        ("", "expected a date YYYY-MM-DD, got ''"),
    ],
)
def test_a_malformed_date_is_a_config_error_naming_file_entry_and_field(
    tmp_path: Path, value: Any, message: str
) -> None:
    _write(tmp_path, [_model("fraud", risk_assessment={"date": value})])
    with pytest.raises(ConfigError) as error:
        load_inventory(tmp_path)
    text = str(error.value)
    assert f"{tmp_path / 'models.yaml'}: entry 'fraud': invalid" in text
    assert "field governance.risk_assessment.date" in text
    assert message in text


def test_relative_dates_only_where_the_file_opts_in(tmp_path: Path) -> None:
    _write(tmp_path, [_model("m", risk_assessment="today-30d", pia="today-400d")])
    with pytest.raises(ConfigError) as error:
        load_inventory(tmp_path)
    assert "entry 'm': invalid" in str(error.value)
    assert "field governance.risk_assessment.date: relative date 'today-30d' is only allowed with relative_dates" in (
        str(error.value)
    )
    _write(tmp_path, [_model("m", risk_assessment="today-30d", pia="today")], relative_dates=True)
    g = load_inventory(tmp_path).models[0].governance
    assert (g.risk_assessment.date, g.pia.date) == (DayOffset(-30), DayOffset(0))
    _write(tmp_path, [], relative_dates="yes")
    with pytest.raises(ConfigError, match="field relative_dates: expected true or false"):
        load_inventory(tmp_path)


@pytest.mark.parametrize(
    "link",
    [
        "https://wiki.example.com/models/fraud?version=3#limits",
        "http://intranet/model-cards/fraud",
        "s3://governance-docs/fraud/model-card.pdf",
        "model-cards/fraud.md",
        "../docs/model-cards/fraud.md",
        "EB-2026-04",
    ],
)
def test_links_are_urls_or_relative_paths(tmp_path: Path, link: str) -> None:
    inventory = load_inventory(_write(tmp_path, [_model("m", documentation=link, human_oversight=f" {link} ")]))
    assert inventory.models[0].governance.documentation == link
    assert inventory.models[0].governance.human_oversight == link  # surrounding spaces dropped


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("javascript:alert(1)", "only https://, http:// and s3:// URLs"),
        ("file:///etc/passwd", "only https://, http:// and s3:// URLs"),
        ("data:text/html;base64,PGI+", "only https://, http:// and s3:// URLs"),
        ("https://", "needs a host"),
        ("https://wiki.example.com/model card", "needs a host (or bucket) and no spaces"),
        ("/srv/docs/card.md", "not absolute"),
        ("C:\\docs\\card.md", "only https://, http:// and s3:// URLs"),
        ("docs\\card.md", "with '/'"),
        ("~/card.md", "not absolute"),
        ("   ", "must not be empty"),
        ("docs/card.md\nhttps://evil.example", "control or bidi characters"),
        ("docs/\u202egnp.md", "control or bidi characters"),
        ("docs/<script>alert(1)</script>.md", "must not contain <, >"),
        ("https://wiki.example.com/a`b", "must not contain <, >"),
        (42, "expected a link"),
    ],
)
def test_a_link_of_another_form_is_refused_and_never_fetched(tmp_path: Path, link: Any, message: str) -> None:
    _write(tmp_path, [_model("m", documentation=link)])
    with pytest.raises(ConfigError) as error:
        load_inventory(tmp_path)
    assert "field governance.documentation" in str(error.value)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("governance", "field"),
    [
        ({"risk_asessment": "2026-01-01"}, "governance.risk_asessment"),  # a typo is not a missing record
        ({"legal_basis": "because"}, "governance.legal_basis"),
        ({"personal_data": "maybe"}, "governance.personal_data"),
        ({"high_stakes": "true"}, "governance.high_stakes"),  # a quoted string is not a boolean
        ({"fairness_report": {"date": "2026-01-01", "max_age_days": "90"}}, "governance.fairness_report.max_age_days"),
        ({"fairness_report": {"date": "2026-01-01", "max_age_days": 400}}, "governance.fairness_report.max_age_days"),
        ({"pia": {"link": "docs/pia.md"}}, "governance.pia.date"),  # a record needs its date
        ({"ethics_approval": {"date": "2026-01-01", "approved_by": "x"}}, "governance.ethics_approval.approved_by"),
    ],
)
def test_strict_schema_names_the_field(tmp_path: Path, governance: dict, field: str) -> None:
    _write(tmp_path, [_model("m", **governance)])
    with pytest.raises(ConfigError, match=f"entry 'm': invalid(.|\n)*field {field}"):
        load_inventory(tmp_path)


def test_defaults_may_tighten_the_twelve_months_but_not_relax_them(tmp_path: Path) -> None:
    tightened = {**DEFAULTS, "governance": {"pia_max_age_days": 180}}
    assert load_inventory(_write(tmp_path, [], defaults=tightened)).defaults.governance.pia_max_age_days == 180
    relaxed = {**DEFAULTS, "governance": {"risk_assessment_max_age_days": 730}}
    with pytest.raises(ConfigError, match="field governance.risk_assessment_max_age_days"):
        load_inventory(_write(tmp_path, [], defaults=relaxed))


# --- facts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_ago", "status"),
    [(0, "current"), (1, "current"), (365, "current"), (366, "overdue"), (-1, "future-dated")],
)
def test_a_periodic_record_is_current_up_to_and_including_its_maximum_age(days_ago: int, status: str) -> None:
    governance = Governance.model_validate({"risk_assessment": ago(days_ago), "pia": ago(days_ago)})
    facts = governance_facts(governance, GovernanceDefaults(), TODAY)
    assert facts["risk_assessment_status"] == facts["pia_status"] == status
    assert facts["risk_assessment_age_days"] == days_ago
    assert facts["risk_assessment_date"] == ago(days_ago)


def test_missing_records_are_facts_not_unknowns() -> None:
    facts = governance_facts(None, GovernanceDefaults(), TODAY)
    assert facts["risk_assessment_status"] == facts["pia_status"] == facts["fairness_report_status"] == "missing"
    assert facts["ethics_approval_status"] == "missing"
    assert facts["documentation_status"] == facts["human_oversight_status"] == "missing"
    assert facts["risk_assessment_date"] is None and facts["risk_assessment_age_days"] is None  # no date: no age
    assert facts["personal_data"] is None and facts["high_stakes"] is None  # not declared
    assert facts["data_use_missing"] == "personal_data, data_purpose, legal_basis"


def test_fairness_uses_the_model_interval_else_the_default_and_approvals_do_not_expire() -> None:
    defaults = GovernanceDefaults(fairness_report_max_age_days=180)
    own = Governance.model_validate({"fairness_report": {"date": ago(91), "max_age_days": 90}})
    default = Governance.model_validate({"fairness_report": ago(180), "ethics_approval": ago(2000)})
    assert governance_facts(own, defaults, TODAY)["fairness_report_status"] == "overdue"
    assert governance_facts(own, defaults, TODAY)["fairness_report_max_age_days"] == 90
    facts = governance_facts(default, defaults, TODAY)
    assert (facts["fairness_report_status"], facts["fairness_report_max_age_days"]) == ("current", 180)
    assert (facts["ethics_approval_status"], facts["ethics_approval_age_days"]) == ("approved", 2000)
    future = Governance.model_validate({"ethics_approval": ago(-1)})
    assert governance_facts(future, defaults, TODAY)["ethics_approval_status"] == "future-dated"


@pytest.mark.parametrize(
    ("governance", "missing"),
    [
        ({"personal_data": True, "data_purpose": "d", "legal_basis": "consent"}, ""),
        ({"personal_data": False, "data_purpose": "d"}, ""),  # no personal data: no legal basis needed
        ({"personal_data": True, "data_purpose": "d"}, "legal_basis"),
        ({"data_purpose": "d", "legal_basis": "contract"}, "personal_data"),
        ({"data_purpose": "d"}, "personal_data, legal_basis"),  # undeclared counts as personal data
        ({"personal_data": False, "data_purpose": "   "}, "data_purpose"),  # blank is missing
    ],
)
def test_data_use_lists_what_3_1_asks_for_and_the_entry_lacks(governance: dict, missing: str) -> None:
    facts = governance_facts(Governance.model_validate(governance), GovernanceDefaults(), TODAY)
    assert facts["data_use_missing"] == missing


def test_relative_dates_resolve_against_the_collection_day() -> None:
    governance = Governance.model_validate({"risk_assessment": "today-366d", "pia": "today"})
    facts = governance_facts(governance, GovernanceDefaults(), TODAY)
    assert (facts["risk_assessment_status"], facts["risk_assessment_date"]) == ("overdue", ago(366))
    assert (facts["pia_status"], facts["pia_age_days"]) == ("current", 0)


# --- verdicts of the controls, collected and decided as in a run -----------------------------------


def _verdicts(tmp_path: Path, control: str, models: list[dict], as_of: datetime = AS_OF, **top: Any) -> dict:
    folder = _write(model_configs(tmp_path / "configs"), models, **top)
    findings = evaluate(control, folder, collect(COLLECTOR, folder, as_of=as_of))
    return {f.resource_name: f for f in findings}


def _status(findings: dict) -> dict[str, str]:
    return {name: str(f.status) for name, f in findings.items()}


@pytest.mark.usefixtures("aws")
def test_risk_assessment_before_deployment_and_within_12_months(tmp_path: Path) -> None:
    findings = _verdicts(
        tmp_path,
        "model-risk-assessment-current",
        [
            _model("exactly-365", risk_assessment=ago(365)),
            _model("366-days", risk_assessment=ago(366)),
            _model("today", status="staging", risk_assessment=ago(0)),
            _model("tomorrow", risk_assessment=ago(-1)),
            _model("none", status="staging"),
            _model("no-status", status=None),  # unknown status: judged as deployed, never skipped
            _model("in-development", status="development"),  # before deployment: not yet a violation
            _model("retired", status="retired", risk_assessment=ago(900)),
        ],
    )
    assert _status(findings) == {
        "exactly-365": "PASS",
        "366-days": "FAIL",
        "today": "PASS",
        "tomorrow": "FAIL",
        "none": "FAIL",
        "no-status": "FAIL",
    }
    assert findings["366-days"].observed == (
        f"risk_assessment_status = overdue; risk_assessment_date = {ago(366)}; risk_assessment_age_days = 366; "
        "risk_assessment_max_age_days = 365; lifecycle_status = production"
    )
    assert findings["366-days"].expected == "risk_assessment_status = 'current'"
    assert findings["tomorrow"].observed.startswith("risk_assessment_status = future-dated; ")
    assert findings["none"].observed.startswith("risk_assessment_status = missing; risk_assessment_date = missing")
    assert findings["none"].owner == "data-eng"  # the model owner


@pytest.mark.usefixtures("aws")
def test_the_collection_day_is_the_utc_date(tmp_path: Path) -> None:
    # 02:00 on 3 December in UTC+5 is still 2 December in UTC: 365 days, not 366.
    as_of = datetime.fromisoformat("2026-12-03T02:00:00+05:00")
    findings = _verdicts(
        tmp_path, "model-risk-assessment-current", [_model("boundary", risk_assessment=ago(365))], as_of=as_of
    )
    assert _status(findings) == {"boundary": "PASS"}


@pytest.mark.usefixtures("aws")
def test_data_use_documented_for_every_model_not_retired(tmp_path: Path) -> None:
    findings = _verdicts(
        tmp_path,
        "model-data-use-documented",
        [
            _model("complete", personal_data=True, data_purpose="d", legal_basis="contract"),
            _model("no-personal-data", status="development", personal_data=False, data_purpose="d"),
            _model("no-basis", personal_data=True, data_purpose="d"),
            _model("undeclared", status="development", data_purpose="d"),
            _model("nothing"),
            _model("retired", status="retired"),
        ],
    )
    assert _status(findings) == {
        "complete": "PASS",
        "no-personal-data": "PASS",
        "no-basis": "FAIL",
        "undeclared": "FAIL",
        "nothing": "FAIL",
    }
    assert findings["no-basis"].observed == "data_use_missing = legal_basis; personal_data = True; legal_basis = "
    assert findings["undeclared"].observed.startswith("data_use_missing = personal_data, legal_basis; ")
    assert findings["undeclared"].observed.endswith("personal_data = missing; legal_basis = ")


@pytest.mark.usefixtures("aws")
def test_pia_for_personal_data_within_12_months(tmp_path: Path) -> None:
    findings = _verdicts(
        tmp_path,
        "model-pia-current",
        [
            _model("exactly-365", personal_data=True, pia=ago(365)),
            _model("366-days", personal_data=True, pia=ago(366)),
            _model("future", personal_data=True, pia=ago(-30)),
            _model("missing", personal_data=True),
            _model("undeclared", tier="low"),  # personal data not declared: treated as personal data
            _model("training", status="development", personal_data=True),  # training processes it already
            _model("no-personal-data", personal_data=False),
            _model("retired", status="retired", personal_data=True),
        ],
        defaults={**DEFAULTS, "governance": {"pia_max_age_days": 365}},
    )
    assert _status(findings) == {
        "exactly-365": "PASS",
        "366-days": "FAIL",
        "future": "FAIL",
        "missing": "FAIL",
        "undeclared": "FAIL",
        "training": "FAIL",
    }
    assert findings["undeclared"].observed == (
        "pia_status = missing; pia_date = missing; pia_age_days = missing; pia_max_age_days = 365; "
        "personal_data = missing"
    )


@pytest.mark.usefixtures("aws")
def test_fairness_reports_of_deployed_high_risk_models_within_their_interval(tmp_path: Path) -> None:
    findings = _verdicts(
        tmp_path,
        "model-fairness-report-current",
        [
            _model("default-180", fairness_report=ago(180)),
            _model("default-181", fairness_report=ago(181)),
            _model("own-90", fairness_report={"date": ago(90), "max_age_days": 90}),
            _model("own-91", status="staging", fairness_report={"date": ago(91), "max_age_days": 90}),
            _model("missing", status="staging"),
            _model("no-tier", tier=None),  # an unknown tier is judged as high risk
            _model("medium", tier="medium"),
            _model("in-development", status="development"),
            _model("retired", status="retired"),
        ],
        defaults={**DEFAULTS, "governance": {"fairness_report_max_age_days": 180}},
    )
    assert _status(findings) == {
        "default-180": "PASS",
        "default-181": "FAIL",
        "own-90": "PASS",
        "own-91": "FAIL",
        "missing": "FAIL",
        "no-tier": "FAIL",
    }
    assert "fairness_report_age_days = 91; fairness_report_max_age_days = 90" in findings["own-91"].observed


@pytest.mark.usefixtures("aws")
def test_ethics_board_approval_of_deployed_high_risk_models(tmp_path: Path) -> None:
    findings = _verdicts(
        tmp_path,
        "model-ethics-approval",
        [
            _model("approved-long-ago", ethics_approval={"date": ago(2000), "link": "https://grc.example.com/eb/1"}),
            _model("approved-today", status="staging", ethics_approval=ago(0)),
            _model("future", ethics_approval=ago(-7)),
            _model("missing"),
            _model("low", tier="low"),
            _model("in-development", status="development"),
        ],
    )
    assert _status(findings) == {
        "approved-long-ago": "PASS",
        "approved-today": "PASS",
        "future": "FAIL",
        "missing": "FAIL",
    }
    assert findings["future"].observed == (
        f"ethics_approval_status = future-dated; ethics_approval_date = {ago(-7)}; risk_tier = high; "
        "lifecycle_status = production"
    )


@pytest.mark.usefixtures("aws")
def test_documentation_linked_for_deployed_models(tmp_path: Path) -> None:
    findings = _verdicts(
        tmp_path,
        "model-documentation-linked",
        [
            _model("url", tier="low", documentation="https://wiki.example.com/cards/url"),
            _model("path", status="staging", documentation="model-cards/path.md"),
            _model("missing", tier="medium"),
            _model("in-development", status="development"),
            _model("retired", status="retired"),
        ],
    )
    assert _status(findings) == {"url": "PASS", "path": "PASS", "missing": "FAIL"}
    assert findings["path"].observed == "documentation_status = linked; documentation_link = model-cards/path.md; " + (
        "lifecycle_status = staging"
    )


@pytest.mark.usefixtures("aws")
def test_human_oversight_for_high_stakes_models(tmp_path: Path) -> None:
    findings = _verdicts(
        tmp_path,
        "model-human-oversight-defined",
        [
            _model("declared-low-tier", tier="low", high_stakes=True),  # declared high-stakes wins over the tier
            _model("declared-linked", tier="medium", high_stakes=True, human_oversight="https://wiki/x/oversight"),
            _model("not-high-stakes", high_stakes=False),  # declared not high-stakes wins over the tier
            _model("undeclared-high", human_oversight="procedures/oversight.md"),
            _model("undeclared-high-missing", status="staging"),
            _model("undeclared-medium", tier="medium"),
            _model("undeclared-no-tier", tier=None),
            _model("in-development", status="development", high_stakes=True),
        ],
    )
    assert _status(findings) == {
        "declared-low-tier": "FAIL",
        "declared-linked": "PASS",
        "undeclared-high": "PASS",
        "undeclared-high-missing": "FAIL",
        "undeclared-no-tier": "FAIL",
    }
    assert findings["declared-low-tier"].observed == (
        "human_oversight_status = missing; human_oversight_link = ; high_stakes = True; risk_tier = low"
    )


@pytest.mark.usefixtures("aws")
def test_a_model_without_governance_fails_every_rule_that_applies_never_passes(tmp_path: Path) -> None:
    folder = _write(model_configs(tmp_path / "configs"), [_model("bare")])
    result = collect(COLLECTOR, folder, as_of=AS_OF)
    controls = (
        "model-risk-assessment-current",
        "model-data-use-documented",
        "model-pia-current",
        "model-fairness-report-current",
        "model-ethics-approval",
        "model-documentation-linked",
        "model-human-oversight-defined",
    )
    statuses = {c: [str(f.status) for f in evaluate(c, folder, result)] for c in controls}
    assert statuses == {c: ["FAIL"] for c in controls}


def test_complyflow_check_stops_on_a_malformed_record_before_any_aws_call(tmp_path: Path) -> None:
    folder = model_configs(tmp_path / "configs")
    text = (folder / "models.yaml").read_text(encoding="utf-8")
    broken = text.replace("legal_basis: contract", "legal_basis: because-we-can", 1)
    assert broken != text
    (folder / "models.yaml").write_text(broken, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(folder)], terminal_width=400)
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "models.yaml: entry 'credit-limit-advisor': invalid field governance.legal_basis:" in output
