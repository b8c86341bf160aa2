"""A quiet console for `complyflow run` and `demo`: one progress bar per phase instead of Prefect's log lines.

Prefect logs every task run to the console (and to its API, for the UI). While a run is shown here,
the console handler only lets warnings through; a logging handler on Prefect's run loggers turns
"Finished" task records and the flow's own milestones into progress. Nothing is removed from the
Prefect API logs: the UI keeps every line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from complyflow.core.config import Config

#: Libraries whose INFO lines are noise on a console (moto's access log, GX's temporary directories).
NOISY_LOGGERS = ("werkzeug", "great_expectations.data_context.types.base", "great_expectations")


def collect_units(config: Config) -> int:
    """How many collect tasks a nightly run of `config` starts (per collector: its scope's units)."""
    from tasks.collect import collectors_for

    accounts, regions = len(config.scope.accounts), len(config.scope.regions)
    units = {"regional": accounts * regions, "global": accounts, "organization": 1}
    return sum(units[c.scope] for c in collectors_for({c.evidence_table for c in config.enabled_controls}))


class _PhaseHandler(logging.Handler):
    """Advances the bars from Prefect's task-run and flow-run records."""

    def __init__(self, progress: Progress, bars: dict[str, TaskID]) -> None:
        super().__init__(logging.INFO)
        self.progress, self.bars = progress, bars

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        task = getattr(record, "task_name", None)
        if task in self.bars and message.startswith("Finished in state"):
            self.progress.advance(self.bars[task])
        elif message.startswith("sealed run"):
            self.progress.update(self.bars["seal"], completed=1)
        elif message.startswith("run ") and " finished: " in message:
            self.progress.update(self.bars["notify"], completed=1)


@contextmanager
def run_progress(console: Console, config: Config) -> Iterator[None]:
    """Show collect n/N, validate n/N, seal and notify while a flow runs in this process."""
    tables = len({c.evidence_table for c in config.enabled_controls})
    progress = Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    bars = {
        "collect": progress.add_task("collect", total=collect_units(config)),
        "validate": progress.add_task("validate", total=tables),
        "seal": progress.add_task("seal", total=1),
        "notify": progress.add_task("notify", total=1),
    }
    handler = _PhaseHandler(progress, bars)
    run_loggers = [logging.getLogger("prefect.task_runs"), logging.getLogger("prefect.flow_runs")]
    consoles = [h for h in logging.getLogger().handlers if type(h).__name__ == "PrefectConsoleHandler"]
    noisy = [(logging.getLogger(name), logging.getLogger(name).level) for name in NOISY_LOGGERS]
    for logger in run_loggers:
        logger.addHandler(handler)
    for console_handler in consoles:
        console_handler.setLevel(logging.WARNING)
    for logger, _level in noisy:
        logger.setLevel(logging.WARNING)
    try:
        with progress:
            yield
    finally:
        for logger in run_loggers:
            logger.removeHandler(handler)
        # The console handlers stay at WARNING for the rest of this command (the temporary Prefect server
        # logs its shutdown at exit); the Prefect API logs are untouched either way.
        for logger, level in noisy:
            logger.setLevel(level)
