"""The one ledger failure that is nobody's mistake and passes: the database server cannot be reached."""

from __future__ import annotations

from .backend import LedgerError


class LedgerUnavailable(LedgerError):
    """The ledger's server is down or unreachable: nothing was recorded by the failing operation; try again later."""
