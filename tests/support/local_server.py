"""What every stand-in server shares (the HubSpot stand-in's, installable with the demo)."""

from demo.hubspot_portal.local_server import LocalServer, send_json

__all__ = ["LocalServer", "send_json"]
