"""Index URL overrides from the command line or environment (`--index NAME=URL`,
`--default-index URL` / `PLANNER_DEFAULT_INDEX`): run an unchanged pyproject against other
index locations, such as a mirror or a local fixture."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from planner.errors import InputError
from planner.project.model import PYPI_NAME, Project, frozen_mapping
from planner.urls import normalize_index_url, redact_url


@dataclass(frozen=True)
class IndexOverrides:
    urls: Mapping[str, str] = dataclasses.field(default_factory=frozen_mapping)  # index name -> URL
    default_url: str | None = None

    @classmethod
    def parse(cls, index_options: Iterable[str], default_index: str | None, base_dir) -> IndexOverrides:
        urls: dict[str, str] = {}
        for option in index_options:
            name, sep, url = option.partition("=")
            if not sep or not name.strip() or not url.strip():
                raise InputError(f"--index '{redact_url(option)}' is not NAME=URL",
                                 fix="write --index pytorch-cpu=http://127.0.0.1:8000/simple")
            urls[name.strip()] = _url(f"--index {name.strip()}", url, base_dir)
        default = _url("--default-index", default_index, base_dir) if default_index else None
        return cls(frozen_mapping(urls), default)

    def __bool__(self) -> bool:
        return bool(self.urls) or self.default_url is not None


def _url(option: str, raw: str, base_dir) -> str:
    try:
        return normalize_index_url(raw, base_dir)
    except ValueError as exc:
        raise InputError(f"{option}: invalid index URL: {exc}", fix="give an http(s):// URL or a local path") from None


def apply_index_overrides(project: Project, overrides: IndexOverrides) -> Project:
    """The project with index URLs replaced; unknown index names are an input error."""
    if not overrides:
        return project
    declared = {index.name for index in project.uv.indexes}
    pypi_url = project.pypi_url
    urls = dict(overrides.urls)
    if PYPI_NAME in urls and PYPI_NAME not in declared:
        pypi_url = urls.pop(PYPI_NAME)
    unknown = sorted(set(urls) - declared)
    if unknown:
        known = ", ".join(sorted(declared | {PYPI_NAME}))
        raise InputError(f"--index {unknown[0]}=...: the project defines no index named '{unknown[0]}'",
                         location=None, fix=f"use one of: {known}")
    indexes = []
    for index in project.uv.indexes:
        url = urls.get(index.name, index.url)
        if overrides.default_url and index.default:
            url = overrides.default_url
        indexes.append(dataclasses.replace(index, url=url))
    has_declared_default = any(index.default for index in project.uv.indexes)
    if overrides.default_url and not has_declared_default:
        pypi_url = overrides.default_url
    uv = dataclasses.replace(project.uv, indexes=tuple(indexes))
    return dataclasses.replace(project, uv=uv, pypi_url=pypi_url)
