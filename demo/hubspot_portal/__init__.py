"""An offline HubSpot: the API stand-in the connector's tests and benchmark run against.

``HubSpotStandIn`` serves HubSpot's REST API over an in-memory ``Portal``;
``load_demo_portal`` fills a portal with the demo organisation; ``webhooks`` signs and
delivers HubSpot's webhook events. See docs/hubspot.md ("The stand-in").
"""

from demo.hubspot_portal.limits import RateLimits
from demo.hubspot_portal.portal import Portal, PortalError, Record
from demo.hubspot_portal.server import HubSpotStandIn, Request, running_hubspot

__all__ = [
    "HubSpotStandIn",
    "Portal",
    "PortalError",
    "RateLimits",
    "Record",
    "Request",
    "running_hubspot",
]
