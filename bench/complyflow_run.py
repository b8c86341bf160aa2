"""One measured `complyflow run nightly` against the bench's moto server, and where its time went."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.estate import REGIONS
from bench.imports import module_level_imports
from bench.prefect_api import PrefectApi, child_env
from bench.process import Measured, run_measured
from complyflow.core.config import DEFAULT_CONFIG_DIR
from complyflow.demo import FAKE_CREDENTIALS

SHIM = Path(__file__).with_name("nightly_shim.py")
STEPS = ("collect", "store", "validate", "report", "notify", "artifacts")
REPO = Path(__file__).resolve().parents[1]
BEFORE_BODY = "before flow body (Prefect: flow run start)"
AFTER_BODY = "after flow body (Prefect: final state)"
EXIT = "exit (Prefect shutdown)"


def make_config(target: Path, aws_only: bool = True) -> Path:
    """A copy of the shipped configs whose scope is the bench's two regions (and, by default, only the controls
    compared with Prowler: `bench.prowler_peer.CHECKS`; the others are switched off)."""
    from bench.prowler_peer import CHECKS

    shutil.copytree(DEFAULT_CONFIG_DIR, target)
    scope = {
        "global_region": "us-east-1",
        "regions": list(REGIONS),
        "accounts": [{"name": "bench", "owner": "platform-team"}],
    }
    (target / "scope.yaml").write_text(yaml.safe_dump(scope), encoding="utf-8")
    if aws_only:
        for path in sorted((target / "controls").glob("*.yaml")):
            control = yaml.safe_load(path.read_text(encoding="utf-8"))
            if control.get("id") not in CHECKS and control.get("enabled", True):
                control["enabled"] = False
                path.write_text(yaml.safe_dump(control, sort_keys=False), encoding="utf-8")
        (target / "recurring.yaml").unlink(missing_ok=True)  # recurring tasks read documents, not the estate
    return target


@dataclass
class NightlyRun:
    measured: Measured
    record: dict[str, Any] = field(default_factory=dict)
    shimmed: bool = True  # False with --plain-cli: no record to expect, the exit code alone tells

    @property
    def ok(self) -> bool:
        return self.measured.returncode == 0 and ("result" in self.record or not self.shimmed)

    @property
    def timings(self) -> dict[str, float]:
        return dict(self.record.get("result", {}).get("timings", {}))

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.record.get("result", {}).get("counts", {}))

    def per_control(self) -> dict[str, dict[str, int]]:
        """control id -> status counts, from the run's findings.json (to set beside the peer's)."""
        run_dir = self.record.get("result", {}).get("run_dir")
        counts: dict[str, dict[str, int]] = {}
        for path in Path(run_dir).glob("**/findings.json") if run_dir else []:
            for finding in json.loads(path.read_text(encoding="utf-8")).get("findings", []):
                by_status = counts.setdefault(finding["control_id"], {})
                by_status[finding["status"]] = by_status.get(finding["status"], 0) + 1
        return counts

    def breakdown(self) -> dict[str, float]:
        """Wall time split into phases from the shim's marks (seconds); empty without the shim."""
        marks = self.record.get("marks", {})
        if not self.ok or "flow_body_start" not in marks:
            return {}
        start, end = self.measured.started, self.measured.started + self.measured.wall
        before_body = marks.get("config_checked", marks["imported"])
        cli_only = {"config check (CLI)": before_body - marks["imported"]} if "config_checked" in marks else {}
        parts = {
            "python start-up": marks["shim_start"] - start,
            "import libraries complyflow uses (GX, pandas, boto3…)": marks["libraries_imported"] - marks["shim_start"],
            "import prefect (what it adds)": marks["prefect_imported"] - marks["libraries_imported"],
            "import complyflow": marks["imported"] - marks["prefect_imported"],
            **cli_only,
            BEFORE_BODY: marks["flow_body_start"] - before_body,
            **{f"step: {s}": self.timings.get(s, 0.0) for s in STEPS},
            AFTER_BODY: marks["flow_returned"] - marks["flow_body_end"],
            **({"print the result (CLI)": marks["printed"] - marks["flow_returned"]} if "printed" in marks else {}),
            **_exit_parts(marks, end),
        }
        body = marks["flow_body_end"] - marks["flow_body_start"]
        parts["flow body not in steps"] = body - sum(self.timings.get(s, 0.0) for s in STEPS)
        return parts

    def peak_rss_by_step(self) -> dict[str, float]:
        """Peak RSS (MB, run process) within each step of the flow body, and before / after it."""
        marks = self.record.get("marks", {})
        if "flow_body_start" not in marks:
            return {}
        bounds, clock = [("before flow body", self.measured.started)], marks["flow_body_start"]
        for step in STEPS:
            bounds.append((f"step: {step}", clock))
            clock += self.timings.get(step, 0.0)
        bounds.append(("after flow body", marks["flow_body_end"]))
        peaks: dict[str, float] = {}
        for at, mb in self.measured.rss_samples:
            name = next((n for n, start in reversed(bounds) if at >= start), bounds[0][0])
            peaks[name] = max(peaks.get(name, 0.0), round(mb, 1))
        return peaks

    def prefect_seconds(self) -> float:
        """Prefect's share: its import, everything around the flow body, and the artifacts step."""
        parts = self.breakdown()
        keys = ("import prefect (what it adds)", BEFORE_BODY, AFTER_BODY, EXIT, "step: artifacts")
        # "exit: interpreter teardown" (freeing the heap, unloading modules) is Python's, not Prefect's.
        return sum(parts.get(k, 0.0) for k in keys)


