"""kill -9 at every step of sealing, on a local and an S3 store: the next run seals, verify passes.

Each case seals a run in a child process that SIGKILLs itself just before (or just after) one store write;
the parent then seals the next run as the nightly flow would and verifies the whole store with the
public key. A run killed before its chain head moved is *interrupted* (a warning naming it); a run killed
after is sealed. Nothing else is ever reported.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from complyflow.core.deploy_config import S3StoreSpec, SigningSpec
from tasks.evidence import LocalStore, S3Store, read_chain_head
from tasks.signing import load_signer
from tasks.verify import WARNING, verify_store
from tests.evidence.conftest import make_run

BUCKET = "crash-evidence"
FIRST, KILLED, NEXT = "20260101T020000Z-aaaaaa", "20260102T020000Z-bbbbbb", "20260103T020000Z-cccccc"
#: The writes of one seal: three evidence files, the signature, the manifest, the chain head.
WRITES = 6
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from complyflow.core.deploy_config import S3StoreSpec, SigningSpec
    from tasks import evidence
    from tasks.signing import load_signer
    from tests.evidence.conftest import make_run

    root, backend, kill_at, when = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    base = evidence.LocalStore if backend == "local" else evidence.S3Store
    writes = 0

    class Dying(base):
        def _step(self, write):
            global writes
            writes += 1
            if writes == kill_at and when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            write()
            if writes == kill_at and when == "after":
                os.kill(os.getpid(), signal.SIGKILL)

        def put_file(self, key, path):
            self._step(lambda: super(Dying, self).put_file(key, path))

        def swap(self, key, data, token):
            self._step(lambda: super(Dying, self).swap(key, data, token))

    store = Dying(root) if backend == "local" else Dying(S3StoreSpec(bucket=sys.argv[5]), 30).check()
    signer = load_signer(SigningSpec(key_file=sys.argv[6]), None)
    make_run(root, sys.argv[7], store=store, signer=signer)
    sys.exit(3)  # never reached when the kill happened
    """
)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from complyflow.demo import moto_server

    with moto_server() as endpoint:
        yield endpoint


def _store(backend: str, root: Path, bucket: str) -> LocalStore | S3Store:
    if backend == "local":
        return LocalStore(root)
    boto3.client("s3").create_bucket(Bucket=bucket)
    boto3.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return S3Store(S3StoreSpec(bucket=bucket), 30).check()


CASES = [(step, "before") for step in range(1, WRITES + 1)] + [(WRITES, "after")]


@pytest.mark.parametrize("backend", ["local", "s3"])
@pytest.mark.parametrize(("step", "when"), CASES, ids=[f"{w}-write-{s}" for s, w in CASES])
def test_kill_at_any_sealing_step_leaves_a_verifiable_chain(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, backend: str, step: int, when: str
) -> None:
    if backend == "s3":  # one moto server for the module; the child process reaches it through the environment
        monkeypatch.setenv("AWS_ENDPOINT_URL", request.getfixturevalue("s3_endpoint"))
    bucket = f"{BUCKET}-{step}-{when}"
    root = tmp_path / "evidence"
    key_file = tmp_path / "signing.pem"
    signer = load_signer(SigningSpec(key_file=str(key_file)), None)
    store = _store(backend, root, bucket)
    make_run(root, FIRST, store=store, signer=signer)

    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), backend, str(step), when, bucket, str(key_file), KILLED],
        cwd=Path(__file__).resolve().parents[2],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr

    head_moved = when == "after" and step == WRITES
    assert read_chain_head(store)[0].run_id == (KILLED if head_moved else FIRST)  # type: ignore[union-attr]
    make_run(root, NEXT, store=store, signer=signer)  # the next run seals as usual

    report = verify_store(store, public_key_pem=signer.public_key_pem())
    assert report.ok, [str(i) for i in report.issues]
    # A signed manifest off the chain: killed just before the head moved (locally, the manifest file is
    # already in place when the store is asked to put it, as the folder is the store).
    manifest_stored = step == WRITES or (backend == "local" and step == WRITES - 1)
    assert report.signatures_checked == len(report.runs_checked) + (manifest_stored and not head_moved)
    if head_moved:
        assert report.runs_checked == [FIRST, KILLED, NEXT] and report.issues == []
        return
    assert report.runs_checked == [FIRST, NEXT]
    if backend == "s3" and step == 1:  # nothing of the killed run reached the bucket
        assert report.issues == [] and report.interrupted == []
        return
    assert report.interrupted == [KILLED]
    (issue,) = report.issues
    assert (issue.kind, issue.severity) == ("interrupted", WARNING) and KILLED in issue.path
