"""What every generator needs besides the plan: where indexes are published, how the outputs
were made, and a fingerprint of the inputs (for `planner compile --check`).

Index URLs in outputs. Outputs are installed elsewhere (CI, Docker builds, colleagues' machines),
so they name each index by a URL that works there:
- an index whose URL was replaced on the command line by an http(s) URL (a mirror, a proxy, a
  test server) is published under that URL: the outputs install from where planner read;
- an index replaced by a *local folder* (`--index NAME=DIR`, an offline copy made with
  `planner mirror`) keeps the URL the pyproject declares: a folder on this machine can be neither
  installed from nor reproduced elsewhere, and a metadata-only mirror links its files upstream.

The fingerprint covers what the plan depends on in the pyproject (`Project.fingerprint`: its
parsed content without comments, formatting and descriptive fields), the index overrides (folders
as paths relative to the project, so a clone elsewhere has the same fingerprint), the command-line
settings that shape the plan (`--exclude-newer`, `--resolution`, ...), the chosen targets and
planner's version. New releases on an index do not make outputs stale: they are picked up by the
next compile.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from planner import __version__
from planner.project.model import Project
from planner.urls import strip_userinfo


@dataclass(frozen=True)
class OutputContext:
    project: Project
    index_urls: Mapping[str, str]  # index name -> URL to write in outputs (credentials removed)
    command: str  # the canonical command that remakes the outputs, run in the project folder
    inputs_hash: str  # "sha256:<hex>"
    planner_version: str = __version__
    selection: tuple[str, ...] = ()  # the targets compiled (--target), when not all
    settings: tuple[str, ...] = ()  # command-line words that shape the plan (--resolution lowest, ...)
    output_dir: Path | None = None  # where the files go (default: output/ beside the pyproject)

    def index_url(self, name: str) -> str:
        return self.index_urls[name]

    @property
    def out(self) -> Path:
        return (self.output_dir or self.project.root / "output").resolve()

    def from_lock(self, path: str) -> str:
        """A local package's path (from the project folder) as seen from the output folder,
        where the lock is: PEP 751 paths are relative to the lock file."""
        return Path(os.path.relpath((self.project.root / path).resolve(), self.out)).as_posix()

    def output_folder(self) -> str | None:
        """The output folder from the project folder (POSIX), or None when it lies outside."""
        relative = Path(os.path.relpath(self.out, self.project.root.resolve()))
        return None if relative.parts[:1] == ("..",) else relative.as_posix()


def _is_folder(url: str) -> bool:
    return urlsplit(url).scheme == "file"


def _folder_relative(url: str, root: Path) -> str:
    path = Path(unquote(urlsplit(url).path))
    return Path(os.path.relpath(path, root)).as_posix()


def published_index_urls(project: Project, declared: Project) -> dict[str, str]:
    """Index name -> URL for outputs (see the module docstring). `declared`: before overrides."""
    declared_urls = {index.name: index.url for index in declared.indexes}
    urls = {}
    for index in project.indexes:
        url = index.url
        if _is_folder(url) and url != declared_urls.get(index.name, url):
            url = declared_urls[index.name]
        urls[index.name] = strip_userinfo(url)
    return urls


def canonical_overrides(project: Project, index_options: Mapping[str, str], default_index: str | None) -> list[str]:
    """The index options as command-line words, folders relative to the project, no credentials."""
    def show(url: str) -> str:
        return _folder_relative(url, project.root) if _is_folder(url) else strip_userinfo(url)

    words = []
    for name in index_options:  # in the order given: added indexes are searched in that order
        words += ["--index", f"{name}={show(index_options[name])}"]
    if default_index:
        words += ["--default-index", show(default_index)]
    return words


def _output_words(project: Project, output_dir: Path | None) -> list[str]:
    """`-o DIR` for the recorded command, DIR relative to the project; nothing for the default."""
    if output_dir is None:
        return []
    root = project.root.resolve()
    out = output_dir.resolve()
    if out == root / "output":
        return []
    return ["-o", Path(os.path.relpath(out, root)).as_posix()]


def output_context(project: Project, declared: Project, index_options: Mapping[str, str],
                   default_index: str | None, target_names: Sequence[str],
                   settings: Sequence[str] = (), output_dir: Path | None = None,
                   recorded: Sequence[str] = ()) -> OutputContext:
    """`settings`: command-line words that shape the plan, canonical (`--resolution lowest`);
    `recorded`: other words the recorded command needs to make the same files
    (`--fetch-missing-hashes`), not part of the fingerprint. The recorded command runs in the
    project folder: `-o` (when not the default) is relative to it."""
    overrides = canonical_overrides(project, index_options, default_index)
    selection = [w for name in target_names for w in ("--target", name)]
    command = shlex.join(["planner", "compile", *_output_words(project, output_dir), *selection, *overrides,
                          *settings, *recorded])
    fingerprint = hashlib.sha256()
    fingerprint.update(project.fingerprint.encode())
    facts: dict[str, object] = {"overrides": overrides, "targets": list(target_names), "planner": __version__}
    if settings:
        facts["settings"] = list(settings)
    fingerprint.update(json.dumps(facts, sort_keys=True).encode())
    return OutputContext(project, published_index_urls(project, declared), command,
                         f"sha256:{fingerprint.hexdigest()}", selection=tuple(target_names), settings=tuple(settings), output_dir=output_dir)
