"""`planner candidates`: per target, the installable versions of packages and the rejections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planner.cli.console import Output
from planner.index.client import IndexClient, MetadataUnavailable, NeedsBuild, OfflineMiss, OfflineMisses
from planner.index.models import Artifact, CandidateSet, CoreMetadata, Unusable
from planner.targets.model import Target

if TYPE_CHECKING:
    from planner.solve.provider import IndexProvider


def _metadata(client: IndexClient, provider: IndexProvider | None,
              artifact: Artifact) -> tuple[CoreMetadata | Unusable, str]:
    """An artifact's metadata and where it came from; an sdist that needs a build is built."""
    try:
        result = client.metadata(artifact)
    except NeedsBuild as needs:
        if provider is None:
            return Unusable(str(needs)), "sdist"
        return provider.built_metadata(artifact, needs), "build"
    except MetadataUnavailable as exc:
        return Unusable(str(exc)), "unavailable"
    return result.metadata, result.source.value


def _candidate_set_json(found: CandidateSet) -> dict[str, Any]:
    return {
        "indexes_consulted": list(found.indexes_consulted),
        "candidates": [
            {
                "version": str(c.version),
                "index": c.index,
                "filename": c.artifact.filename,
                "url": c.artifact.url,
                "sha256": c.artifact.sha256,
                "yanked": c.yanked,
            }
            for c in found.candidates
        ],
        "rejections": [
            {"version": str(r.version), "index": r.index, "filename": r.filename, "kind": r.kind.value, "detail": r.detail}
            for r in found.rejections
        ],
    }


def candidates_report(client: IndexClient, packages: list[str], targets: list[Target], deps: bool,
                      output: Output, as_json: bool, provider: IndexProvider | None = None) -> None:
    """`provider` (with a metadata builder) builds the newest candidates whose metadata needs a
    build, as compile would; without one they say they need a build."""
    report: dict[str, Any] = {"targets": {}}
    newest = []
    misses: list[OfflineMiss] = []  # offline: gather every miss, then name them all at once
    for target in targets:
        per_package: dict[str, Any] = {}
        for package in packages:
            try:
                found = client.candidates(package, target)
            except OfflineMiss as miss:
                misses.append(miss)
                continue
            per_package[found.name] = _candidate_set_json(found)
            if deps and found.candidates:
                newest.append((target.name, found.name, found.candidates[0]))
        report["targets"][target.name] = per_package
    metadata: dict[Any, tuple[CoreMetadata | Unusable, str]] = {}
    for _, _, candidate in newest:
        try:
            metadata[candidate.artifact] = _metadata(client, provider, candidate.artifact)
        except OfflineMiss as miss:
            misses.append(miss)
    if misses:
        raise OfflineMisses(misses)
    for target_name, name, candidate in newest:
        found, source = metadata[candidate.artifact]
        entry = report["targets"][target_name][name]
        if isinstance(found, Unusable):
            entry["requires_dist"] = None
            entry["unusable"] = found.reason
        else:
            entry["requires_dist"] = [str(r) for r in found.requires_dist]
        entry["metadata_source"] = source
    report["stats"] = {
        "requests": client.fetcher.stats.requests,
        "bytes": client.fetcher.stats.bytes,
        "pages_fetched": client.stats.pages_fetched,
        "pages_revalidated": client.stats.pages_revalidated,
        "pages_from_cache": client.stats.pages_from_cache,
        "metadata": dict(client.stats.metadata),
    }
    if as_json:
        output.json(report)
        return
    for target in targets:
        output.text(f"{target.name} ({target.platform.name}, Python {target.python}):")
        for name, data in report["targets"][target.name].items():
            versions = ", ".join(f"{c['version']} [{c['index']}]" for c in data["candidates"][:8]) or "none"
            more = len(data["candidates"]) - 8
            output.text(f"  {name}: {versions}{f' (+{more} older)' if more > 0 else ''}")
            # Whole-version reasons first: they say why a version is missing, per-file ones add detail.
            data["rejections"].sort(key=lambda r: r["filename"] is not None)
            for rejection in data["rejections"][:5]:
                output.text(f"    rejected {rejection['version']} on {rejection['index']}: {rejection['detail']}")
            if len(data["rejections"]) > 5:
                output.text(f"    … {len(data['rejections']) - 5} more rejections (--format json lists all)")
            if data.get("unusable"):
                output.text(f"    {data['candidates'][0]['filename']}: {data['unusable']}")
            elif "requires_dist" in data:
                output.text(f"    {data['candidates'][0]['filename']} requires ({data['metadata_source']}):")
                for requirement in data["requires_dist"]:
                    output.text(f"      {requirement}")
    stats = report["stats"]
    output.info(f"{stats['requests']} requests, {stats['bytes'] / 1024:.0f} KiB; pages: {stats['pages_fetched']} fetched, "
                f"{stats['pages_revalidated']} revalidated, {stats['pages_from_cache']} from cache")
