"""domain/files.py: a file's type from its bytes, whether a browser may show it in place, its name, the limits."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from tickets_mcp.config import Settings
from tickets_mcp.domain.files import (
    DEFAULT_FILE_MAX,
    ENV_FILE_MAX,
    ENV_QUOTA,
    FileLimits,
    file_limits,
    shown_inline,
    size_text,
    sniff,
)
from tickets_mcp.errors import Invalid


def zipped() -> bytes:
    """A zip that is the same bytes at every run: parallel workers must collect the same test ids."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("a.txt", date_time=(2026, 1, 1, 0, 0, 0)), "hi")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "mime"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40), "image/jpeg"),
        (b"GIF89a" + bytes(40), "image/gif"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(20), "application/pdf"),
        (b"%PDF-1.4\n1 0 obj << >> endobj\n", "application/pdf"),  # a PDF of ASCII only
        (zipped(), "application/zip"),
        (gzip.compress(b"logs", mtime=0), "application/gzip"),
        (b"  \n<HTML><body>hi</body></HTML>", "text/html"),
        (b"<script>alert(1)</script>", "text/html"),
        (b"\xef\xbb\xbf<!-- a comment --><p>hi</p>", "text/html"),
        (b'<?xml version="1.0"?>\n<!-- drawn -->\n<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
        (b'<?xml version="1.0"?><feed/>', "text/xml"),
        (b"<note>an angle bracket is not a page</note>", "text/plain"),
        (b"function f() { return 1 }\n", "text/plain"),
        (b"MZ is where the text starts", "text/plain"),  # not a Windows program
        ("Grüße, 世界\n".encode(), "text/plain"),
        ("caf\xe9".encode("latin-1"), "application/octet-stream"),  # not UTF-8
        (b"\x7fELF\x02\x01\x01" + bytes(60), "application/x-executable"),
        (b"", "text/plain"),
    ],
)
def test_a_files_type_is_read_from_its_bytes(content: bytes, mime: str) -> None:
    assert sniff(content) == mime


@pytest.mark.parametrize(
    ("mime", "inline"),
    [
        ("image/png", True),
        ("text/plain", True),
        ("application/pdf", True),
        ("video/mp4", True),
        ("image/svg+xml", False),
        ("text/html", False),
        ("text/xml", False),
        ("application/octet-stream", False),
        ("application/zip", False),
    ],
)
def test_only_types_a_browser_shows_without_running_anything_are_served_inline(mime: str, inline: bool) -> None:
    assert shown_inline(mime) is inline


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 bytes"), (1, "1 byte"), (1023, "1023 bytes"), (1536, "1.5 KiB"), (10 * 1024**2, "10 MiB")],
)
def test_sizes_read_as_people_write_them(size: int, text: str) -> None:
    assert size_text(size) == text


def test_the_limits_are_read_from_the_environment_in_bytes_or_units(monkeypatch: pytest.MonkeyPatch) -> None:
    assert file_limits() == FileLimits(file_max=DEFAULT_FILE_MAX, quota=1024**3)
    monkeypatch.setenv(ENV_FILE_MAX, "512KiB")
    monkeypatch.setenv(ENV_QUOTA, "2000000")
    assert file_limits() == FileLimits(file_max=512 * 1024, quota=2_000_000)


@pytest.mark.parametrize(("name", "value"), [(ENV_FILE_MAX, "ten megabytes"), (ENV_FILE_MAX, "0"),
                                             (ENV_FILE_MAX, "2GiB"), (ENV_QUOTA, "1 TB")])  # fmt: skip
def test_a_wrong_limit_is_refused_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(Invalid, match=name):
        Settings.from_env(db=":memory:")
