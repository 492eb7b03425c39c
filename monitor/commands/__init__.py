"""One module per CLI command; each exposes ``command`` (see monitor.cli.COMMANDS)."""
