"""Screenshots of complyflow runs in the Prefect UI, taken with headless Chromium (Debian's `chromium`).

Against a running server (the README's steps, with at least one finished nightly run):

    python docs/screenshots.py --api-url http://127.0.0.1:4200/api

Or from nothing: `--demo` starts a throwaway Prefect server, a process worker and the demo AWS estate
(moto) on 127.0.0.1, deploys from prefect.yaml, runs nightly-compliance and pre-audit, then shoots:

    python docs/screenshots.py --demo

Pictures go to docs/img/: the nightly run page, its artifacts, the findings table artifact, the
pre-audit form the UI renders from the flow's typed parameters, the pre-audit run's artifacts, the
exception-request form, and the forms of runs waiting for input (an approver's decision, an owner's
access review).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "img"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise SystemExit("chromium not found: apt-get update && apt-get install -y chromium")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Browser:
    """Headless Chromium driven over the DevTools protocol on 127.0.0.1: navigate, wait for text, click, shoot.

    The Prefect UI is a single-page app that fetches its data after load, so a plain `--screenshot` would
    catch empty pages; waiting for the text a person expects makes every picture show the real content.
    """

    def __init__(self, width: int = 1440, height: int = 1100) -> None:
        from websockets.sync.client import connect

        self.profile = tempfile.TemporaryDirectory(prefix="chromium-")
        port = _free_port()
        self.process = subprocess.Popen(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile.name}",
                f"--window-size={width},{height}",
                f"--remote-debugging-port={port}",
                "--remote-debugging-address=127.0.0.1",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:  # noqa: S310
                    pages = [t for t in json.load(response) if t["type"] == "page"]
                if pages:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.3)
        self.socket = connect(pages[0]["webSocketDebuggerUrl"], max_size=None)
        self.counter = 0
        self.width, self.height = width, height
        self.call("Page.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.counter += 1
        self.socket.send(json.dumps({"id": self.counter, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.counter:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait_for_text(self, *texts: str, timeout: float = 60) -> None:
        if not texts:
            return
        # Case-insensitive: the UI shows field names as titles ("Outcome") or as written ("outcome").
        check = " && ".join(f"document.body.innerText.toLowerCase().includes({json.dumps(t.lower())})" for t in texts)
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"!!document.body && {check}"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"page never showed {texts}")
            time.sleep(0.5)

    def click_text(self, text: str, nth: int = 0) -> None:
        """Click the `nth` innermost element (document order) whose whole text is exactly `text`."""
        clicked = self.evaluate(
            f"(() => {{ const want = {json.dumps(text)};"
            " const hits = [...document.querySelectorAll('body *')].filter(e => e.textContent.trim() === want"
            "   && ![...e.children].some(c => c.textContent.trim() === want));"
            f" const hit = hits[{nth}]; if (!hit) return false; hit.click(); return true; }})()"
        )
        if not clicked:
            raise RuntimeError(f"nothing to click labelled {text!r} (#{nth})")

    def shoot(
        self,
        url: str,
        target: Path,
        wait_for: tuple[str, ...],
        click: tuple[tuple[str, int], ...] = (),
        then_wait_for: tuple[str, ...] = (),
        height: int | None = None,
        width: int | None = None,
        search: str | None = None,
    ) -> Path:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width or self.width,
            height=height or self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.call("Page.navigate", url=url)
        self.wait_for_text(*wait_for)
        for text, nth in click:
            self.click_text(text, nth)
            time.sleep(0.5)
        if search:  # type into the page's search box, as a person filtering a list would
            time.sleep(1)
            self.evaluate("document.querySelector('input[type=search], input[placeholder^=Search]').focus()")
            self.call("Input.insertText", text=search)
            time.sleep(2)
        try:
            self.wait_for_text(*then_wait_for)
        except TimeoutError:  # keep what the page showed, to see why
            debug = Path(tempfile.gettempdir()) / f"screenshot-failed-{target.name}"
            debug.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
            print(f"page saved as {debug}", file=sys.stderr)
            raise
        time.sleep(2)  # let charts and tables finish their transitions
        data = self.call("Page.captureScreenshot", format="png")["data"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))
        print(f"saved {target.relative_to(REPO) if target.is_relative_to(REPO) else target}")
        return target

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.profile.cleanup()


def _latest_run(client: Any, flow_name: str) -> Any | None:
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED]))
        ),
        sort=FlowRunSort.START_TIME_DESC,
        limit=1,
    )
    return runs[0] if runs else None


def take_all(api_url: str, out: Path = OUT) -> list[Path]:
    """Shoot the pages a newcomer looks at; every URL is on the local Prefect UI."""
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

    ui = api_url.removesuffix("/").removesuffix("/api")
    with SyncPrefectClient(api=api_url) as client:
        nightly = _latest_run(client, "nightly-compliance")
        if nightly is None:
            raise SystemExit("no completed nightly-compliance run on this server: run the deployment first")
        summary = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["compliance-summary"])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[nightly.id])),
        )
        pre_audit = client.read_deployment_by_name("pre-audit/pre-audit")
        audit_run = _latest_run(client, "pre-audit")
        index = (
            []
            if audit_run is None
            else client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["audit-pack-index"])),
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[audit_run.id])),
            )
        )
    browser = Browser()
    try:
        pictures = [
            browser.shoot(
                f"{ui}/runs/flow-run/{nightly.id}",
                out / "nightly-run.png",
                wait_for=(nightly.name, "Completed", "Task Runs"),
                click=(("Task Runs", 0),),
                search="collect-",
                then_wait_for=("collect-iam-", "collect-s3-buckets-"),
            ),
            browser.shoot(
                f"{ui}/runs/flow-run/{nightly.id}",
                out / "nightly-artifacts.png",
                wait_for=(nightly.name, "Completed", "Artifacts"),
                click=(("Artifacts", 0),),
                then_wait_for=("compliance-summary", "compliance-violations"),
            ),
            browser.shoot(
                f"{ui}/deployments/deployment/{pre_audit.id}/run",
                out / "pre-audit-form.png",
                wait_for=("frameworks", "period_start", "period_end"),
                click=(("list", 0), ("date", 0), ("date", 1)),
                height=1500,
            ),
        ]
        pictures += _owner_forms(browser, client_api=api_url, ui=ui, out=out)
        if summary:
            pictures.append(
                browser.shoot(
                    f"{ui}/artifacts/artifact/{summary[0].id}",
                    out / "nightly-summary-artifact.png",
                    wait_for=("rds-storage-encrypted", "EXCEPTED"),
                    height=1300,
                    width=1900,
                )
            )
        if audit_run is not None:
            pictures.append(
                browser.shoot(
                    f"{ui}/runs/flow-run/{audit_run.id}",
                    out / "pre-audit-artifacts.png",
                    wait_for=(audit_run.name, "Completed", "Artifacts"),
                    click=(("Artifacts", 0),),
                    then_wait_for=("audit-pack", "audit-pack-index"),
                )
            )
        if index:
            pictures.append(
                browser.shoot(
                    f"{ui}/artifacts/artifact/{index[0].id}",
                    out / "audit-pack-index.png",
                    wait_for=("SHA-256 of the zip", "evidence: verified"),
                    height=700,
                )
            )
    finally:
        browser.close()
    return pictures


def _suspended_run(client: Any, flow_name: str) -> Any | None:
    """The newest run of `flow_name` waiting for input (Suspended or Paused), if any."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))),
        sort=FlowRunSort.EXPECTED_START_TIME_DESC,
        limit=1,
    )
    return runs[0] if runs else None


