"""`python -m complyflow.cli`: the same CLI as the `complyflow` script."""

from complyflow.cli import app

app(prog_name="complyflow")
