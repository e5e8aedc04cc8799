"""`pylock.toml` (PEP 751): one lock for every target of the plan.

Each package entry is one (name, version, index) with the wheels the plan installs from it on any
target, and a marker true on exactly those targets (`markers.selector_marker`): the target's
platform and Python, and the lock-only `'x' in extras` / `'x' in dependency_groups`. An installer
given a target's machine, extras and groups selects exactly that target's artifacts; `environments`
refuses any machine that is no target's. The document is built with `packaging.pylock`'s model and
validated by it before it is written.

When two targets cannot be told apart by markers (same machine, Python, extras and groups, e.g. a
CPU and a CUDA target differing only in accelerator), one lock per target is written instead:
`pylock.<target>.toml`, each covering its target alone (PEP 751 allows named lock files).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from packaging.markers import Marker
from packaging.pylock import (
    Package,
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
)
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from planner.generate.context import OutputContext
from planner.generate.markers import environment_marker, indistinguishable, selector_marker
from planner.index.models import Artifact, ArtifactKind
from planner.plan.model import Plan, PlannedPackage, TargetPlan
from planner.project.cutoffs import rfc3339
from planner.plan.runtime import carried_runtime
from planner.urls import strip_userinfo

LOCK_VERSION = "1.0"


def lock_files(context: OutputContext, plan: Plan) -> tuple[dict[str, str], str | None]:
    """File name -> text: `pylock.toml`, or one `pylock.<target>.toml` per target (see above);
    and, when split, the note that says why."""
    pairs = indistinguishable([t.requested_target for t in plan.targets])
    if not pairs:
        return {"pylock.toml": render_lock(context, plan.targets)}, None
    first, second = pairs[0]
    note = (f"targets {first} and {second} have the same machine, Python, extras and groups, so no "
            f"marker tells them apart: wrote one pylock.<target>.toml per target")
    return {f"pylock.{t.target.name}.toml": render_lock(context, [t]) for t in plan.targets}, note


def build_lock(context: OutputContext, plans: Sequence[TargetPlan]) -> Pylock:
    """The lock of `plans`, validated by `packaging.pylock`."""
    lock = _lock_model(context, plans)
    lock.validate()
    return lock


def _lock_model(context: OutputContext, plans: Sequence[TargetPlan]) -> Pylock:
    # Targets as installers are told about them: with the extras and groups they ask for, also
    # those a derived target left out (an installer accepts the flag and installs nothing for it).
    targets = [p.requested_target for p in plans]
    # (name, version, index) -> the targets installing it, with what each installs. A package from
    # no index is one entry per tree or file: its index name says nothing about which.
    users: dict[tuple[str, Version, str], list[tuple[str, PlannedPackage]]] = defaultdict(list)
    for plan in plans:
        for package in plan.packages:
            users[_entry_key(package)].append((plan.target.name, package))
    entries = _Entries(plans, users)
    packages = []
    for key in sorted(users):
        name, version, index = key
        using = [target_name for target_name, _ in users[key]]
        marker = selector_marker(set(using), targets) if len(targets) > 1 else None
        artifacts = sorted({p.artifact for _, p in users[key]}, key=lambda a: a.filename)
        if artifacts[0].is_local:
            packages.append(_local_package(context, artifacts[0], marker, name, using, entries))
            continue
        if artifacts[0].is_direct:
            packages.append(_direct_package(artifacts[0], marker, name, using, entries, context))
            continue
        wheels = [_file(PackageWheel, a) for a in artifacts if a.kind is ArtifactKind.WHEEL]
        sdists = [_file(PackageSdist, a) for a in artifacts if a.kind is ArtifactKind.SDIST]
        requires_python = _common_requires_python(artifacts)
        packages.append(Package(
            name=name,
            version=version,
            marker=Marker(marker) if marker else None,
            requires_python=requires_python,
            index=context.index_url(index),
            wheels=wheels or None,
            sdist=sdists[0] if sdists else None,
            dependencies=_dependencies(name, using, entries, context) or None,
            tool={"planner": {"targets": sorted(using)}},
        ))
    project = context.project
    lock = Pylock(
        lock_version=Version(LOCK_VERSION),
        environments=[Marker(m) for m in dict.fromkeys(environment_marker(t) for t in targets)],
        requires_python=project.requires_python,
        extras=sorted({e for t in targets for e in t.extras}),
        dependency_groups=sorted({g for t in targets for g in t.groups}),
        default_groups=sorted(set.intersection(*(set(t.groups) for t in targets))) if targets else [],
        created_by="planner",
        packages=packages,
        tool={"planner": _planner_table(context, plans)},
    )
    return lock


def _local_package(context: OutputContext, artifact: Artifact, marker: str | None, name: str,
                   using: Sequence[str], entries: _Entries) -> Package:
    """A local package: a `directory` entry (a source tree, `editable` as its source says) or an
    `archive` entry (a wheel or sdist file, with its hashes), the path relative to the lock."""
    path = context.from_lock(str(artifact.path))
    directory = archive = None
    if artifact.kind is ArtifactKind.DIRECTORY:
        directory = PackageDirectory(path=path, editable=True if artifact.editable else None)
    else:
        archive = PackageArchive(path=path, size=artifact.size, hashes=dict(sorted(artifact.hashes.items())))
    dynamic = artifact.version.local == "dynamic" and artifact.kind is ArtifactKind.DIRECTORY
    return Package(
        name=name,  # type: ignore[arg-type]
        version=None if dynamic else artifact.version,  # a source tree's dynamic version: unknown
        marker=Marker(marker) if marker else None,
        requires_python=_common_requires_python([artifact]),
        directory=directory,
        archive=archive,
        dependencies=_dependencies(name, using, entries, context) or None,
        tool={"planner": {"targets": sorted(using)}},
    )


def _entry_key(package: PlannedPackage) -> tuple[str, Version, str]:
    """The lock entry a planned package belongs to: (name, version, index), where the "index" of
    a package from no index is its artifact (two commits of one version are two entries)."""
    artifact = package.artifact
    if artifact.is_direct or artifact.is_local:
        return (package.name, package.version, f"{package.index} {artifact.url}")
    return (package.name, package.version, package.index)


def _direct_package(artifact: Artifact, marker: str | None, name: str, using: Sequence[str], entries: _Entries,
                    context: OutputContext) -> Package:
    """A git package: a `vcs` entry (the repository URL without credentials, the ref as written,
    the commit, the subdirectory). A file at a URL: an `archive` entry (URL, size, hashes)."""
    vcs = archive = None
    if artifact.kind is ArtifactKind.VCS and artifact.git is not None:
        vcs = PackageVcs(type="git", url=strip_userinfo(artifact.git.repository),
                         requested_revision=artifact.git.requested, commit_id=artifact.git.commit,
                         subdirectory=artifact.subdirectory)
    else:
        archive = PackageArchive(url=strip_userinfo(artifact.url), size=artifact.size,
                                 hashes=dict(sorted(artifact.hashes.items())), subdirectory=artifact.subdirectory)
    dynamic = artifact.version.local == "dynamic"
    return Package(
        name=name,  # type: ignore[arg-type]
        version=None if dynamic else artifact.version,  # a tree's dynamic version: unknown
        marker=Marker(marker) if marker else None,
        requires_python=_common_requires_python([artifact]),
        vcs=vcs,
        archive=archive,
        dependencies=_dependencies(name, using, entries, context) or None,
        tool={"planner": {"targets": sorted(using)}},
    )


def render_lock(context: OutputContext, plans: Sequence[TargetPlan]) -> str:
    # `Pylock.validate` is `from_dict(to_dict())`: validating the document written makes it once.
    document = _lock_model(context, plans).to_dict()
    Pylock.from_dict(document)
    return _toml(document)


def _file(kind: type[PackageWheel] | type[PackageSdist], artifact: Artifact) -> PackageWheel | PackageSdist:
    return kind(
        name=artifact.filename,
        url=strip_userinfo(artifact.url),
        size=artifact.size,
        upload_time=_upload_time(artifact.upload_time),
        hashes=dict(sorted(artifact.hashes.items())),
    )


def _upload_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:  # an index's odd timestamp is not worth failing the lock for
        return None


def _common_requires_python(artifacts: Sequence[Artifact]) -> SpecifierSet | None:
    texts = {a.requires_python for a in artifacts}
    if len(texts) != 1 or not next(iter(texts)):
        return None
    try:
        return SpecifierSet(next(iter(texts)))
    except ValueError:
        return None


class _Entries:
    """The lock's entries, indexed for `_dependencies`: per (target, package name) the entries of
    the packages it requires there, and per name the entries of that name."""

    def __init__(self, plans: Sequence[TargetPlan], users: Mapping[tuple[str, Version, str], object]) -> None:
        self.required: dict[tuple[str, str], set[tuple[str, Version, str]]] = defaultdict(set)
        for plan in plans:
            for package in plan.packages:
                key = _entry_key(package)
                for requirer in package.required_by:
                    self.required[(plan.target.name, requirer)].add(key)
        self.by_name: dict[str, list[tuple[str, Version, str]]] = defaultdict(list)
        for key in users:
            self.by_name[key[0]].append(key)


def _dependencies(name: str, using: Sequence[str], entries: _Entries, context: OutputContext) -> list[dict[str, str]]:
    """The entries `name` brings in on the targets using this entry, each named by as few keys as
    tell it apart from the lock's other entries (PEP 751: name, then version, then index)."""
    needed = sorted(set().union(*(entries.required.get((target, name), ()) for target in using)))
    out = []
    for dep_name, version, index in needed:
        same_name = entries.by_name.get(dep_name, [])
        ident = {"name": dep_name}
        if len(same_name) > 1:
            ident["version"] = str(version)
            if sum(1 for k in same_name if k[1] == version) > 1:
                ident["index"] = context.index_urls.get(index, index)
        out.append(ident)
    return out


