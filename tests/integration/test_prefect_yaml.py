"""prefect.yaml is rendered from configs/deployments.yaml; `complyflow serve` reads the same config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from complyflow.core import deploy_config
from complyflow.core.config import ConfigError
from complyflow.core.deploy_config import ENTRYPOINTS, PREFECT_YAML, load_deployments_config, render_prefect_yaml
from flows.serve import build_deployments


def test_prefect_yaml_is_the_rendering_of_the_config() -> None:
    expected = render_prefect_yaml(load_deployments_config())
    assert PREFECT_YAML.read_text(encoding="utf-8") == expected, (
        "prefect.yaml is out of date: run python -m complyflow.core.deploy_config --write"
    )


def test_prefect_yaml_deployments_schedules_and_pool() -> None:
    document = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    config = load_deployments_config()
    by_name = {d["name"]: d for d in document["deployments"]}
    assert set(by_name) == {
        "nightly-compliance",
        "pre-audit",
        "drift-monitoring",
        "vendor-reviews",
        "collect-account",
        "exception-request",
        "access-review",
    }
    for name, deployment in by_name.items():
        assert deployment["entrypoint"] == ENTRYPOINTS[name]
        assert deployment["work_pool"]["name"] == "complyflow"
    nightly = config.deployments["nightly-compliance"].schedule
    assert nightly is not None
    assert by_name["nightly-compliance"]["schedules"] == [
        {"cron": nightly.cron, "timezone": nightly.timezone, "active": True}
    ]
    assert by_name["pre-audit"]["schedules"] == []  # on demand only
    assert by_name["exception-request"]["schedules"] == []  # on demand: the parameters form is the request
    assert by_name["access-review"]["schedules"] == [
        {"cron": "0 9 1 1,4,7,10 *", "timezone": "Europe/London", "active": True}  # quarterly
    ]
    assert config.work_pool.type == "process"
    step = document["pull"][0]["prefect.deployments.steps.set_working_directory"]
    assert step["directory"] == "{{ repo-dir.stdout }}"  # the checkout `prefect deploy` ran in
    assert document["build"][0]["prefect.deployments.steps.run_shell_script"]["id"] == "repo-dir"


def test_check_mode_fails_when_prefect_yaml_drifts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "prefect.yaml"
    stale.write_text(PREFECT_YAML.read_text().replace('"0 2 * * *"', '"0 3 * * *"').replace("0 2 * * *", "0 3 * * *"))
    monkeypatch.setattr(deploy_config, "PREFECT_YAML", stale)
    assert deploy_config.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert deploy_config.main(["--write"]) == 0
    assert deploy_config.main(["--check"]) == 0


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ('cron: "0 25 * * *"', "Invalid cron string"),
        ("timezone: Mars/Olympus", "Invalid timezone"),
    ],
)
def test_bad_schedules_are_named(config_dir: Path, snippet: str, message: str) -> None:
    path = config_dir / "deployments.yaml"
    text = path.read_text()
    key = snippet.split(":")[0]
    old = next(line for line in text.splitlines() if line.strip().startswith(f"{key}:"))
    path.write_text(text.replace(old, old.split(key)[0] + snippet, 1))
    with pytest.raises(ConfigError, match=rf"(?s)deployments.yaml.*nightly-compliance.schedule.*{message}"):
        load_deployments_config(config_dir)


def test_unknown_deployment_and_missing_file_are_refused(config_dir: Path) -> None:
    path = config_dir / "deployments.yaml"
    path.write_text(path.read_text().replace("  vendor-reviews:", "  vendor-review:"))
    with pytest.raises(ConfigError, match=r"(?s)deployments.yaml.*unknown deployment\(s\) vendor-review"):
        load_deployments_config(config_dir)
    path.unlink()
    with pytest.raises(ConfigError, match="deployments.yaml: file not found"):
        load_deployments_config(config_dir)


def test_serve_builds_the_configured_schedules() -> None:
    config = load_deployments_config()
    deployments = {d.name: d for d in build_deployments(config, only=["nightly-compliance", "pre-audit"])}
    assert set(deployments) == {"nightly-compliance", "pre-audit"}
    nightly = deployments["nightly-compliance"]
    schedule = nightly.schedules[0].schedule
    spec = config.deployments["nightly-compliance"].schedule
    assert spec is not None and (schedule.cron, schedule.timezone) == (spec.cron, spec.timezone)
    assert nightly.entrypoint == "flows.nightly.nightly_compliance"  # module path: works from any directory
    assert deployments["pre-audit"].schedules == []
    with pytest.raises(ValueError, match="unknown deployment"):
        build_deployments(config, only=["nope"])


def test_serve_names_a_flow_module_that_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ENTRYPOINTS, "vendor-reviews", "flows/not_written_yet.py:vendor_reviews")
    with pytest.raises(RuntimeError, match=r"vendor-reviews.*flows/not_written_yet.py"):
        build_deployments(load_deployments_config(), only=["vendor-reviews"])


@pytest.mark.parametrize(
    "cron", ["0 2 * * *", "*/15 1-5 * * mon-fri", "0 0 1 */3 *", "0 25 * * *", "H 2 * * *", "0 2 *"]
)
def test_the_config_check_accepts_exactly_the_crons_prefect_accepts(cron: str) -> None:
    """The check reads cron strings without Prefect (start-up time); Prefect's own model stays the reference."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    from complyflow.core.deploy_config import ScheduleSpec

    def accepted(model: type, **fields: str) -> bool:
        try:
            model(**fields)
        except (ValidationError, ValueError):
            return False
        return True

    assert accepted(ScheduleSpec, cron=cron, timezone="UTC") == accepted(CronSchedule, cron=cron, timezone="UTC")
