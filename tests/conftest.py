"""Shared fixtures: emulated AWS (moto), a Prefect test harness, and a scratch config directory."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# pytest-xdist workers inherit COLUMNS=80, which rich would freeze as the width of the CLI's consoles.
os.environ.pop("COLUMNS", None)
# One local signing key per test process (its workers and servers inherit it), removed at exit: tests never
# touch the user's ~/.config/complyflow key.
_SIGNING_DIR = tempfile.mkdtemp(prefix="complyflow-test-signing-")
atexit.register(shutil.rmtree, _SIGNING_DIR, True)
os.environ.setdefault("COMPLYFLOW_SIGNING_KEY_FILE", os.path.join(_SIGNING_DIR, "evidence-signing-key.pem"))
# Never real AWS, even in module-scoped fixtures that run before per-test ones.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    }
)
for _var in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
    os.environ.pop(_var, None)

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core.base_backend import AccountSpecificBackend  # noqa: E402

# moto caches each service's region list per backend *instance* (an lru_cache on a method whose instances all
# hash differently), so every reset asks botocore again for every service in use: ~0.8 s per test with
# emulated AWS. The list depends on the service name only; caching it by name changes nothing else.
_REGIONS_BY_SERVICE: dict[str, list[str]] = {}
_moto_regions = AccountSpecificBackend._generate_regions


def _regions_once(self: AccountSpecificBackend, service_name: str) -> list[str]:  # type: ignore[type-arg]
    if service_name not in _REGIONS_BY_SERVICE:
        _REGIONS_BY_SERVICE[service_name] = list(_moto_regions(self, service_name))
    return list(_REGIONS_BY_SERVICE[service_name])


AccountSpecificBackend._generate_regions = _regions_once  # type: ignore[method-assign]


REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never real AWS: dummy credentials in every test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    """In-process emulated AWS for one test."""
    with mock_aws():
        yield


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A throwaway Prefect API (SQLite) shared by the tests that run flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A writable copy of the shipped configs, for tests that change policy."""
    target = tmp_path / "configs"
    shutil.copytree(CONFIGS, target)
    return target
