"""complyflow core: the data model, config loading, the CLI and the demo estate."""

__version__ = "0.1.0"