def _planner_table(context: OutputContext, plans: Sequence[TargetPlan]) -> dict:
    targets = []
    for plan in plans:
        t = plan.requested_target
        entry: dict[str, Any] = {"name": t.name, "platform": t.platform.name, "python": t.python.short}
        if t.accelerator is not None:  # TOML has no null: a target that states none has no key
            entry["accelerator"] = str(t.accelerator)
        entry["runtime"] = carried_runtime(plan).name
        entry.update({
            "extras": list(t.extras),
            "groups": list(t.groups),
            "environment": str(Marker(environment_marker(t))),
        })
        if plan.left_out:
            entry["left-out"] = [{item.kind: item.name, "reason": item.reason, "fix": item.fix}
                                 for item in plan.left_out]
        targets.append(entry)
    table: dict[str, Any] = {"inputs-hash": context.inputs_hash, "planner-version": context.planner_version,
                             "command": context.command}
    uv = context.project.uv
    if uv.exclude_newer is not None:  # the cut-off used, so that a later compile reproduces the lock
        table["exclude-newer"] = rfc3339(uv.exclude_newer.cutoff)
        if uv.exclude_newer.span is not None:
            table["exclude-newer-span"] = uv.exclude_newer.span_text
    if uv.exclude_newer_package:
        table["exclude-newer-package"] = {
            name: False if cutoff is None else {"timestamp": rfc3339(cutoff.cutoff),
                                                **({"span": cutoff.span_text} if cutoff.span is not None else {})}
            for name, cutoff in sorted(uv.exclude_newer_package.items())}
    table["targets"] = targets
    return table


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_NO_OFFSET = timedelta(0)


