"""Index URL overrides from the command line or environment (`--index NAME=URL`,
`--default-index URL` / `PLANNER_DEFAULT_INDEX`): run an unchanged pyproject against other
index locations, such as a mirror or a local fixture.

`--index NAME=URL` for an index the pyproject declares (or `pypi`) replaces its URL. As in uv,
`--index NAME=URL` for an undeclared NAME, or `--index URL`, adds an index searched before every
declared one (the first given first); a bare URL is named `index-1`, `index-2`, ..."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from planner.errors import Diagnostic, InputError
from planner.project.model import PYPI_NAME, Index, Project, frozen_mapping
from planner.project.reader import did_you_mean
from planner.urls import normalize_index_url, redact_url


@dataclass(frozen=True)
class IndexOverrides:
    urls: Mapping[str, str] = dataclasses.field(default_factory=frozen_mapping)  # index name -> URL
    default_url: str | None = None

    @classmethod
    def parse(cls, index_options: Iterable[str], default_index: str | None, base_dir) -> IndexOverrides:
        urls: dict[str, str] = {}
        unnamed = 0
        for option in index_options:
            name, sep, url = option.partition("=")
            if sep and _NAME_RE.fullmatch(name.strip()) is None:  # a bare URL with '=' in its query
                name, sep, url = "", "", option
            if not sep:
                name, url = "", option
            if not url.strip():
                raise InputError(f"--index '{redact_url(option)}' gives no URL",
                                 fix="write --index pytorch-cpu=http://127.0.0.1:8000/simple, or --index URL")
            if not name.strip():
                try:
                    normalize_index_url(url, base_dir)
                except ValueError:
                    raise InputError(f"--index '{redact_url(option)}' is neither NAME=URL nor a URL or a folder",
                                     fix="write --index NAME=URL (NAME: an index of the pyproject, to replace "
                                         "its URL, or a new name) or --index URL") from None
                unnamed += 1
                name = f"index-{unnamed}"
            urls[name.strip()] = _url(f"--index {name.strip()}", url, base_dir)
        default = _url("--default-index", default_index, base_dir) if default_index else None
        return cls(frozen_mapping(urls), default)

    def __bool__(self) -> bool:
        return bool(self.urls) or self.default_url is not None


_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _url(option: str, raw: str, base_dir) -> str:
    try:
        url = normalize_index_url(raw, base_dir)
    except ValueError as exc:
        raise InputError(f"{option}: invalid index URL: {exc}", fix="give an http(s):// URL or a local path") from None
    if url.startswith("file:"):  # a folder that is not there would read as an index listing nothing
        from urllib.parse import unquote, urlsplit

        folder = Path(unquote(urlsplit(url).path))
        if not folder.is_dir():
            raise InputError(f"{option}: no such folder: {folder}",
                             fix="give the folder of a simple index (paths are relative to the current folder)")
    return url


def apply_index_overrides(project: Project, overrides: IndexOverrides) -> Project:
    """The project with declared indexes' URLs replaced and undeclared ones added first."""
    if not overrides:
        return project
    declared = {index.name for index in project.uv.indexes}
    pypi_url = project.pypi_url
    urls = dict(overrides.urls)
    if PYPI_NAME in urls and PYPI_NAME not in declared:
        pypi_url = urls.pop(PYPI_NAME)
    # Undeclared names: new indexes, before the declared ones, in the order given (uv's --index).
    added = [Index(name=name, url=url) for name, url in urls.items() if name not in declared]
    warnings = []
    for index in added:
        hint = did_you_mean(index.name, declared | {PYPI_NAME})
        if hint:
            warnings.append(Diagnostic(f"--index {index.name}=...: the project declares no index '{index.name}', "
                                       f"so it is added before the others ({hint} that one is replaced by "
                                       "--index NAME=URL)"))
    indexes = list(added)
    for index in project.uv.indexes:
        url = urls.get(index.name, index.url)
        if overrides.default_url and index.default:
            url = overrides.default_url
        indexes.append(dataclasses.replace(index, url=url))
    has_declared_default = any(index.default for index in project.uv.indexes)
    if overrides.default_url and not has_declared_default:
        pypi_url = overrides.default_url
    uv = dataclasses.replace(project.uv, indexes=tuple(indexes))
    return dataclasses.replace(project, uv=uv, pypi_url=pypi_url, warnings=project.warnings + tuple(warnings))
