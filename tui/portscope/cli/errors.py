"""What a command raises on bad input, in a module of its own so the subcommands can
raise it without importing the package that imports them."""

from __future__ import annotations

USAGE_ERROR = 2
"""The exit status of a usage error."""


class UsageError(Exception):
    """Bad input from the user: reported as one line on stderr, exit status 2."""
