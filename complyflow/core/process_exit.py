"""A faster exit for the processes that run compliance flows.

After a run the heap holds millions of objects (evidence frames, GX suites, findings), and the
interpreter's last garbage-collection pass over them at exit took 1.8–2.5 s after a nightly run
(bench/README.md), in the CLI and in the process a Prefect worker starts alike. Freezing the heap in
an exit handler skips that pass. Nothing is lost: evidence and reports are written through context
managers and closed long before, and Prefect flushes its logs and events in its own exit handlers.
"""

from __future__ import annotations

import atexit
import gc

_registered = False


def skip_final_gc_at_exit() -> None:
    """Register `gc.freeze` to run at exit, once per process."""
    global _registered
    if not _registered:
        atexit.register(gc.freeze)
        _registered = True
