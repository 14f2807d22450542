"""OAuth clients named by a URL: fetching and checking a Client ID Metadata Document.

draft-ietf-oauth-client-id-metadata-document-01, which the MCP authorization spec (2025-11-25) prefers to
dynamic registration: a client's `client_id` is an https URL, and the JSON document served there describes the
client. The authorization server fetches it while a person waits on the authorization page, from a URL anyone
can type, so the fetch is bounded: one deadline for all of it, a size cap counted while reading, answers read
only as JSON, TLS verified against the name, and connections only to addresses checked first
(network.GuardedNetwork: public ones, and loopback and private ones only where the operator allows). The draft
says not to follow redirects; a policy may allow a few, to the same origin only.

Nothing is cached: each call fetches. The draft forbids caching failures and lets a server cache documents, but
replicas share nothing in process, and one fetch per authorization is cheap next to the person reading the page.
"""

from __future__ import annotations

import functools
import json
import os
import ssl
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, NoReturn, TypeVar, cast
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import anyio
import httpcore2
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import ValidationError

from tickets_mcp import __version__
from tickets_mcp.domain.webhooks import Targets, parse_networks
from tickets_mcp.errors import TrackerError
from tickets_mcp.network import GuardedNetwork, RefusedTarget, Unresolved

__all__ = ["ClientDocumentRefused", "DocumentPolicy", "fetch_client_document", "is_document_client_id"]

USER_AGENT: Final = f"tickets-mcp-oauth/{__version__}"
URL_MAX: Final = 2000
SHOWN_MAX: Final = 120  # characters of a URL or value a refusal repeats
EXAMPLE: Final = "e.g. https://app.example.com/oauth/client.json"
REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
# What allow_private opens besides public addresses: loopback and private ranges, where an operator's own clients
# may publish documents. Link-local (a cloud's metadata service at 169.254.169.254), multicast and unspecified
# addresses stay refused.
PRIVATE_NETWORKS: Final = parse_networks(
    ["127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"]
)
# RFC 3986's characters: a client_id is compared as a string, so it is taken only as a URI already is.
_URI_CHARACTERS: Final = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
# Token endpoint methods resting on a secret both sides hold, which a public document cannot establish.
_SHARED_SECRET_METHODS: Final = frozenset({"client_secret_basic", "client_secret_post", "client_secret_jwt"})
_UNSAFE_SCHEMES: Final = frozenset({"javascript", "data", "vbscript", "file"})
# What the authorization server records about a client, not the client's to claim.
_NOT_THE_CLIENTS: Final = ("issuer", "client_id_issued_at")
_E = TypeVar("_E", bound=BaseException)
_HEADERS: Final = (
    (b"Accept", b"application/json"),
    (b"Accept-Encoding", b"identity"),  # a compressed body could unpack past any cap
    (b"User-Agent", USER_AGENT.encode()),
)


class ClientDocumentRefused(TrackerError):
    """A client_id URL, or the document it serves, that this server will not take. `str()` says why and what to
    fix, for the authorization page or an OAuth `error_description`; it never repeats credentials."""


class ClientDocumentUnreachable(ClientDocumentRefused):
    """The document could not be fetched at all (no answer in time, no connection, a refused address). Its
    detail is for the log: told to whoever asked, it would make /authorize a port scanner."""


@dataclass(frozen=True, slots=True)
class DocumentPolicy:
    """How a client document is fetched: an operator's choices, the same for every client."""

    timeout: float = 5.0  # seconds for all of it: resolving, connecting, TLS, each redirect and the whole body
    max_bytes: int = 5 * 1024  # the draft recommends at most 5 kilobytes
    allow_private: bool = False  # loopback and private networks too (PRIVATE_NETWORKS), for an operator's clients
    verify: Literal[True] | str | os.PathLike[str] = True  # the system's CAs, or only this CA file (an internal CA)
    max_redirects: int = 0  # the draft says not to follow redirects; a few may be allowed, to the same origin only

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"DocumentPolicy.timeout must be more than 0 seconds, not {self.timeout!r}")
        if self.max_bytes < 1:
            raise ValueError(f"DocumentPolicy.max_bytes must be at least 1, not {self.max_bytes!r}")
        if self.max_redirects < 0:
            raise ValueError(f"DocumentPolicy.max_redirects must be 0 or more, not {self.max_redirects!r}")
        if self.verify is not True and not os.path.isfile(os.fspath(self.verify)):
            raise ValueError(f"DocumentPolicy.verify names no CA file: {os.fspath(self.verify)}")


