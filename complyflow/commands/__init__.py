"""CLI commands contributed by modules; each exposes `register(app)`."""
