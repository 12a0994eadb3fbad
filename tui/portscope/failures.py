"""Failures a loop survives: logged with their traceback, then shown as one line.

A poll's subscribers, the health analysis and DNS callbacks run where no caller waits
to see an exception: each is caught there so the loop goes on, logged (to the `--log`
file, if one was named) and handed as a `Failure` to whoever shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from portscope.events import describe_error

LOG = logging.getLogger("portscope")
"""portscope's one logger. Its records go to the `--log` file or nowhere, never to
stderr (under the dashboard): a NullHandler, and nothing passed to the root logger."""
LOG.addHandler(logging.NullHandler())
LOG.propagate = False


@dataclass(frozen=True, slots=True)
class Failure:
    """What failed (`where`: "the health analysis") and the exception, in one line."""

    where: str
    error: str

    @property
    def notice(self) -> str:
        return f"{self.where} failed: {self.error}"


OnFailure = Callable[[Failure], None]


def survived(where: str, exc: BaseException, on_failure: OnFailure | None = None) -> Failure:
    """Log `exc` with its traceback and tell `on_failure`; never raises, so the caller's
    loop goes on (a failing `on_failure` is logged too)."""
    failure = Failure(where, describe_error(exc))
    LOG.error("%s", failure.notice, exc_info=exc)
    if on_failure is not None:
        try:
            on_failure(failure)
        except Exception as nested:
            LOG.error("showing %r failed", failure.notice, exc_info=nested)
    return failure
