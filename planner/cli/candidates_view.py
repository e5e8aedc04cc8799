"""`planner candidates`: per target, the installable versions of packages and the rejections."""

from __future__ import annotations

from typing import Any

from planner.cli.console import Output
from planner.index.client import IndexClient, OfflineMiss, OfflineMisses
from planner.index.models import CandidateSet
from planner.targets.model import Target


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
                      output: Output, as_json: bool) -> None:
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
    metadata = {}
    for _, _, candidate in newest:
        try:
            metadata[candidate.artifact] = client.metadata(candidate.artifact)
        except OfflineMiss as miss:
            misses.append(miss)
    if misses:
        raise OfflineMisses(misses)
    for target_name, name, candidate in newest:
        result = metadata[candidate.artifact]
        report["targets"][target_name][name]["requires_dist"] = [str(r) for r in result.metadata.requires_dist]
        report["targets"][target_name][name]["metadata_source"] = result.source.value
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
            if "requires_dist" in data:
                output.text(f"    {data['candidates'][0]['filename']} requires ({data['metadata_source']}):")
                for requirement in data["requires_dist"]:
                    output.text(f"      {requirement}")
    stats = report["stats"]
    output.info(f"{stats['requests']} requests, {stats['bytes'] / 1024:.0f} KiB; pages: {stats['pages_fetched']} fetched, "
                f"{stats['pages_revalidated']} revalidated, {stats['pages_from_cache']} from cache")
