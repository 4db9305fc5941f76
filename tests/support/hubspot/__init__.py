"""The HubSpot stand-in for tests: ``demo.hubspot_portal`` (installable, one copy), and the
benchmark's organisation (``bench_org``), which only a source checkout has."""

from demo.hubspot_portal import (
    HubSpotStandIn,
    Portal,
    PortalError,
    RateLimits,
    Record,
    Request,
    running_hubspot,
)

__all__ = [
    "HubSpotStandIn",
    "Portal",
    "PortalError",
    "RateLimits",
    "Record",
    "Request",
    "running_hubspot",
]
