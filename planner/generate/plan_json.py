"""`plan.json`: the machine-readable plan (docs/outputs.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planner.explain.document import divergence_document, unsatisfiable_document
from planner.plan.model import Plan, PlannedPackage, TargetPlan
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
    entry = {
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
    }
    built = package.metadata_built_on
    if built is not None:  # its dependencies come from a PEP 517 build on this environment
        entry["metadata_built_on"] = {
            "python_version": built.python_version, "implementation": built.implementation,
            "sys_platform": built.sys_platform, "machine": built.machine,
            "differs_from_target": package.built_elsewhere(target),
        }
    return entry


def _target(index_urls: Mapping[str, str], plan: TargetPlan) -> dict[str, Any]:
    stats = plan.stats
    return {
        "target": target_definition(plan.target),
        "left_out": [{"kind": item.kind, "name": item.name, "reason": item.reason, "fix": item.fix}
                     for item in plan.left_out],
        "runtime": carried_runtime(plan).document(),
        "packages": [_package(index_urls, p, plan.target) for p in plan.packages],
        "stats": {"sat_calls": stats.sat_calls, "clauses": stats.clauses, "variables": stats.variables,
                  "metadata_fetches": stats.metadata_fetches},
    }


def plan_document(project: Project, plan: Plan, index_urls: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`index_urls`: index name -> URL to write (see generate/context.py); default: the project's."""
    if index_urls is None:
        index_urls = {index.name: strip_userinfo(index.url) for index in project.indexes}
    return {
        "planner_plan": FORMAT_VERSION,
        "project": project.name,
        "alignment": plan.alignment,
        "targets": [_target(index_urls, t) for t in plan.targets],
        "unsatisfiable": [unsatisfiable_document(u) for u in plan.unsatisfiable],
        "divergences": [divergence_document(d) for d in plan.divergences],
        "held_back": [
            {"package": h.package, "target": h.target, "version": str(h.version), "newest": str(h.newest),
             "reason": h.reason}
            for h in plan.held_back
        ],
    }
