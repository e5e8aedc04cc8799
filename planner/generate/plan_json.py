"""`plan.json`: the machine-readable plan (docs/outputs.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planner.explain.document import divergence_document, unsatisfiable_document
from planner.plan.model import Hold, Plan, PlannedPackage, TargetPlan
from planner.project.cutoffs import ExcludeNewer, rfc3339
from planner.plan.runtime import carried_runtime
from planner.project.model import Project
from planner.targets.model import Target
from planner.urls import strip_userinfo

FORMAT_VERSION = 1


def target_definition(target: Target) -> dict[str, Any]:
    return {
        "name": target.name,
        "derived": target.derived,
        "platform": target.platform.name,
        "python": target.python.short,
        "python_full_version": target.python.full,
        "accelerator": str(target.accelerator) if target.accelerator is not None else None,
        "extras": list(target.extras),
        "groups": list(target.groups),
        "packages": list(target.packages),
        "os_floor": target.os_floor_text,
        "markers": dict(target.environment),
    }


def _package(index_urls: Mapping[str, str], package: PlannedPackage, target: Target) -> dict[str, Any]:
    artifact = package.artifact
    entry: dict[str, Any] = {
        "name": package.name,
        "version": str(package.version),
        "index": package.index,
        "index_url": index_urls.get(package.index),
        "artifact": {
            "filename": artifact.filename,
            "url": strip_userinfo(artifact.url),
            "sha256": artifact.sha256,
            "size": artifact.size,
            **({"kind": artifact.kind.value, "path": artifact.path, "editable": artifact.editable}
               if artifact.is_local else {}),
            **({"kind": artifact.kind.value, "subdirectory": artifact.subdirectory} if artifact.is_direct else {}),
            **({"git": {"repository": strip_userinfo(artifact.git.repository), "requested": artifact.git.requested,
                        "commit": artifact.git.commit}} if artifact.git is not None else {}),
        },
        "extras": list(package.extras),
        "required_by": list(package.required_by),
        "requirements": [{"by": r.by, "requirement": r.requirement, **({"via": r.via} if r.via else {}),
                          **({"at": r.at} if r.at else {})}
                         for r in package.requirements],
    }
    built = package.metadata_built_on
    if built is not None:  # its dependencies come from a PEP 517 build on this environment
        entry["metadata_built_on"] = {
            "python_version": built.python_version, "implementation": built.implementation,
            "sys_platform": built.sys_platform, "machine": built.machine,
            "differs_from_target": package.built_elsewhere(target),
        }
    return entry


def hold_document(hold: Hold) -> dict[str, Any]:
    return {"package": hold.package, "version": str(hold.version), "newest": str(hold.newest), "cause": hold.cause,
            "by": hold.by, "by_version": hold.by_version, "requirement": hold.requirement, "reason": hold.reason,
            "clashes": [{"requirement": c.requirement, "package": c.package, "version": c.version,
                         "against": [{"by": by, "version": v, "requirement": r} for by, v, r in c.against]}
                        for c in hold.clashes]}


def _target(index_urls: Mapping[str, str], plan: TargetPlan) -> dict[str, Any]:
    return {
        "target": target_definition(plan.target),
        "left_out": [{"kind": item.kind, "name": item.name, "reason": item.reason, "fix": item.fix}
                     for item in plan.left_out],
        "runtime": carried_runtime(plan).document(),
        "packages": [_package(index_urls, p, plan.target) for p in plan.packages],
        "below_newest": [hold_document(h) for h in plan.holds],
    }


def cutoff_document(cutoff: ExcludeNewer) -> dict[str, Any]:
    """A resolved cut-off as recorded: the timestamp used and, for a span, the span."""
    return {"timestamp": rfc3339(cutoff.cutoff), "span": cutoff.span_text}


def settings_document(project: Project) -> dict[str, Any]:
    """The plan-shaping settings a later compile needs to reproduce the plan (only those set)."""
    out: dict[str, Any] = {}
    if project.uv.resolution.value != "highest":
        out["resolution"] = project.uv.resolution.value
    if project.planner.prefer_newest:
        out["prefer_newest"] = list(project.planner.prefer_newest)
    if project.uv.exclude_newer is not None:
        out["exclude_newer"] = cutoff_document(project.uv.exclude_newer)
    if project.uv.exclude_newer_package:
        out["exclude_newer_package"] = {name: False if cutoff is None else cutoff_document(cutoff)
                                        for name, cutoff in sorted(project.uv.exclude_newer_package.items())}
    return out


def plan_document(project: Project, plan: Plan, index_urls: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`index_urls`: index name -> URL to write (see generate/context.py); default: the project's."""
    if index_urls is None:
        index_urls = {index.name: strip_userinfo(index.url) for index in project.indexes}
    return {
        "planner_plan": FORMAT_VERSION,
        "project": project.name,
        "alignment": plan.alignment,
        **settings_document(project),
        "targets": [_target(index_urls, t) for t in plan.targets],
        "unsatisfiable": [unsatisfiable_document(u) for u in plan.unsatisfiable],
        "divergences": [divergence_document(d) for d in plan.divergences],
        "held_back": [
            {"package": h.package, "target": h.target, "version": str(h.version), "newest": str(h.newest),
             "reason": h.reason}
            for h in plan.held_back
        ],
    }


def plan_json_text(document: Mapping[str, Any]) -> str:
    """`json.dumps(document, indent=2) + "\\n"`, written about three times faster: with `indent`
    the standard library encodes in Python, one generator per container (a large plan.json took
    it a fifth of a second), while strings, which are most of the work, are escaped here by its C
    function. Anything but str keys and plain JSON values is left to `json.dumps` itself."""
    import json
    from json.encoder import encode_basestring_ascii

    parts: list[str] = []
    append = parts.append

    def write(value: Any, newline: str) -> None:
        if type(value) is str:
            append(encode_basestring_ascii(value))
        elif isinstance(value, dict):
            if not value:
                append("{}")
                return
            inner = newline + "  "
            separator = "{" + inner
            for key, item in value.items():
                if type(key) is not str:
                    raise _Unusual
                append(separator + encode_basestring_ascii(key) + ": ")
                separator = "," + inner
                write(item, inner)
            append(newline + "}")
        elif isinstance(value, list | tuple):
            if not value:
                append("[]")
                return
            inner = newline + "  "
            separator = "[" + inner
            for item in value:
                append(separator)
                separator = "," + inner
                write(item, inner)
            append(newline + "]")
        elif value is None:
            append("null")
        elif value is True:
            append("true")
        elif value is False:
            append("false")
        elif type(value) is int:
            append(int.__repr__(value))
        else:
            raise _Unusual

    try:
        write(document, "\n")
    except _Unusual:
        return json.dumps(document, indent=2) + "\n"
    return "".join(parts) + "\n"


class _Unusual(Exception):
    """A value `plan_json_text` leaves to `json.dumps`."""
