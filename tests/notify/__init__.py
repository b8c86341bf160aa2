"""Tests of owner notifications (tasks/notify)."""