def _owner_forms(browser: Browser, client_api: str, ui: str, out: Path) -> list[Path]:
    """The two owner-in-the-loop forms: the exception request (deployment parameters) and, when a run waits
    for input, the approver's decision and an owner's access review (the suspended run's Resume form)."""
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(api=client_api) as client:
        request = client.read_deployment_by_name("exception-request/exception-request")
        waiting_request = _suspended_run(client, "exception-request")
        waiting_review = _suspended_run(client, "access-review")
    pictures = [
        browser.shoot(
            f"{ui}/deployments/deployment/{request.id}/run",
            out / "exception-request-form.png",
            wait_for=("justification", "risk_assessment", "requested_expiry"),
            height=1500,
        )
    ]
    for run, target, fields in (
        (waiting_request, "exception-decision-form.png", ("outcome", "approver")),
        (waiting_review, "access-review-form.png", ("reviewer", "decisions")),
    ):
        if run is not None:
            pictures.append(
                browser.shoot(
                    f"{ui}/runs/flow-run/{run.id}",
                    out / target,
                    wait_for=(run.name, "Resume"),
                    click=(("Resume", 0),),
                    then_wait_for=fields,
                    height=1400,
                )
            )
    return pictures


@contextmanager
def demo_stack() -> Iterator[str]:
    """A throwaway server + worker + demo estate with one nightly and one pre-audit run; yields the API URL."""
    sys.path.insert(0, str(REPO))
    from complyflow.demo import FAKE_CREDENTIALS, moto_server, seed_demo_estate
    from tests.integration.stack import LocalPrefect
    from tests.integration.test_deployments import _trigger, _wait

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="complyflow-shots-") as scratch:
        prefect = LocalPrefect(home=Path(scratch) / "prefect-home")
        try:
            with moto_server() as endpoint:
                seed_demo_estate()
                pool = prefect.deploy(
                    "--name",
                    "nightly-compliance",
                    "--name",
                    "pre-audit",
                    "--name",
                    "exception-request",
                    "--name",
                    "access-review",
                )
                prefect.start_worker(
                    pool,
                    {
                        **FAKE_CREDENTIALS,
                        "AWS_ENDPOINT_URL": endpoint,
                        "COMPLYFLOW_EVIDENCE_DIR": str(Path(scratch) / "evidence"),
                    },
                )
                _wait(prefect, {"nightly": _trigger(prefect, "nightly-compliance", {})})
                today = datetime.now(UTC).date().isoformat()
                _wait(
                    prefect,
                    {"pre-audit": _trigger(prefect, "pre-audit", {"frameworks": ["soc2"], "period_start": today})},
                )
                _wait(prefect, {"campaign": _trigger(prefect, "access-review", {})})  # its reviews then suspend
                _trigger(prefect, "exception-request", EXAMPLE_REQUEST)
                _wait_for_input(prefect, ("exception-request", "access-review"))
                yield prefect.api_url
        finally:
            prefect.stop()


