"""Line numbers for TOML key paths.

`tomllib` validates and parses but forgets where things were written; error messages need
`pyproject.toml:14`. This scanner walks a document that `tomllib` has already accepted and
records the line on which each key path (tables, keys, array elements, inline-table members)
starts. It never decides validity itself, so it can stay small.
"""

from __future__ import annotations

from collections.abc import Iterator

from planner.errors import KeyPath

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}\n#")


class TomlPositions:
    """Maps key paths (strings for keys, ints for array indexes) to 1-based line numbers."""

    def __init__(self, text: str):
        self._lines: dict[KeyPath, int] = {}
        try:
            _Scanner(text, self._lines).scan()
        except IndexError:  # pragma: no cover - only on input tomllib rejected
            pass

    def line_of(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its closest written ancestor."""
        probe = tuple(path)
        while probe:
            if probe in self._lines:
                return self._lines[probe]
            probe = probe[:-1]
        return None

    def __iter__(self) -> Iterator[tuple[KeyPath, int]]:
        return iter(self._lines.items())


class _Scanner:
    def __init__(self, text: str, out: dict[KeyPath, int]):
        self.s = text
        self.i = 0
        self.line = 1
        self.out = out
        self.array_counts: dict[KeyPath, int] = {}

    # -- low level -------------------------------------------------------------------------
    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def advance(self, n: int = 1) -> None:
        chunk = self.s[self.i : self.i + n]
        self.line += chunk.count("\n")
        self.i += n

    def skip_space(self, newlines: bool) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.i += 1
            else:
                return

    def record(self, path: KeyPath) -> None:
        self.out.setdefault(path, self.line)

    # -- structure -------------------------------------------------------------------------
    def scan(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_space(newlines=True)
            if self.i >= len(self.s):
                return
            if self.peek(2) == "[[":
                self.advance(2)
                table = self.header(self.keys(), array=True)
                self.skip_space(newlines=False)
                self.advance(2)
            elif self.peek() == "[":
                self.advance()
                table = self.header(self.keys(), array=False)
                self.skip_space(newlines=False)
                self.advance()
            else:
                self.key_value(table)

    def header(self, keys: list[str], array: bool) -> KeyPath:
        path: KeyPath = ()
        for n, key in enumerate(keys):
            path += (key,)
            self.record(path)  # `[a.b.c]` also defines `a` and `a.b` here, unless written earlier
            if array and n == len(keys) - 1:
                index = self.array_counts.get(path, 0)
                self.array_counts[path] = index + 1
                self.record(path)
                path += (index,)
            elif path in self.array_counts:  # sub-table of the latest [[array]] element
                path += (self.array_counts[path] - 1,)
        self.record(path)
        return path

    def keys(self) -> list[str]:
        keys: list[str] = []
        while True:
            self.skip_space(newlines=False)
            c = self.peek()
            if c == '"':
                keys.append(self.basic_string())
            elif c == "'":
                keys.append(self.literal_string())
            else:
                start = self.i
                while self.i < len(self.s) and self.s[self.i] in _BARE_KEY_CHARS:
                    self.i += 1
                keys.append(self.s[start : self.i])
            self.skip_space(newlines=False)
            if self.peek() != ".":
                return keys
            self.advance()

    def key_value(self, base: KeyPath) -> None:
        line = self.line
        keys = self.keys()
        path = base + tuple(keys)
        for n in range(1, len(keys) + 1):
            self.out.setdefault(base + tuple(keys[:n]), line)
        self.skip_space(newlines=False)
        self.advance()  # '='
        self.skip_space(newlines=False)
        self.value(path)

    def value(self, path: KeyPath) -> None:
        self.record(path)
        c = self.peek()
        if c == "[":
            self.advance()
            index = 0
            while True:
                self.skip_space(newlines=True)
                if self.peek() == "]":
                    self.advance()
                    return
                self.value(path + (index,))
                index += 1
                self.skip_space(newlines=True)
                if self.peek() == ",":
                    self.advance()
        elif c == "{":
            self.advance()
            while True:
                self.skip_space(newlines=True)
                if self.peek() == "}":
                    self.advance()
                    return
                self.key_value(path)
                self.skip_space(newlines=True)
                if self.peek() == ",":
                    self.advance()
        elif self.peek(3) in ('"""', "'''"):
            self.multiline_string(self.peek(3))
        elif c == '"':
            self.basic_string()
        elif c == "'":
            self.literal_string()
        else:
            while self.i < len(self.s) and self.s[self.i] not in _SCALAR_END:
                self.i += 1

    # -- strings ---------------------------------------------------------------------------
    def basic_string(self) -> str:
        self.advance()
        out = []
        while self.s[self.i] != '"':
            if self.s[self.i] == "\\":
                out.append(self.s[self.i : self.i + 2])
                self.i += 2
            else:
                out.append(self.s[self.i])
                self.i += 1
        self.i += 1
        text = "".join(out)
        # Keys with escapes are rare in pyproject files; decode the common ones.
        return text.encode("utf-8").decode("unicode_escape") if "\\" in text else text

    def literal_string(self) -> str:
        self.advance()
        end = self.s.index("'", self.i)
        text = self.s[self.i : end]
        self.i = end + 1
        return text

    def multiline_string(self, quote: str) -> None:
        self.advance(3)
        while True:
            if quote == '"""' and self.peek() == "\\":
                self.advance(2)
            elif self.peek(3) == quote:
                self.advance(3)
                while self.peek() == quote[0]:  # up to two quotes may close the content
                    self.advance()
                return
            else:
                self.advance()