def is_document_client_id(client_id: str) -> bool:
    """Whether `client_id` names a metadata document rather than a client this server registered: the draft's
    rule, so registered ids must never start with https:// (fetch_client_document checks the rest)."""
    return client_id.startswith("https://")


async def fetch_client_document(client_id: str, policy: DocumentPolicy) -> OAuthClientInformationFull:
    """The public client that `client_id` names, read from the document it serves, its token endpoint auth method
    "none"; ClientDocumentRefused saying why not. Fetched on every call."""
    _check_client_id(client_id)
    try:
        with anyio.fail_after(policy.timeout):
            body = await _fetch(client_id, policy)
    except (TimeoutError, httpcore2.TimeoutException):
        _refuse(
            client_id,
            f"did not answer in full within {policy.timeout:g} s",
            "Serve the document quickly, from a host that answers at once.",
            unreachable=True,
        )
    return _client(client_id, body)


def _check_client_id(client_id: str) -> None:
    """The draft's client identifier: an https URL with a path, no fragment, no dot segments, no credentials."""
    if not client_id.startswith("https://"):
        raise ClientDocumentRefused("A client_id document URL starts with https:// (in lower case).", hint=EXAMPLE)
    if len(client_id) > URL_MAX or not set(client_id) <= _URI_CHARACTERS:
        raise ClientDocumentRefused(
            f"A client_id URL is printable ASCII without spaces, at most {URL_MAX} characters.",
            hint="Percent-encode other characters.",
        )
    parts = urlsplit(client_id)
    if "@" in parts.netloc:
        raise ClientDocumentRefused(
            "A client_id URL may not hold a user name or password.", hint="Remove user:password@ from it."
        )
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ClientDocumentRefused("The client_id URL's port is not one a server listens on.", hint=EXAMPLE)
    if not parts.hostname:
        raise ClientDocumentRefused("The client_id URL has no host.", hint=EXAMPLE)
    if "#" in client_id:
        raise ClientDocumentRefused("A client_id URL has no #fragment.", hint="Remove the # and what follows it.")
    if parts.path in ("", "/"):
        raise ClientDocumentRefused("A client_id URL has a path after its host.", hint=EXAMPLE)
    if any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        raise ClientDocumentRefused(
            "A client_id URL has no dot segment (. or ..) in its path.", hint="Write the path it resolves to."
        )


async def _fetch(client_id: str, policy: DocumentPolicy) -> bytes:
    """The document's bytes, from `client_id` or where it redirects on its own origin, as far as policy allows."""
    timeouts = dict.fromkeys(("connect", "read", "write", "pool"), policy.timeout)
    url = client_id
    redirects = 0
    try:
        async with httpcore2.AsyncConnectionPool(
            ssl_context=_tls_context(True if policy.verify is True else os.fspath(policy.verify)),
            network_backend=GuardedNetwork(_targets(policy)),
            max_connections=1,
            retries=0,
        ) as pool:
            while True:
                async with pool.stream("GET", url, headers=list(_HEADERS), extensions={"timeout": timeouts}) as answer:
                    if answer.status not in REDIRECTS:
                        return await _read(client_id, answer, policy.max_bytes)
                    url = _redirect(client_id, url, answer, redirects, policy.max_redirects)
                    redirects += 1
    except (RefusedTarget, Unresolved) as exc:
        _refuse(client_id, f"was not fetched: {str(exc).removeprefix('refused: ')}", None, unreachable=True)
    except httpcore2.ConnectError as exc:
        untrusted = _cause(exc, ssl.SSLCertVerificationError)
        if untrusted is not None:
            _refuse(
                client_id,
                f"was not fetched: its TLS certificate is not trusted ({untrusted.verify_message})",
                "Serve it with a certificate valid for its host, from a CA this server trusts.",
            )
        _refuse(
            client_id,
            f"was not fetched: could not connect ({_reason(exc)})",
            "Check that its host is up.",
            unreachable=True,
        )
    except (httpcore2.NetworkError, httpcore2.ProtocolError) as exc:
        _refuse(client_id, f"was not fetched: the connection broke ({_reason(exc)})", "Try again.", unreachable=True)


