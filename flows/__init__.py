"""Prefect flows: one module per deployment; orchestration only."""