EXAMPLE_REQUEST = {
    "control": "s3-bucket-sse-kms",
    "resource": "arn:aws:s3:::demo-raw-uploads",
    "justification": "The upload tool only writes SSE-S3.",
    "risk_assessment": "Low: raw uploads are re-encrypted on ingestion.",
    "mitigating_controls": "Bucket policy denies public access; objects expire after 7 days.",
    "requester": "data-eng",
    "requested_expiry": "2027-01-31",
}


def _wait_for_input(prefect: Any, flows: tuple[str, ...], timeout: float = 600) -> None:
    """Until a run of each flow waits for input (the forms to shoot)."""
    from prefect.client.orchestration import SyncPrefectClient

    deadline = time.monotonic() + timeout
    with SyncPrefectClient(api=prefect.api_url) as client:
        while any(_suspended_run(client, name) is None for name in flows):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no run of {flows} waits for input:\n{prefect.log('worker-complyflow')}")
            time.sleep(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--api-url", default="http://127.0.0.1:4200/api", help="Prefect API of a running server")
    source.add_argument("--demo", action="store_true", help="start a throwaway local stack and shoot it")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs (default: docs/img)")
    args = parser.parse_args(argv)
    if args.demo:
        with demo_stack() as api_url:
            take_all(api_url, args.out)
    else:
        take_all(args.api_url, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
