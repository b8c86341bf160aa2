"""Tests of the run reports: OCSF, HTML, posture, trend, writer, artifacts and the report command."""
