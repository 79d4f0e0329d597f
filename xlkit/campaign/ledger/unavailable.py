"""The one ledger failure that is nobody's mistake and passes: the database server cannot be reached."""

from __future__ import annotations

from ...errors import CampaignError


class LedgerUnavailable(CampaignError):
    """The ledger's server is down or unreachable: nothing was recorded by the failing operation; try again later."""
