"""HubSpot sync: the store kept in step with a HubSpot portal (docs/hubspot.md).

The public surface: ``HubSpotConfig`` and ``client_for`` to reach a portal, ``Syncer`` for
full and incremental syncs, ``status`` for where they stand, and the webhook inbox.
"""

from connectors.hubspot.api import (
    HubSpotApi,
    HubSpotError,
    MissingScope,
    OfficialClient,
    Unauthorized,
)
from connectors.hubspot.limits import BudgetSpent, RateLimiter
from connectors.hubspot.objects import ALL_NAMES, BY_NAME, OBJECT_TYPES
from connectors.hubspot.state import Status, TypeStatus, release_lease, status, take_lease
from connectors.hubspot.sync import Syncer, SyncResult, touched_user_ids

__all__ = [
    "ALL_NAMES",
    "BY_NAME",
    "OBJECT_TYPES",
    "BudgetSpent",
    "HubSpotApi",
    "HubSpotError",
    "MissingScope",
    "OfficialClient",
    "RateLimiter",
    "Status",
    "SyncResult",
    "Syncer",
    "TypeStatus",
    "Unauthorized",
    "release_lease",
    "status",
    "take_lease",
    "touched_user_ids",
]
