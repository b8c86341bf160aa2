"""Start Prefect's temporary API server early, so its start-up overlaps the command's own work.

Without a configured API (`PREFECT_API_URL`), Prefect starts a temporary server the first time a flow needs
the API: a new process that imports the server and migrates a SQLite database (10–15 s on these machines)
while the command waits. A command that first seeds an estate or imports the flows can start that server
in the background instead; the flow then finds it running (Prefect keeps one temporary server per process).
"""

from __future__ import annotations

import threading
from types import TracebackType


class TemporaryServerWarmup:
    """The temporary server starting in a background thread; `wait()` before the first flow call."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> TemporaryServerWarmup:
        from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

        if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
            return self  # a standing server, or no temporary server allowed: nothing to warm up
        from prefect.server.api.server import SubprocessASGIServer

        def _start() -> None:
            try:
                SubprocessASGIServer().start()
            except BaseException as exc:  # noqa: BLE001 - reported by the flow's own start attempt
                self.error = exc

        self._thread = threading.Thread(target=_start, name="prefect-temporary-server", daemon=True)
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until the server answers (or failed to start: the flow's own attempt then reports why).

        Prefect marks the server running before it answers, so a flow must not start before this returns.
        """
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> TemporaryServerWarmup:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.wait()