def _redirect(client_id: str, url: str, answer: httpcore2.Response, redirects: int, allowed: int) -> str:
    """Where a redirect on the same origin leads; a refusal for any other, or one past the limit."""
    location = _header(answer, b"location")
    if not location:
        _refuse(client_id, f"answered HTTP {answer.status} without a Location", "Serve the document with 200 OK.")
    target = urldefrag(urljoin(url, location)).url
    if _origin(target) != _origin(url):
        _refuse(
            client_id,
            f"redirects to another origin ({_shown(_origin(target))}), which this server does not follow",
            "Serve the document at the client_id URL itself.",
        )
    if redirects >= allowed:
        said = "a redirect" if allowed == 0 else f"more than {allowed} redirect{'s' if allowed > 1 else ''}"
        _refuse(client_id, f"answered with {said}, which this server does not follow", "Serve it at that URL itself.")
    return target


async def _read(client_id: str, answer: httpcore2.Response, cap: int) -> bytes:
    """The body of a 200 JSON answer, read only while it stays within `cap` bytes."""
    if answer.status != 200:
        _refuse(client_id, f"answered HTTP {answer.status}", "Serve the document at exactly this URL, with 200 OK.")
    encoding = _header(answer, b"content-encoding")
    if encoding and encoding.strip().lower() != "identity":
        _refuse(client_id, f"came compressed ({_shown(encoding)})", "Serve it uncompressed: this server asks so.")
    media = (_header(answer, b"content-type") or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        _refuse(
            client_id, f"is served as {_shown(media) or 'no content type'}, not JSON", "Serve it as application/json."
        )
    limit = f"{cap // 1024} KiB" if cap % 1024 == 0 else f"{cap} bytes"
    declared = _header(answer, b"content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > cap:
        _refuse(client_id, f"declares {int(declared)} bytes, more than {limit}", f"Keep it under {limit}.")
    body = bytearray()
    async for chunk in answer.aiter_stream():
        body += chunk
        if len(body) > cap:  # what follows is never read: the connection closes with the answer
            _refuse(client_id, f"is more than {limit}", f"Keep it under {limit}: a client document is a few fields.")
    return bytes(body)


def _client(client_id: str, body: bytes) -> OAuthClientInformationFull:
    """The client a document describes, by the draft's rules and ours: a public client with redirect URIs."""
    try:
        parsed: object = json.loads(body, object_pairs_hook=_unrepeated)
    except _Repeated as exc:
        _refuse(client_id, f"names {_shown(exc.name)} twice", "Give each member once.")
    except (ValueError, RecursionError):
        _refuse(client_id, "is not valid JSON", "Serve a JSON object of client metadata (RFC 7591).")
    document = _members(parsed)
    if document is None:
        _refuse(client_id, "is JSON but not a JSON object", "Serve a JSON object of client metadata (RFC 7591).")
    stated = document.get("client_id")
    if stated is None:
        _refuse(client_id, "has no client_id", "Add client_id, the document's URL exactly.")
    if stated != client_id:
        _refuse(
            client_id,
            f"names client_id {_shown(json.dumps(stated))}, which does not match its URL",
            "The client_id must be the document's URL exactly, character for character.",
        )
    _check_public(client_id, document)
    _check_redirect_uris(client_id, document.get("redirect_uris"))
    claimed = {name: value for name, value in document.items() if name not in _NOT_THE_CLIENTS}
    try:
        return OAuthClientInformationFull.model_validate({**claimed, "token_endpoint_auth_method": "none"})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "value"
        _refuse(client_id, f"has an invalid {_shown(where)}: {error['msg']}", "Fix it (RFC 7591 client metadata).")


def _check_public(client_id: str, document: Mapping[str, Any]) -> None:
    """No secret, and nothing resting on one: a document anyone can read establishes none (the draft)."""
    for name in ("client_secret", "client_secret_expires_at"):
        if name in document:
            _refuse(client_id, f"holds {name}", "Remove it: a public document cannot carry a secret.")
    method = document.get("token_endpoint_auth_method")
    if method not in (None, "none"):
        shown = _shown(json.dumps(method))
        if method in _SHARED_SECRET_METHODS:
            said = f"asks for token_endpoint_auth_method {shown}, a shared secret a public document cannot establish"
        else:
            said = f"asks for token_endpoint_auth_method {shown}, which this server does not support"
        _refuse(client_id, said, 'Use "none" (a public client, which proves itself with PKCE), or leave it out.')
    algorithm = document.get("token_endpoint_auth_signing_alg")
    if isinstance(algorithm, str) and algorithm.upper().startswith("HS"):
        _refuse(
            client_id,
            f"names token_endpoint_auth_signing_alg {_shown(algorithm)}, which rests on a shared secret",
            "Remove it.",
        )
    keys = _items((_members(document.get("jwks")) or {}).get("keys")) or []
    if any((_members(key) or {}).get("kty") == "oct" for key in keys):
        _refuse(client_id, "publishes a symmetric key (kty oct) in jwks", "Publish public keys only, or no jwks.")


def _check_redirect_uris(client_id: str, value: object) -> None:
    uris = _items(value)
    if not uris or not all(isinstance(uri, str) for uri in uris):
        _refuse(
            client_id,
            "needs redirect_uris, a list of one URL or more",
            'List where codes may be sent, e.g. "redirect_uris": ["http://127.0.0.1:33418/callback"].',
        )
    for uri in cast(list[str], uris):
        try:
            scheme = urlsplit(uri).scheme.lower()
        except ValueError:
            scheme = ""
        if not scheme:
            _refuse(client_id, f"lists redirect URI {_shown(json.dumps(uri))}, not an absolute URL", "Write it whole.")
        if scheme in _UNSAFE_SCHEMES:
            _refuse(client_id, f"lists a {scheme}: redirect URI", "A redirect URI is an http(s) or an app's own URL.")
        if "#" in uri:
            _refuse(
                client_id,
                f"lists redirect URI {_shown(json.dumps(uri))} with a fragment",
                "A redirect URI has no #fragment (RFC 6749 3.1.2).",
            )


class _Repeated(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _unrepeated(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose members are each named once: parsers disagree on which of two wins."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise _Repeated(name)
        found[name] = value
    return found


def _targets(policy: DocumentPolicy) -> Targets:
    """The webhooks' address check, worded for documents; private networks only when the policy allows them."""
    return Targets(
        PRIVATE_NETWORKS if policy.allow_private else (),
        purpose="fetch OAuth client documents from",
        remedy="publish the document on a public host",
    )


@functools.lru_cache(maxsize=4)
def _tls_context(verify: Literal[True] | str) -> ssl.SSLContext:
    """Made once per CA choice: loading the system's CAs takes milliseconds the event loop would wait."""
    return ssl.create_default_context() if verify is True else ssl.create_default_context(cafile=verify)


def _refuse(client_id: str, what: str, hint: str | None, *, unreachable: bool = False) -> NoReturn:
    refusal = ClientDocumentUnreachable if unreachable else ClientDocumentRefused
    raise refusal(f"The client document at {_shown(client_id)} {what}.", hint=hint)


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_MAX else text[: SHOWN_MAX - 1] + "…"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme.lower()
    return f"{scheme}://{parts.hostname or ''}:{port or (443 if scheme == 'https' else 80)}"


def _header(answer: httpcore2.Response, name: bytes) -> str | None:
    for key, value in answer.headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _members(value: object) -> dict[str, Any] | None:
    return cast(dict[str, Any], value) if isinstance(value, dict) else None


def _items(value: object) -> list[Any] | None:
    return cast(list[Any], value) if isinstance(value, list) else None


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _reason(exc: BaseException) -> str:
    """What went wrong in the system's words (`Connection refused`), found under the wrappers' messages."""
    failure = _cause(exc, OSError)
    if failure is not None and isinstance(failure.errno, int) and not isinstance(failure, ssl.SSLError):
        return os.strerror(failure.errno)
    return _shown(" ".join(str(exc).split()) or type(exc).__name__)
