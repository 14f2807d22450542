"""Files attached to tickets: their names, their types, how they may be served, and the limits on them.

A file's MIME type is read from its bytes, never taken from what the uploader says (a name ending in .png,
a Content-Type): binary formats by their signatures, through the `filetype` package (pure Python, no
system library, imported on the first attachment only); text (UTF-8 without the bytes a text never holds)
as text/plain, or as HTML, SVG or XML when it opens the way a browser would sniff it as one (the WHATWG
MIME Sniffing standard's patterns). Text is tested first: a signature of two letters (`BM`, `MZ`) would
otherwise make a text file that starts with them an image or a program.

A file is served inline only when its type is one a browser shows without running anything in it
(`shown_inline`); HTML, SVG, XML, scripts and every unknown type are downloads, so an uploaded page never
runs on the board's origin.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from tickets_mcp.domain.rules import plural
from tickets_mcp.domain.text import CONTROLS, visible
from tickets_mcp.environment import env
from tickets_mcp.errors import Invalid, TooLarge

OCTET_STREAM: Final = "application/octet-stream"
TEXT: Final = "text/plain"
SNIFF_BYTES: Final = 8192  # the head of a file its signature and markup are read from

# Bytes no text holds (WHATWG MIME Sniffing's "binary data bytes"): C0 controls but tab, line feed, form
# feed, carriage return and escape. Looked for one by one (memchr): 2 ms for 10 MiB, a regex takes 100.
_BINARY_BYTES: Final = tuple(bytes([b]) for b in (*range(0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)))
# The tags that make a text HTML when it opens with one (after white space), as browsers sniff it.
_HTML: Final = re.compile(
    r"<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)(?=[\s>/]|$)",
    re.IGNORECASE,
)
# What may stand before an XML document's first element: its declaration, comments, processing
# instructions and a doctype.
_XML_PROLOG: Final = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->|<!doctype[^>]*>)*", re.IGNORECASE | re.DOTALL)
_ELEMENT: Final = re.compile(r"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_TEXT_SIGNATURES: Final = (("%PDF-", "application/pdf"), ("%!PS-Adobe-", "application/postscript"))
# Types a browser shows without running what they hold: served inline; any other is a download.
_INLINE_PREFIXES: Final = ("image/", "audio/", "video/")
_NOT_INLINE: Final = frozenset({"image/svg+xml"})  # an image that runs scripts
_INLINE: Final = frozenset({TEXT, "application/pdf"})


def sniff(content: bytes) -> str:
    """The MIME type `content` is, read from its bytes alone."""
    head = content[:SNIFF_BYTES]
    if text := _as_text(content):
        return _text_type(text[:SNIFF_BYTES])
    if not content:
        return TEXT  # an empty file: nothing in it to run or show
    import filetype  # its matcher tables load on the first attachment, not at start-up

    return filetype.guess_mime(head) or OCTET_STREAM


def _as_text(content: bytes) -> str | None:
    """`content` as text when it is UTF-8 (a byte order mark allowed) holding no binary data bytes."""
    if any(byte in content for byte in _BINARY_BYTES):
        return None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _text_type(head: str) -> str:
    opening = head.lstrip()
    for signature, mime in _TEXT_SIGNATURES:
        if opening.startswith(signature):
            return mime
    if _HTML.match(opening):
        return "text/html"
    prolog = _XML_PROLOG.match(opening)
    after = opening[prolog.end() if prolog else 0 :]
    element = _ELEMENT.match(after)
    if element is not None and element.group(2).lower() == "svg":
        return "image/svg+xml"
    if element is not None and element.group(2).lower() == "html":
        return "text/html"
    if opening.startswith("<?xml"):
        return "text/xml"
    return TEXT


def is_text(mime: str) -> bool:
    """Whether a file of this type is text to read (shown to a model as text, not as bytes)."""
    return mime.startswith("text/") or mime in ("image/svg+xml", "application/postscript")


def shown_inline(mime: str) -> bool:
    """Whether a browser may show a file of this type in place: it renders it without running anything."""
    return mime in _INLINE or (mime.startswith(_INLINE_PREFIXES) and mime not in _NOT_INLINE)


NAME_MAX: Final = 120  # characters of a file's name
EXTENSION_KEPT: Final = 16  # a long name is cut before its extension, up to this long, so the type still shows
UNNAMED: Final = "attachment"


def file_name(raw: str) -> str:
    """The name a file is kept and shown under: its last path segment (never a path: `../../etc/passwd` is
    `passwd`), without control, bidirectional or invisible characters, white space runs one space, at most
    NAME_MAX characters (cut before its extension), and never empty nor only dots."""
    text = unicodedata.normalize("NFC", raw)
    last = re.split(r"[/\\]", text)[-1] if text else ""
    flat = " ".join(word for part in visible(last).split() if (word := CONTROLS.sub("", part)))
    flat = flat.strip(". ")  # `..`, `.`, a trailing dot some systems drop: nothing a name needs
    if not flat:
        return UNNAMED
    if len(flat) <= NAME_MAX:
        return flat
    stem, dot, extension = flat.rpartition(".")
    if not dot or not stem or len(extension) > EXTENSION_KEPT:
        return flat[: NAME_MAX - 1].rstrip() + "…"
    return stem[: NAME_MAX - len(extension) - 2].rstrip() + "…." + extension


def size_text(size: int) -> str:
    """A size as people read it: `312 bytes`, `1.5 KiB`, `10 MiB`."""
    if size < 1024:
        return "1 byte" if size == 1 else f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f}".removesuffix(".0") + f" {unit}"
    raise AssertionError("unreachable")


def too_large(field: str, size: int, file_max: int, *, about: bool = False) -> TooLarge:
    """The refusal of a file of `size` bytes (`about`: estimated, from base64) past the limit `file_max`, in
    bytes as well, so the caller knows how much to cut."""
    said = f"about {size_text(size)}" if about else f"{size_text(size)} ({size:,} bytes)"
    cut = "" if about else f" at least {plural(size - file_max, 'byte')} smaller"
    return TooLarge(
        field,
        f"The file is {said}; this server takes files up to {size_text(file_max)} ({file_max:,} bytes). "
        "Nothing was attached.",
        hint=f"Attach a file{cut}: the part that matters, or a compressed copy.",
    )


# Limits: the size of one file, and what all of an organization's attachments may add up to.
ENV_FILE_MAX: Final = "TICKETS_ATTACHMENT_MAX"
ENV_QUOTA: Final = "TICKETS_ATTACHMENT_QUOTA"
DEFAULT_FILE_MAX: Final = 10 * 1024**2
DEFAULT_QUOTA: Final = 1024**3
# Beyond this a file is no longer an attachment to a ticket, and one row of either database holds it badly
# (SQLite's default limit on a value is 1e9 bytes, a PostgreSQL bytea 1 GiB).
FILE_MAX_CEILING: Final = 512 * 1024**2
_UNITS: Final = {"": 1, "b": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}
_AMOUNT: Final = re.compile(r"(\d{1,15})\s*([a-z]*)")


@dataclass(frozen=True, slots=True)
class FileLimits:
    """The largest file one attachment holds, and the bytes an organization's attachments may take in all
    (each attachment counts its size, even where the same bytes are stored once for several)."""

    file_max: int = DEFAULT_FILE_MAX
    quota: int = DEFAULT_QUOTA


def file_limits() -> FileLimits:
    """The limits from TICKETS_ATTACHMENT_MAX and TICKETS_ATTACHMENT_QUOTA (bytes, or with KiB, MiB, GiB);
    read on each use like the search budget, and checked at start (config.Settings.from_env)."""
    file_max = _amount(ENV_FILE_MAX, DEFAULT_FILE_MAX)
    if not 1 <= file_max <= FILE_MAX_CEILING:
        raise Invalid(
            "attachment_max", f"{ENV_FILE_MAX} must be 1 byte to {size_text(FILE_MAX_CEILING)}, not {file_max}."
        )
    return FileLimits(file_max=file_max, quota=_amount(ENV_QUOTA, DEFAULT_QUOTA))


def _amount(name: str, default: int) -> int:
    text = env(name, "").strip()
    if not text:
        return default
    found = _AMOUNT.fullmatch(text.lower())
    if found is None or found.group(2) not in _UNITS:
        raise Invalid(
            name.removeprefix("TICKETS_").lower(),
            f"{name} must be a number of bytes, or of KiB, MiB or GiB (10MiB), not {text!r}.",
        )
    return int(found.group(1)) * _UNITS[found.group(2)]