def _toml(document: dict[str, Any]) -> str:
    """TOML as people write locks: top-level keys, then one `[[packages]]` table per package with
    its wheels as one inline table per line, then `[tool.*]`. The layout is written here (a
    document model costs more than the rest of the lock for a large plan); tomlkit renders every
    key and value (quoting, escaping, dates), but plain strings, numbers, booleans and UTC times:
    those are written as tomlkit writes them (tests/test_compile_outputs.py compares)."""
    lines = [f"{_key(key)} = {_value(value)}" for key, value in document.items() if key not in ("packages", "tool")]
    for entry in document["packages"]:
        lines += ["", "[[packages]]"]
        for key, value in entry.items():
            if key in ("wheels", "dependencies"):
                lines += [f"{_key(key)} = [", *(f"    {_value(item)}," for item in value), "]"]
            elif key != "tool":
                lines.append(f"{_key(key)} = {_value(value)}")
        for name, table in entry.get("tool", {}).items():
            lines += ["", f"[packages.tool.{_key(name)}]"]
            lines += [f"{_key(key)} = {_value(value)}" for key, value in table.items()]
    for name, table in document.get("tool", {}).items():
        lines += ["", f"[tool.{_key(name)}]"]
        arrays = {key: value for key, value in table.items()
                  if isinstance(value, list) and value and all(isinstance(item, dict) for item in value)}
        lines += [f"{_key(key)} = {_value(value)}" for key, value in table.items() if key not in arrays]
        for key, items in arrays.items():
            for item in items:
                lines += ["", f"[[tool.{_key(name)}.{_key(key)}]]"]
                nested = {k: v for k, v in item.items()
                          if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)}
                lines += [f"{_key(k)} = {_value(v)}" for k, v in item.items() if k not in nested]
                for inner, entries in nested.items():  # (a target's left-out extras)
                    for entry in entries:
                        lines += ["", f"[[tool.{_key(name)}.{_key(key)}.{_key(inner)}]]"]
                        lines += [f"{_key(k)} = {_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _basic_string(key)


# TOML 1.0 basic strings: these escaped short, the other control characters as \uXXXX (tomlkit's
# choices, so the lock reads as a tomlkit document would write it: test_compile_outputs.py).
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_ESCAPED = {chr(code): _SHORT_ESCAPES.get(chr(code), f"\\u{code:04x}") for code in (*range(0x20), 0x7F, 0x22, 0x5C)}


_ESCAPE_TABLE = str.maketrans(_ESCAPED)


def _basic_string(text: str) -> str:
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'  # nothing to escape: most of a lock
    return '"' + text.translate(_ESCAPE_TABLE) + '"'


def _value(value: Any) -> str:
    """A value on one line: tables inline, arrays of values `[a, b]`."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(key)} = {_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, str):
        return _basic_string(value)
    if type(value) is int:
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value) is datetime and value.utcoffset() == _NO_OFFSET:  # upload times
        return value.isoformat().replace("+00:00", "Z")
    import tomlkit

    return tomlkit.item(value).as_string()  # type: ignore[no-any-return]
