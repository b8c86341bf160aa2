"""The top layer: the `complyflow` command line. Nothing below imports from here."""

from complyflow.cli.app import app

__all__ = ["app"]
