"""Typed, located access to a parsed TOML document.

Every accessor takes the key path it reads, so a wrong value produces an `InputError` that names
the file, the key path and the line, and says what is expected instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from planner.errors import InputError, KeyPath, Location, format_key
from planner.project.toml_positions import TomlPositions
from planner.urls import redact_text

_TOML_TYPE_NAMES = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    list: "an array",
    dict: "a table",
}


def toml_type_name(value: Any) -> str:
    return _TOML_TYPE_NAMES.get(type(value), type(value).__name__)


_LONG_NUMBER_RE = re.compile(r"\d{40,}")


def shorten_long_numbers(text: str) -> str:
    """Messages quote the user's text: a number of thousands of digits is shown by its length."""
    return _LONG_NUMBER_RE.sub(lambda m: f"{m.group(0)[:12]}…({len(m.group(0))} digits)", text)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


class DocumentReader:
    """A parsed TOML document plus the positions of its keys."""

    def __init__(self, file: Path, document: dict[str, Any], positions: TomlPositions, shown: str | None = None):
        self.file = file
        self.document = document
        self.positions = positions
        self.shown = shown  # how messages name the file (see `Location.shown`)

    def location(self, path: KeyPath) -> Location:
        return Location(self.file, tuple(path), self.positions.line_of(path), self.shown)

    def fail(self, path: KeyPath, problem: str, fix: str | None = None) -> NoReturn:
        # Messages quote the user's text, which may hold a URL with credentials: never show them.
        raise InputError(shorten_long_numbers(redact_text(problem)), location=self.location(path),
                         fix=shorten_long_numbers(redact_text(fix)) if fix is not None else None)

    # -- navigation ----------------------------------------------------------------------
    def get(self, path: KeyPath, default: Any = None) -> Any:
        node: Any = self.document
        for part in path:
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    return default
                node = node[part]
            else:
                if not isinstance(node, dict) or part not in node:
                    return default
                node = node[part]
        return node

    def has(self, path: KeyPath) -> bool:
        sentinel = object()
        return self.get(path, sentinel) is not sentinel

    # -- typed access --------------------------------------------------------------------
    def expect(self, path: KeyPath, value: Any, kind: type, example: str | None = None) -> Any:
        # bool is an int subclass in Python; TOML keeps them apart, and so do we.
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        wanted = _TOML_TYPE_NAMES[kind]
        fix = f"write {format_key(path)} as {wanted}" + (f", e.g. {example}" if example else "")
        if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
            fix = f'quote it: "{value}"' if isinstance(path[-1], int) else f'quote it: {path[-1]} = "{value}"'
        self.fail(path, f"expected {wanted}, found {toml_type_name(value)}", fix)

    def table(self, path: KeyPath, *, required: bool = False, example: str | None = None) -> dict[str, Any]:
        value = self.get(path)
        if value is None:
            if required:
                self.fail(path, f"missing table [{format_key(path)}]")
            return {}
        return self.expect(path, value, dict, example)

    def string(self, path: KeyPath, *, required: bool = False, example: str | None = None) -> str | None:
        value = self.get(path)
        if value is None:
            if required:
                self.fail(path, f"missing required key {format_key(path)}", f"add {path[-1]} = {example}" if example else None)
            return None
        return self.expect(path, value, str, example)

    def boolean(self, path: KeyPath, default: bool = False) -> bool:
        value = self.get(path)
        if value is None:
            return default
        return self.expect(path, value, bool, "true")

    def array(self, path: KeyPath, example: str | None = None) -> list[Any]:
        value = self.get(path)
        if value is None:
            return []
        return self.expect(path, value, list, example)

    def string_array(self, path: KeyPath, example: str | None = None) -> list[str]:
        """An array of strings; a single string is accepted where uv accepts one too."""
        value = self.get(path)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        items = self.expect(path, value, list, example)
        return [self.expect((*path, n), item, str, example) for n, item in enumerate(items)]

    def reject_unknown_keys(self, path: KeyPath, table: dict[str, Any], known: Iterable[str], what: str) -> None:
        known = list(known)
        for key in table:
            if key not in known:
                hint = did_you_mean(key, known)
                self.fail(
                    (*path, key),
                    f"unknown key '{key}' in {what}",
                    (hint + " " if hint else "") + f"known keys: {', '.join(known)}",
                )
