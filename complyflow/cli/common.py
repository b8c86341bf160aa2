"""What every command shares: the console, the common options, config and store loading with exit codes.

Error text from configs, AWS and the evidence store is untrusted: it is printed with markup off, so a `[`
in a message neither crashes rich nor disappears.
"""

from __future__ import annotations

import importlib
import os
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from complyflow.core.config import Config
    from complyflow.core.deploy_config import EvidenceStoreConfig
    from tasks.check import CheckSummary
    from tasks.evidence import EvidenceStore

console = Console()

ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="Config directory (default: ./configs or COMPLYFLOW_CONFIG_DIR).")
]
EvidenceOpt = Annotated[
    str | None, typer.Option("--evidence-dir", help="Evidence root (default: COMPLYFLOW_EVIDENCE_DIR or ./evidence).")
]


def config_dir(config: str | None) -> str | None:
    """--config, else COMPLYFLOW_CONFIG_DIR, else ./configs when it holds controls, else the packaged configs."""
    if config:
        return config
    if os.environ.get("COMPLYFLOW_CONFIG_DIR"):
        return os.environ["COMPLYFLOW_CONFIG_DIR"]
    return "configs" if Path("configs/controls").is_dir() else None


def print_error(headline: str, detail: object = "") -> None:
    """A red headline, then untrusted detail printed verbatim (no markup, no highlighting, no mid-token wrap)."""
    console.print(f"[red]{headline}[/red]")
    if detail != "":
        console.print(str(detail), markup=False, highlight=False, soft_wrap=True)


def load_config_or_exit(config: str | None) -> Config:
    """The configuration, or exit code 2 with the message naming file, entry and field."""
    from complyflow.core.config import ConfigError, load_config

    try:
        return load_config(config)
    except ConfigError as exc:
        print_error("configuration error", exc)
        raise typer.Exit(2) from exc


def check_config_or_exit(config: str | None) -> CheckSummary:
    """Every file under the config directory checked as a run reads it, before any AWS call; else exit 2."""
    from complyflow.core.config import ConfigError
    from tasks.check import check_config

    try:
        return check_config(config)
    except ConfigError as exc:
        print_error("configuration error", exc)
        raise typer.Exit(2) from exc


def parse_date(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        print_error(f"{option} is not a date", f"{value!r}: write it as YYYY-MM-DD, e.g. 2026-11-01")
        raise typer.Exit(2) from None


def open_configured_store(config: str | None, evidence_dir: str | None) -> tuple[EvidenceStore, EvidenceStoreConfig]:
    """The configured evidence store and its settings; a config or bucket problem exits 2 with the reason."""
    from complyflow.core.config import ConfigError
    from complyflow.core.deploy_config import load_evidence_store_config
    from tasks.evidence import EvidenceStoreError, open_store

    config = config_dir(config)
    try:
        settings = load_evidence_store_config(config)
        return open_store(config, evidence_dir, settings), settings
    except (ConfigError, EvidenceStoreError) as exc:
        print_error("evidence store error", exc)
        raise typer.Exit(2) from exc


def demo_module() -> ModuleType:
    """The demo estate package; exit 2 with the install command when its extra (moto) is missing."""
    try:
        return importlib.import_module("complyflow.demo")
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("moto"):
            raise
        print_error("the demo needs its extra", 'install it with: pip install -e ".[demo]"')
        raise typer.Exit(2) from exc
