"""Realistic bug-report text for the bench: titles of 3-12 words and descriptions of 0-120, deterministic by seed.

    python -m bench.corpus [--seed S] [--count N] [--words]   # print samples, or the most frequent words

Words come from `vocabulary.txt` (components, symptoms, problems, platforms, technical nouns, exception
types...), each category drawn with a Zipf-Mandelbrot law over the order it is listed in, through
sentence shapes that bug reports use ("Export fails when uploading large file on Safari", "Steps to
reproduce: ...", "Expected: ... Actual: ..."). So, as in a real tracker, a few words ("page", "when",
"error", "fails") are in a large share of tickets and most are rare; some descriptions carry version
numbers, file paths, request ids and stack traces (Python, Java, JavaScript), of which a few crash
sites recur often, as reports of one bug do. `reword(title)` makes a near-duplicate of a title, as an
agent filing the same bug twice would.

Speed: about 20 µs a ticket. Each category is drawn from a table of 2**16 slots filled in proportion to
its words' weights (`Zipf`), one `getrandbits` a word.
"""

from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

VOCABULARY = Path(__file__).resolve().parent / "vocabulary.txt"
TITLE_WORDS = (3, 12)
DESCRIPTION_WORDS_MAX = 120
TRACES = 3000  # distinct crash sites; drawn with a Zipf law, so the first few recur in many reports
TRACED = 0.15  # of bug descriptions
EMPTY = 0.12  # descriptions left empty
# Zipf-Mandelbrot: the word of rank r (from 1) weighs 1 / (r + Q) ** S, as word frequencies in English text.
S, Q = 1.0, 2.7

# Verbs whose last consonant doubles (`log` -> `logging`, `logged`), and irregular past forms.
_DOUBLING = frozenset({
    "drop", "log", "drag", "tap", "stop", "ship", "plan", "map", "pin", "unpin", "zip", "scan", "chat",
    "submit", "commit", "star", "tag", "swap", "rerun", "skip", "trim", "wrap", "cancel",
})  # fmt: skip
_PAST = {
    "send": "sent", "pay": "paid", "set": "set", "get": "got", "run": "ran", "build": "built", "make": "made",
    "let": "let", "find": "found", "read": "read", "write": "written", "put": "put", "cut": "cut", "speed": "sped",
}  # fmt: skip


def load_vocabulary(path: Path = VOCABULARY) -> dict[str, tuple[str, ...]]:
    """The categories of `path`, each its words in order of frequency, without repeats."""
    categories: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = categories.setdefault(line[1:-1], [])
        elif current is None:
            raise ValueError(f"{path}: {line!r} before any [category]")
        elif line not in current:
            current.append(line)
    return {name: tuple(words) for name, words in categories.items()}


def _inflect(verb: str) -> tuple[str, str, str]:
    """(third person, -ing, past) of a verb or a phrase led by one: `log in` -> `logs in`, `logging in`, `logged in`."""
    head, _, rest = verb.partition(" ")
    tail = f" {rest}" if rest else ""
    if head in _DOUBLING:
        ing, ed = head + head[-1] + "ing", head + head[-1] + "ed"
    elif head.endswith("e") and not head.endswith(("ee", "ye", "oe")):
        ing, ed = head[:-1] + "ing", head + "d"
    elif head.endswith("y") and head[-2:-1] not in ("a", "e", "o", "u"):
        ing, ed = head + "ing", head[:-1] + "ied"
    else:
        ing, ed = head + "ing", head + "ed"
    ed = _PAST.get(head, ed)
    if head.endswith(("s", "x", "z", "ch", "sh")):
        s = head + "es"
    elif head.endswith("y") and head[-2:-1] not in ("a", "e", "o", "u"):
        s = head[:-1] + "ies"
    else:
        s = head + "s"
    return s + tail, ing + tail, ed + tail