def _exit_parts(marks: dict[str, float], end: float) -> dict[str, float]:
    """After the flow returned (and the CLI printed): atexit handlers (Prefect's shutdown), then the
    interpreter's own teardown."""
    begin = marks.get("printed", marks["flow_returned"])
    done = marks.get("atexit_done")
    if done is None:
        return {EXIT: end - begin}
    return {EXIT: done - begin, "exit: interpreter teardown": end - done}


def run_nightly(
    endpoint: str,
    config: Path,
    evidence: Path,
    api: PrefectApi,
    work: Path,
    plain_cli: bool = False,
    code: Path | None = None,
) -> NightlyRun:
    """One nightly run as a subprocess pointed at moto: a flow run of the nightly deployment started as a
    process worker starts it (`deployment` mode), else `complyflow run nightly`. The shim adds timing
    marks unless `plain_cli`."""
    result_file = work / "nightly-result.json"
    libraries, prefect_modules = module_level_imports(code or REPO)
    env = child_env(
        {
            **FAKE_CREDENTIALS,
            **api.env,
            "AWS_ENDPOINT_URL": endpoint,
            "BENCH_RESULT_JSON": str(result_file),
            "COLUMNS": "120",
            "BENCH_LIBRARIES": ",".join(libraries),
            "BENCH_PREFECT_MODULES": ",".join(prefect_modules),
        }
    )
    if code:  # ahead of the editable install, whose finder comes after sys.path
        env["PYTHONPATH"] = str(code.resolve())
    if api.mode == "deployment":
        env["PREFECT__FLOW_RUN_ID"] = api.create_flow_run({"config_dir": str(config), "evidence_dir": str(evidence)})
        cmd = [sys.executable, "-m", "prefect.engine"] if plain_cli else [sys.executable, str(SHIM), "--engine"]
    else:
        args = ["run", "nightly", "--config", str(config), "--evidence-dir", str(evidence)]
        cmd = (
            [str(Path(sys.executable).with_name("complyflow")), *args]
            if plain_cli
            else [sys.executable, str(SHIM), *args]
        )
    measured = run_measured(cmd, env, cwd=str(work))
    record = json.loads(result_file.read_text()) if result_file.exists() else {}
    return NightlyRun(measured, record, shimmed=not plain_cli)
