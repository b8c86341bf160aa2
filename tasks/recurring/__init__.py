"""Recurring evidence: reading the sources recurring.yaml names, and copying documents into the sealed run."""
