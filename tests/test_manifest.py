"""app_manifest.yml is a valid Slack manifest and declares what the app uses."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from packaging.licenses import canonicalize_license_expression

from handlers.slack import ids

REPO = Path(__file__).resolve().parents[1]
# Vendored with its MIT licence (tests/support/slack_manifest/), so this runs on every clone.
SCHEMA = REPO / "tests" / "support" / "slack_manifest" / "manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "app_manifest.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_manifest_matches_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(manifest, schema)


def test_vendored_schema_keeps_its_licence() -> None:
    licence = (SCHEMA.parent / "LICENSE").read_text()
    assert "MIT License" in licence and "Slack Technologies" in licence


def test_schema_rejects_what_slack_would_reject(manifest: dict[str, Any]) -> None:
    """The vendored schema really checks: a manifest without display information fails."""
    broken = {k: v for k, v in manifest.items() if k != "display_information"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA.read_text()))


def test_manifest_declares_what_the_app_uses(manifest: dict[str, Any]) -> None:
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == [ids.SLASH_COMMAND]
    # "as @user" needs Slack to send the mention as an id, not a display name.
    assert manifest["features"]["slash_commands"][0]["should_escape"] is True
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "message.im",
    }
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "im:write", "im:history", "users:read", "users:read.email"} <= scopes


def test_http_mode_switch_is_valid_too(manifest: dict[str, Any]) -> None:
    """Flipping the documented switch still gives a valid manifest."""
    url = "https://salesbot.example.com/slack/events"
    manifest = json.loads(json.dumps(manifest))
    manifest["settings"]["socket_mode_enabled"] = False
    manifest["settings"]["event_subscriptions"]["request_url"] = url
    manifest["settings"]["interactivity"]["request_url"] = url
    manifest["features"]["slash_commands"][0]["url"] = url
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))


def test_package_licence_is_an_spdx_expression() -> None:
    """setuptools warns on the old `{ text = ... }` table; a plain SPDX string builds quietly."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    licence = project["project"]["license"]
    assert isinstance(licence, str)
    assert canonicalize_license_expression(licence) == licence
    # The SPDX form needs setuptools 77 or newer to build.
    assert "setuptools>=77" in project["build-system"]["requires"]
