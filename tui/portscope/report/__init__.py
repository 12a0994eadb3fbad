"""Plain-text, JSON and CSV renderings of the core's records, for the CLI and exports."""
