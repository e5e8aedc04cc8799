"""Filling in sha256 hashes an index does not publish (`planner compile --fetch-missing-hashes`).

Outputs pin every artifact by hash. For an index that lists files without one, the opt-out
downloads each such file the plan uses and hashes the bytes it got: the outputs then check that
later installs get those same bytes (trust on first use, said so in the summary).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import MappingProxyType

from planner.index.models import Artifact, ArtifactKind
from planner.plan.model import Plan


def unhashed_artifacts(plan: Plan) -> list[Artifact]:
    seen: dict[tuple[str, str], Artifact] = {}
    for target_plan in plan.targets:
        for package in target_plan.packages:
            if package.artifact.sha256 is None and package.artifact.kind not in (ArtifactKind.DIRECTORY,
                                                                                 ArtifactKind.VCS):
                seen.setdefault((package.artifact.index, package.artifact.url), package.artifact)
    return [seen[key] for key in sorted(seen)]


def with_hashes(plan: Plan, sha256_of: Callable[[Artifact], str]) -> Plan:
    """The plan with every artifact lacking a sha256 given the one `sha256_of` computes."""
    computed = {(a.index, a.url): sha256_of(a) for a in unhashed_artifacts(plan)}
    if not computed:
        return plan

    def fill(artifact: Artifact) -> Artifact:
        digest = computed.get((artifact.index, artifact.url))
        if digest is None or artifact.sha256 is not None:
            return artifact
        return dataclasses.replace(artifact, hashes=MappingProxyType({**artifact.hashes, "sha256": digest}))

    targets = tuple(
        dataclasses.replace(t, packages=tuple(dataclasses.replace(p, artifact=fill(p.artifact)) for p in t.packages))
        for t in plan.targets)
    return dataclasses.replace(plan, targets=targets)