class Zipf:
    """Draws from `items` with weight 1 / (rank + Q) ** S: a table of 2**bits slots, each item given at least one."""

    def __init__(self, items: Sequence[str], rng: random.Random, bits: int = 16) -> None:
        if not items:
            raise ValueError("nothing to draw from")
        weights = [1 / (rank + Q) ** S for rank in range(1, len(items) + 1)]
        slots = 1 << bits
        total = sum(weights)
        counts = [max(1, round(w / total * slots)) for w in weights]
        counts[0] += slots - sum(counts)  # the rounding's remainder goes to the most frequent
        self.table = [item for item, count in zip(items, counts, strict=True) for _ in range(count)]
        self._bits = bits
        self._rng = rng

    def __call__(self) -> str:
        return self.table[self._rng.getrandbits(self._bits)]


Slot = Callable[[], str]
_SLOT = re.compile(r"\{(\w+)\}")


class Corpus:
    """Titles and descriptions of bug reports, feature requests and tasks, drawn from one seeded generator."""

    def __init__(self, seed: int, vocabulary: dict[str, tuple[str, ...]] | None = None) -> None:
        words = vocabulary or load_vocabulary()
        self.rng = rng = random.Random(seed)
        self.words = words
        draw = {name: Zipf(items, rng) for name, items in words.items()}
        verbs = {form: Zipf([_inflect(v)[i] for v in words["verb"]], rng) for i, form in enumerate(("s", "ing", "ed"))}
        bits = rng.getrandbits
        choice = rng.choice
        self._slots: dict[str, Slot] = {
            **draw,
            "verb_s": verbs["s"],
            "verb_ing": verbs["ing"],
            "verb_ed": verbs["ed"],
            "version": lambda: self.version(),
            "http": Zipf(["500", "404", "502", "403", "401", "400", "504", "503", "409", "422", "429", "413"], rng),
            "hex": lambda: f"{bits(32):08x}",
            "number": lambda: str(1 + int(rng.paretovariate(1.2) * 10)),
            "count": Zipf(["2", "10", "3", "100", "5", "1000", "50", "20", "500", "10000", "4", "200"], rng),
            "line": lambda: str(1 + bits(9)),
            "path": lambda: self.path(),
            "endpoint": lambda: f"/api/v{1 + bits(1)}/{draw['module']()}/{bits(16)}",
            "duration": Zipf(_DURATIONS, rng),
            "frequency": Zipf(_FREQUENCIES, rng),
            "role": Zipf(["user", "admin", "customer", "developer", "manager", "support agent", "guest"], rng),
            "context": lambda: self._context(),
            "message": lambda: self.message(),
            "article": lambda: choice(("the", "the", "a")),
        }
        self._titles = {
            kind: [self._compile(t) for t in templates] for kind, templates in _TITLES.items()
        }  # fmt: skip
        self._title_pick = {kind: Zipf([str(i) for i in range(len(t))], rng) for kind, t in self._titles.items()}
        self._sentences = {kind: [self._compile(t) for t in templates] for kind, templates in _SENTENCES.items()}
        self._sentence_pick = {kind: Zipf([str(i) for i in range(len(t))], rng) for kind, t in self._sentences.items()}
        contexts = [self._compile(t) for t in _CONTEXTS]
        context_pick = Zipf([str(i) for i in range(len(contexts))], rng)
        self._context_parts = contexts, context_pick
        # The crash sites, from a generator of their own: the same pool whatever else is drawn.
        self._traces = _TracePool(random.Random(seed * 7919 + 1), words, self)
        self._trace_pick = Zipf([str(i) for i in range(TRACES)], rng)

    # Slots

    def _compile(self, template: str) -> list[str | Slot]:
        parts: list[str | Slot] = []
        for n, piece in enumerate(_SLOT.split(template)):
            if n % 2 == 0:
                if piece:
                    parts.append(piece)
            else:
                parts.append(self._slots[piece])
        return parts

    @staticmethod
    def _render(parts: list[str | Slot]) -> str:
        return "".join(p if isinstance(p, str) else p() for p in parts)

    def _context(self) -> str:
        contexts, pick = self._context_parts
        return self._render(contexts[int(pick())])

    def version(self) -> str:
        rng = self.rng
        major = min(9, int(rng.paretovariate(2.0)))
        version = f"{major}.{rng.randrange(20)}.{rng.randrange(12)}"
        return "v" + version if rng.random() < 0.3 else version

    def path(self) -> str:
        rng, module = self.rng, self._slots["module"]
        if rng.random() < 0.5:
            return f"app/{module()}/{module()}.py"
        name = "".join(w.capitalize() for w in self._slots["component"]().split())
        return f"src/{module()}/{name}.{rng.choice(('tsx', 'ts', 'js', 'vue'))}"

    def message(self) -> str:
        return self._render(self._compile(self.rng.choice(_MESSAGES)))

    # Text

    def title(self, kind: str = "bug") -> str:
        """A title of 3-12 words for a ticket of `kind` (bug, feature, task, improvement)."""
        templates = self._titles[kind]
        words = self._render(templates[int(self._title_pick[kind]())]).split()
        while len(words) < TITLE_WORDS[0]:
            words += self._context().split()
        text = " ".join(words[: TITLE_WORDS[1]])
        return text[0].upper() + text[1:]

    def description(self, kind: str = "bug") -> str:
        """0-120 words: sentences of the kind's shapes, and in some bug reports a stack trace."""
        rng = self.rng
        if rng.random() < EMPTY:
            return ""
        wanted = min(DESCRIPTION_WORDS_MAX, max(4, int(rng.lognormvariate(3.5, 0.7))))
        trace = self._traces.text(int(self._trace_pick())) if kind == "bug" and rng.random() < TRACED else ""
        budget = wanted - len(trace.split())
        sentences = self._sentences[kind]
        pick = self._sentence_pick[kind]
        lines: list[str] = []
        used = 0
        while used < budget:
            sentence = self._render(sentences[int(pick())]).split()[: budget - used]
            used += len(sentence)
            lines.append(" ".join(sentence))
        if trace:
            lines.append(trace)
        return "\n".join(lines)

    def ticket(self, kind: str = "bug") -> tuple[str, str]:
        return self.title(kind), self.description(kind)

    def reword(self, title: str) -> str:
        """A near-duplicate of `title`: one word dropped, swapped, replaced or added, as a second report reads."""
        rng = self.rng
        words = title.split()
        roll = rng.random()
        if roll < 0.3 and len(words) > 3:
            del words[rng.randrange(1, len(words))]
        elif roll < 0.5 and len(words) > 2:
            i = rng.randrange(1, len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        elif roll < 0.75:
            words[rng.randrange(len(words))] = self._slots["component"]()
        else:
            words += self._context().split()[:2]
        text = " ".join(words[: TITLE_WORDS[1]])
        return text[0].upper() + text[1:]


class _TracePool:
    """TRACES stack traces, each an exception raised through 2-5 frames of the application's own code."""

    def __init__(self, rng: random.Random, words: dict[str, tuple[str, ...]], corpus: Corpus) -> None:
        self._rng = rng
        self._words = words
        self._corpus = corpus
        self._built: dict[int, str] = {}
        self._seeds = [rng.getrandbits(32) for _ in range(TRACES)]

    def text(self, index: int) -> str:
        found = self._built.get(index)
        if found is None:
            found = self._built[index] = self._make(random.Random(self._seeds[index]))
        return found

    def _make(self, rng: random.Random) -> str:
        words = self._words
        module = rng.choice(words["module"])
        functions = [f"{rng.choice(words['function'])}_{rng.choice(words['module'])}" for _ in range(rng.randint(2, 5))]
        error = rng.choice(words["exception"][:40])
        message = rng.choice(_TRACE_MESSAGES)
        style = rng.random()
        if style < 0.45:
            lines = ["Traceback (most recent call last):"]
            for fn in reversed(functions):
                path = f"app/{module}/{rng.choice(words['module'])}.py"
                lines.append(f'  File "{path}", line {rng.randint(10, 900)}, in {fn}')
            lines.append(f"{error}: {message}")
        elif style < 0.75:
            package = f"com.acme.{module}"
            lines = [f"{error}: {message}"]
            for fn in functions:
                cls = "".join(w.capitalize() for w in rng.choice(words["module"]).split("_")) + "Service"
                method = "".join(p if i == 0 else p.capitalize() for i, p in enumerate(fn.split("_")))
                lines.append(f"    at {package}.{cls}.{method}({cls}.java:{rng.randint(10, 900)})")
        else:
            lines = [f"{error}: {message}"]
            for fn in functions:
                name = "".join(p if i == 0 else p.capitalize() for i, p in enumerate(fn.split("_")))
                comp = "".join(w.capitalize() for w in rng.choice(words["component"]).split())
                lines.append(f"    at {name} (src/{module}/{comp}.tsx:{rng.randint(10, 900)}:{rng.randint(1, 80)})")
        return "\n".join(lines)


_DURATIONS = ("30 seconds", "a few seconds", "2 minutes", "10 seconds", "over a minute", "5 minutes", "half an hour",
              "an hour")  # fmt: skip
_FREQUENCIES = ("every time", "sometimes", "intermittently", "only on the first load", "about half the time",
                "since yesterday", "since the last release", "randomly", "once a day", "for some users",
                "only in production")  # fmt: skip

_CONTEXTS = (
    "on {platform}",
    "in {platform}",
    "for {adjective} {component}",
    "after {verb_ing} {component}",
    "with {adjective} {component}",
    "since {version}",
    "on the {component} page",
    "for {role}s",
    "in {module}",
    "when {component} is {adjective}",
)

_TITLES: dict[str, tuple[str, ...]] = {
    "bug": (
        "{component} {symptom}",
        "{component} {symptom} when {verb_ing} {component}",
        "{problem} when {verb_ing} {component}",
        "{component} {component} {symptom}",
        "{component} {symptom} {context}",
        "Cannot {verb} {component}",
        "{problem} on {component} page",
        "{component} {symptom} when {verb_ing} {adjective} {component} {context}",
        "{exception} in {component}",
        "{adjective} {component} {symptom}",
        "{component} {symptom} after {verb_ing} {component}",
        "{component} returns {http} for {adjective} {component}",
        "Unable to {verb} {adjective} {component} {context}",
        "{problem} in {component} {component}",
        "[{module}] {component} {symptom}",
        "{component} {symptom} after upgrade to {version}",
        "{verb_ing} {component} {symptom}",
        "{exception} when {verb_ing} {component} {context}",
        "{component} {symptom} for {role}s",
        "{problem} in {tech} {component} since {version}",
        "Error {verb_ing} {component}: {message}",
    ),
    "feature": (
        "{feature} {component} {component}",
        "{feature} {verb_ing} {component}",
        "{feature} {component} to {component}",
        "{feature} {adjective} {component} in {component}",
        "{feature} {tech} support",
        "Support {tech} for {component}",
        "{component}: {feature} {component} {context}",
        "As a {role} I want to {verb} {component}",
        "{feature} {component} {component} for {role}s",
        "Option to {verb} {adjective} {component}",
    ),
    "task": (
        "Update {tech} to {version}",
        "{feature} {component} {component}",
        "Migrate {component} to {tech}",
        "Refactor {module} {component}",
        "Add tests for {component} {component}",
        "Investigate {problem} in {component}",
        "Clean up {adjective} {component}",
        "Write docs for {component} {component}",
        "Remove {adjective} {component} from {component}",
        "Bump {tech} from {version} to {version}",
        "Set up {tech} for {module}",
    ),
    "improvement": (
        "Improve {component} {component}",
        "Make {component} faster",
        "Speed up {verb_ing} {component}",
        "Better {problem} messages in {component}",
        "Reduce {component} load time",
        "{feature} {component} {context}",
        "Simplify {component} {component}",
        "Show {component} {component} in {component}",
    ),
}

_SENTENCES: dict[str, tuple[str, ...]] = {
    "bug": (
        "When I {verb} {article} {component} the {component} {symptom}.",
        "Steps to reproduce: 1. Open the {component} page 2. Click {component} 3. {verb} the {adjective} {component}",
        "Expected: the {component} {verb_s} the {component}.",
        "Actual: {problem}.",
        "This happens {frequency} {context}.",
        "The {component} {symptom} when the {component} is {adjective}.",
        "Error in console: {exception}: {message}",
        "Users report that the {component} {symptom} when they {verb} a {adjective} {component}.",
        "It started after {version}.",
        "Browser: {platform}, version {version}.",
        "Logs show {problem} in {module} ({tech}).",
        "Seen in {path}:{line}",
        "Request id {hex}, {http} from {endpoint}",
        "Works in {version}, broken in {version}.",
        "Workaround: {verb} the {component} and {verb} it again.",
        "Related to #{number}.",
        "The {component} takes {duration} to {verb} with {count} {component}s.",
        "Happens with {count} {component}s or more, fine with fewer.",
        "Probably caused by the {tech} {component} change in {version}.",
        "Screenshot attached.",
        "Customer {hex} reported this {frequency}.",
        "The {tech} {component} {symptom} under load.",
        "See also #{number} and #{number}.",
    ),
    "feature": (
        "As a {role} I want to {verb} {article} {component} from the {component}.",
        "It would be nice to {verb} {adjective} {component}s in the {component}.",
        "Right now the only way is to {verb} each {component} by hand.",
        "We should {feature} the {component} so that {role}s can {verb} {adjective} {component}s.",
        "Acceptance criteria: the {component} {verb_s} the {component} {context}.",
        "Requested by {count} customers.",
        "Similar to how {tech} handles {component}s.",
        "See #{number} for the discussion.",
        "Out of scope: {adjective} {component}s.",
    ),
    "task": (
        "{feature} the {component} in {module} and {verb} the {component}.",
        "Part of the {tech} migration, see #{number}.",
        "Needs {tech} {version} or later.",
        "Check {path} and {path}.",
        "Done when the {component} {verb_s} {adjective} {component}s {context}.",
        "Blocked by #{number}.",
        "Estimate: {duration}.",
    ),
    "improvement": (
        "The {component} takes {duration} to {verb} {context}.",
        "It would be faster to {verb} the {component} once and {verb} it.",
        "Users {verb} the {component} {frequency} and the {component} {symptom}.",
        "Measured {count} ms for {count} {component}s.",
        "Could use {tech} for the {component}.",
        "See #{number}.",
    ),
}

_MESSAGES = (
    "Cannot read properties of undefined (reading '{module}')",
    "{component} not found",
    "unexpected {tech} in {component}",
    "invalid {component} {tech}",
    "{http} {tech} error",
    "connection to {tech} timed out",
    "{module} is not defined",
)

_TRACE_MESSAGES = (
    "'customer_id'",
    "Cannot read properties of undefined (reading 'id')",
    "list index out of range",
    "connection refused",
    "invalid literal for int() with base 10: ''",
    "'NoneType' object has no attribute 'get'",
    "duplicate key value violates unique constraint",
    "could not serialize access due to concurrent update",
    'Cannot invoke "String.length()" because "name" is null',
    "Request failed with status code 500",
    "timed out after 30000ms",
    "Unexpected token < in JSON at position 0",
    "division by zero",
    "maximum recursion depth exceeded",
    "x is not a function",
)


def texts(n: int, seed: int, kinds: Sequence[str] = ("bug",)) -> Iterator[tuple[str, str]]:
    """`n` (title, description) pairs, the kinds taken in turn."""
    corpus = Corpus(seed)
    for i in range(n):
        yield corpus.ticket(kinds[i % len(kinds)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--words", action="store_true", help="the 40 words in the most tickets of --count")
    args = parser.parse_args(argv)
    kinds = ("bug", "bug", "feature", "task", "improvement")
    if args.words:
        seen: Counter[str] = Counter()
        for title, description in texts(args.count, args.seed, kinds):
            seen.update(set(re.findall(r"[^\W_]+", f"{title} {description}".lower())))
        for word, tickets in seen.most_common(40):
            print(f"{word:20} {tickets / args.count:6.1%}")
        return 0
    for title, description in texts(args.count, args.seed, kinds):
        print(f"# {title}\n{description}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
