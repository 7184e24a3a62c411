"""The error taxonomy (DESIGN.md §7): every failure is one of three kinds, and stages act on the kind.

- ``TransientError``: worth retrying with backoff (network, a locked database).
- ``RunFailure``: the run must stop with a message an operator can act on; a Retry after the fix resumes.
- ``RowRejection``: one row (a charge, a remittance claim) is stored with its reason and the run goes on.

Messages never carry PHI: they name claim keys, charge ids, file names and counts only.
"""

from __future__ import annotations


class RevcycleError(Exception):
    """Base of every error revcycle raises on purpose."""


class TransientError(RevcycleError):
    """A failure that may pass on its own: retry with backoff."""


class RunFailure(RevcycleError):
    """A failure that stops the run until an operator acts; the message says what to do."""


class ConfigurationError(RunFailure):
    """Bad or missing configuration."""


class UnknownPayerError(RunFailure):
    """A charge or file names a payer no connector is registered for."""


class ThresholdExceeded(RunFailure):
    """Too large a share of rows was rejected for the run to go on."""


class HostKeyMismatch(RunFailure):
    """The server's host key is not the pinned one: nothing is sent; never retried."""


class AuthenticationFailed(RunFailure):
    """Credentials were refused: never retried (retrying locks accounts)."""


class LedgerConflict(RunFailure):
    """The ledger and the outside world disagree in a way that needs a person."""


class RowRejection(RevcycleError):
    """One row is rejected with a reason; the run goes on."""

    def __init__(self, row_id: str, rule: str, column: str | None, message: str) -> None:
        super().__init__(f"{row_id}: {rule}" + (f" ({column})" if column else "") + f": {message}")
        self.row_id = row_id
        self.rule = rule
        self.column = column
        self.message = message


def is_retryable(error: BaseException) -> bool:
    """True when a task should retry after ``error`` (transient kinds only)."""
    return isinstance(error, TransientError)
