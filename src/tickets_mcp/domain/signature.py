"""A bug report's signature: what its stack trace says, which rewording its prose cannot change.

Two reports of one bug are often worded apart ("Export crashes with KeyError", "CSV download fails for
some customers") while pasting the same trace. The trace names the exception type, where it was
raised (the innermost frame's file and line) and the functions on the way there. Python, Java, JavaScript
(V8 and Firefox) and Go traces are read; frames inside libraries and runtimes (site-packages,
node_modules, java.*, Go's runtime) are left out while the trace has frames of its own, so two bugs
that both end in a driver's `execute` are told apart by the application code that called it.

Two signatures match (the same bug) when they name the same exception type and either the same
innermost location or the same innermost frames.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# The innermost frames compared: more would let one refactored caller split a bug in two.
TOP_FRAMES = 3

_ERROR_NAME = r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*"
_ERROR_SUFFIXES = ("error", "exception", "violation", "warning", "fault", "failure", "interrupt", "exit", "timeout")
# `KeyError: 'x'`, `Caused by: java.io.IOException: …`, `Uncaught TypeError: …`, `panic: runtime error: …`
_ERROR_LINE = re.compile(
    rf"""^\s*(?:Caused\ by:\s*|Exception\ in\ thread\ "[^"]*"\s+|Uncaught\s+(?:\(in\ promise\)\s+)?)?
    (?P<name>{_ERROR_NAME})(?::\s*(?P<message>.*))?$""",
    re.VERBOSE,
)
_CAUSED_BY = re.compile(r"^\s*Caused by:")
_GO_PANIC = re.compile(r"^\s*panic:\s*(?P<message>.*)$")
_PANIC_DETAIL = re.compile(r"\[[^\]]*\]|\d+|0x[0-9a-f]+|\bwith length\b.*")  # values, not the kind of panic
PANIC_WORDS = 6
MESSAGE_MAX = 100
_PLAIN = re.compile(r"[^\w.:/$ -]+")
SHOWN_MAX = 80  # characters of a signature in a refusal
_PYTHON_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)')
_JAVA_FRAME = re.compile(r"^\s*at (?P<function>[\w$.<>/]+)\((?P<path>[^():]+):(?P<line>\d+)\)")
_JS_FRAME = re.compile(
    r"""^\s*at\ (?:async\ )?(?:new\ )?
    (?:(?P<function>[^\s(]+)(?:\ \[as\ \S+\])?\ \()?  # `fn (` unless anonymous
    (?P<path>[^\s()]+?):(?P<line>\d+)(?::\d+)?\)?\s*$""",
    re.VERBOSE,
)
_FIREFOX_FRAME = re.compile(r"^\s*(?P<function>[\w$.<>/]*)@(?P<path>\S+?):(?P<line>\d+)(?::\d+)?\s*$")
_GO_FUNCTION = re.compile(r"^(?P<function>\S+)\([^()]*\)$")
_GO_LOCATION = re.compile(r"^\s+(?P<path>\S+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?\s*$")
_LIBRARY_PATHS = re.compile(
    r"(site-packages|dist-packages|/lib/python\d|<frozen |node_modules|^node:|/usr/local/go/|/go/pkg/mod/|^runtime/|"
    r"/runtime/)"
)
_LIBRARY_JAVA = re.compile(r"^(java|javax|jdk|sun|kotlin|scala)\.|^org\.(junit|springframework|apache)\.")


@dataclass(frozen=True, slots=True)
class Frame:
    function: str
    path: str
    line: int

    @property
    def location(self) -> str:
        """The file's last two path parts and the line (`app/export.py:142`): checkouts differ above that."""
        return "/".join(self.path.replace("\\", "/").split("/")[-2:]) + f":{self.line}"


@dataclass(frozen=True, slots=True)
class Signature:
    """The exception type, and the trace's own frames innermost first (maybe none)."""

    error: str
    frames: tuple[Frame, ...] = ()
    message: str = ""  # the exception's message without its numbers, lower-cased: what kind of failure

    @property
    def location(self) -> str | None:
        return self.frames[0].location if self.frames else None

    @property
    def top(self) -> tuple[str, ...]:
        return tuple(frame.function for frame in self.frames[:TOP_FRAMES])

    @property
    def shown(self) -> str:
        """`KeyError at app/export.py:142`, for a refusal: only what an identifier or a path holds, capped,
        since a trace is text from outside (a Go panic's message, a forged path) and is echoed to a model."""
        # A panic's kind is the runtime's words (`runtime error: index out of range`); any other panic's
        # message is the program's own prose, kept out of what a model reads.
        error = self.error if not self.error.startswith("panic:") or "runtime error" in self.error else "panic"
        plain = " ".join(_PLAIN.sub(" ", f"{error} at {self.location}").split())
        return plain if len(plain) <= SHOWN_MAX else plain[: SHOWN_MAX - 1] + "…"

    def matches(self, other: Signature) -> bool:
        """The same bug: the same exception raised through the same innermost calls, or at the same place
        from the same caller or with the same message. A helper every request goes through (`fetch_json`)
        raises one error at one line for bugs that share nothing else: different callers with different
        messages are only related."""
        if self.error != other.error or not self.frames or not other.frames:
            return False
        if len(self.top) >= 2 and self.top == other.top:
            return True
        callers = [frames[1].function if len(frames) > 1 else None for frames in (self.frames, other.frames)]
        same_caller = None in callers or callers[0] == callers[1]
        return self.location == other.location and (same_caller or self.message == other.message)

    def related(self, other: Signature) -> bool:
        """Worth a look: the same exception type raised in the same file or function. Outer frames do not
        count: every crash of a program passes through its `main`."""
        if self.error != other.error or not self.frames or not other.frames:
            return False
        mine, theirs = self.frames[0], other.frames[0]
        return (
            mine.function == theirs.function or mine.location.rpartition(":")[0] == theirs.location.rpartition(":")[0]
        )

    def word_groups(self) -> tuple[tuple[str, ...], ...]:
        """Sets of words of which the description of a matching report holds at least one whole: the
        exception's name with the innermost file's name (at any line: a related report, or the same one
        moved), or with the innermost function's name. Each is a handful of words an index answers
        "all of these" for at once."""
        if not self.frames:
            return ()
        error = _index_words(self.error if self.error.startswith("panic:") else self.error.rpartition(".")[2])
        frame = self.frames[0]
        at = _index_words(frame.path.replace("\\", "/").rpartition("/")[2])
        called = _index_words(".".join(frame.function.split(".")[-2:]))
        groups = (tuple(dict.fromkeys((*error, *at))), tuple(dict.fromkeys((*error, *called))))
        return tuple(dict.fromkeys(groups))


def _index_words(text: str) -> tuple[str, ...]:
    return tuple(word.lower() for word in re.findall(r"[^\W_]+", text))


def signature(text: str) -> Signature | None:
    """The signature of the first stack trace in `text`, or None when it holds no exception line."""
    lines = text.splitlines()
    # A Java trace's root cause is its last `Caused by:` section: its type, and its frames, not the wrapper's.
    causes = [n for n, line in enumerate(lines) if _CAUSED_BY.match(line)]
    if causes and _error(lines[causes[-1] :]) is not None:
        lines = lines[causes[-1] :]
    found = _error(lines)
    if found is None:
        return None
    error, message = found
    frames = list(_frames(lines))
    own = [frame for frame in frames if not _is_library(frame)]
    return Signature(error, tuple(own or frames), message)


def _error(lines: list[str]) -> tuple[str, str] | None:
    """The trace's exception type and the kind of its message: the last exception line (Python's raised
    error, Java's root cause)."""
    found: tuple[str, str] | None = None
    for line in lines:
        if panic := _GO_PANIC.match(line):  # `runtime error: index out of range [3] with length 3`: its kind
            kind = " ".join(_PANIC_DETAIL.sub("", panic["message"]).split()[:PANIC_WORDS])
            return "panic: " + kind, kind.lower()
        match = _ERROR_LINE.match(line)
        if match and match["name"].rpartition(".")[2].lower().endswith(_ERROR_SUFFIXES):
            found = match["name"], " ".join(_PANIC_DETAIL.sub("", match["message"] or "").lower().split())[:MESSAGE_MAX]
    return found


def _frames(lines: list[str]) -> Iterator[Frame]:
    """The frames innermost first, whichever language printed them."""
    python = [Frame(m["function"], m["path"], int(m["line"])) for line in lines if (m := _PYTHON_FRAME.match(line))]
    if python:  # Python prints the innermost call last
        yield from reversed(python)
        return
    for index, line in enumerate(lines):
        if m := _JAVA_FRAME.match(line) or _JS_FRAME.match(line) or _FIREFOX_FRAME.match(line):
            yield Frame(m["function"] or "<anonymous>", m["path"], int(m["line"]))
        elif (
            (m := _GO_FUNCTION.match(line)) and index + 1 < len(lines) and (at := _GO_LOCATION.match(lines[index + 1]))
        ):
            yield Frame(m["function"], at["path"], int(at["line"]))


def _is_library(frame: Frame) -> bool:
    return bool(_LIBRARY_PATHS.search(frame.path.replace("\\", "/")) or _LIBRARY_JAVA.match(frame.function))
