"""Words in a systemd unit file, quoted the way systemd.service(5) reads them.

Both units portscope prints (the exporter's and the recorder's) name paths that come
from the user: a space, a quote, a `%` (a specifier) or a `$` (a variable) in one must
reach the service as written.
"""

from __future__ import annotations

SPECIAL = str.maketrans({"\\": "\\\\", '"': '\\"', "%": "%%", "$": "$$"})
"""What systemd would read otherwise: escapes, quotes, specifiers, variables."""


def quoted(word: str) -> str:
    """One ExecStart= (or ReadWritePaths=) word, quoted as systemd reads it."""
    escaped = word.translate(SPECIAL)
    plain = escaped == word and word and not any(c.isspace() or c in "';" for c in word)
    return word if plain else f'"{escaped}"'
