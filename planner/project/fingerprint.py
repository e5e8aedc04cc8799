"""What a plan depends on in a pyproject, as one hash (`Project.fingerprint`).

`planner compile --check` compares it with the one the outputs were made from, so it must change
with every edit that can change a plan, and with no other: it hashes the parsed document (so
comments, whitespace, key order, quoting and inline-versus-block tables do not count) after
dropping what no plan reads:

- `[project]` fields that only describe the project: description, readme, authors, maintainers,
  keywords, classifiers, urls, license, license-files;
- `[tool.*]` tables other than `tool.uv` and `tool.planner`, and the `tool.uv` keys that steer
  only uv's installer, cache or publishing (`NO_EFFECT_UV_KEYS`);

and after writing requirement strings the way `packaging` prints them (`numpy >= 1.26` and
`numpy>=1.26` are one requirement) and `exclude-newer` values by what they mean (`7 days` and
`P7D` are one span). Everything else counts, including keys planner does not know: a new setting
errs on the side of "stale".
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

DESCRIPTIVE_PROJECT_KEYS = frozenset({
    "description", "readme", "authors", "maintainers", "keywords", "classifiers", "urls", "license",
    "license-files",
})
_REQUIREMENT_LISTS = (("tool", "uv", "constraint-dependencies"), ("tool", "uv", "override-dependencies"),
                      ("tool", "uv", "dev-dependencies"), ("project", "dependencies"))
_REQUIREMENT_TABLES = (("project", "optional-dependencies"), ("dependency-groups",))


def fingerprint(document: Mapping[str, Any], no_effect_uv_keys: Iterable[str],
                cutoff_meaning: Callable[[Any], str]) -> str:
    """`sha256:<hex>` of the canonical content; `cutoff_meaning` turns an exclude-newer value
    (already validated) into its meaning."""
    content = json.loads(json.dumps(document, default=str))  # a deep copy with TOML dates as text
    project = content.get("project")
    if isinstance(project, dict):
        for key in DESCRIPTIVE_PROJECT_KEYS:
            project.pop(key, None)
    tool = content.get("tool")
    if isinstance(tool, dict):
        for key in [k for k in tool if k not in ("uv", "planner")]:
            del tool[key]
        uv = tool.get("uv")
        if isinstance(uv, dict):
            for key in no_effect_uv_keys:
                uv.pop(key, None)
            if "exclude-newer" in uv:
                uv["exclude-newer"] = cutoff_meaning(uv["exclude-newer"])
            per_package = uv.get("exclude-newer-package")
            if isinstance(per_package, dict):
                uv["exclude-newer-package"] = {k: v if v is False else cutoff_meaning(v) for k, v in per_package.items()}
    for path in _REQUIREMENT_LISTS:
        _normalise_list(content, path)
    for path in _REQUIREMENT_TABLES:
        table = _get(content, path)
        if isinstance(table, dict):
            for name in table:
                _normalise_list(content, (*path, name))
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _get(node: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _normalise_list(content: dict[str, Any], path: tuple[str, ...]) -> None:
    items = _get(content, path)
    if not isinstance(items, list):
        return
    for n, item in enumerate(items):
        if isinstance(item, str):
            try:
                items[n] = str(Requirement(item))
            except InvalidRequirement:
                pass


def combined_fingerprint(root: str, members: Iterable[Any], path_sources: Iterable[str] = ()) -> str:
    """A workspace's fingerprint: the root's, each member's (`Project`) by where it is, and the
    states of the trees and files `path` sources name (`path_source_state`)."""
    parts = [root] + sorted(f"{m.shown or m.pyproject}={m.fingerprint}" for m in members) + sorted(path_sources)
    if len(parts) == 1:
        return root
    return "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


# What a build of a source tree reads besides pyproject.toml (its metadata may come from them).
_BUILD_INPUTS = ("setup.py", "setup.cfg")


def path_source_state(path: Path, no_effect_uv_keys: Iterable[str], cutoff_meaning: Callable[[Any], str]) -> str:
    """What a plan depends on in what a `path` source names: a tree's pyproject by meaning (as
    `fingerprint`) and its setup.py / setup.cfg by bytes; a file's sha256; or that it is missing.
    Never fails: a path that cannot be read is an error only when a compile needs it."""
    try:
        if path.is_file():
            with path.open("rb") as stream:
                return f"file sha256:{hashlib.file_digest(stream, 'sha256').hexdigest()}"
        if not path.is_dir():
            return "missing"
        parts = []
        pyproject = path / "pyproject.toml"
        if pyproject.is_file():
            data = pyproject.read_bytes()
            try:
                parts.append(fingerprint(tomllib.loads(data.decode()), no_effect_uv_keys, cutoff_meaning))
            except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
                parts.append("bytes sha256:" + hashlib.sha256(data).hexdigest())
        for name in _BUILD_INPUTS:
            if (path / name).is_file():
                parts.append(f"{name} sha256:" + hashlib.sha256((path / name).read_bytes()).hexdigest())
        return "tree " + " ".join(parts)
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
