"""Where the authorization server answers: known to the app's transport guard and the MCP mount too."""

from __future__ import annotations

METADATA_PATH = "/.well-known/oauth-authorization-server"
RESOURCE_METADATA_PREFIX = "/.well-known/oauth-protected-resource"
CONSENT_PATH = "/board/consent"
# The OAuth endpoints a browser-based client calls from its own origin (with CORS): no cookie acts there.
CROSS_ORIGIN_PATHS = frozenset({METADATA_PATH, "/token", "/register", "/revoke"})
