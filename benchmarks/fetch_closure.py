"""Fetch figures for a project's dependency closure: cold cache, warm cache, offline.

Walks each target's closure the way a resolver's first pass would (newest admissible version of
every requirement, markers evaluated on the target, extras followed) and fetches the pages and
metadata it needs through planner's index client. It measures fetching, not resolving.

    python benchmarks/fetch_closure.py [PROJECT] [--index NAME=URL ...] [--seed-fixtures]

`--seed-fixtures` serves the seed's PyTorch CPU index from the loopback fixture (the real one is
unreachable from some networks); everything else comes from the project's indexes (PyPI: network).
`--all-fixtures` serves PyPI from the loopback fixture too (recorded subset; no network at all).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from planner.index.auth import CredentialStore  # noqa: E402
from planner.index.cache import Cache  # noqa: E402
from planner.index.client import IndexClient  # noqa: E402
from planner.index.http import Fetcher  # noqa: E402
from planner.project.loader import load_project  # noqa: E402
from planner.project.overrides import IndexOverrides, apply_index_overrides  # noqa: E402
from planner.targets.resolve import resolve_targets  # noqa: E402


def roots(project, target) -> list[Requirement]:  # type: ignore[no-untyped-def]
    deps = list(project.dependencies)
    for extra in target.extras:
        deps += project.optional_dependencies[extra]
    for group in target.groups:
        deps += project.dependency_groups[group]
    return [d.requirement for d in deps if d.requirement.marker is None or target.evaluate(d.requirement.marker)]


def walk(client: IndexClient, project, target) -> set[str]:  # type: ignore[no-untyped-def]
    """Newest-first closure of one target; returns the names of the packages reached."""
    seen: set[str] = set()
    layer = roots(project, target)
    while layer:
        chosen = []
        for requirement in layer:
            name = canonicalize_name(requirement.name)
            key = f"{name}[{','.join(sorted(requirement.extras))}]"
            if key in seen:
                continue
            seen.add(key)
            found = client.candidates(name, target)
            fitting = [c for c in found.candidates if requirement.specifier.contains(c.version, prereleases=None)
                       and not c.yanked] or [c for c in found.candidates if requirement.specifier.contains(c.version, True)]
            if fitting:
                chosen.append((fitting[0], frozenset(requirement.extras)))
        results = client.metadata_many(candidate.artifact for candidate, _ in chosen)
        layer = []
        for candidate, extras in chosen:
            for dependency in results[candidate.artifact].metadata.requires_dist:
                if dependency.marker is None or target.evaluate(dependency.marker, extras):
                    layer.append(dependency)
    return {key.split("[")[0] for key in seen}


@contextmanager
def seed_fixture_indexes(names: tuple[str, ...]) -> Iterator[list[str]]:
    """Serve the named seed fixture indexes on 127.0.0.1; yields `--index NAME=URL` options."""
    from tests.fixtures.index_server import IndexServer
    from tests.fixtures.seed_indexes import build_seed_indexes

    with tempfile.TemporaryDirectory() as folder:
        roots_ = build_seed_indexes(Path(folder))
        with IndexServer({name: roots_[name] for name in names}) as server:
            yield [f"{name}={server.url(name)}" for name in names]


def run(project, cache_dir: Path, offline: bool) -> dict:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with Fetcher(CredentialStore(project.indexes)) as fetcher:
        client = IndexClient(project, fetcher, Cache(cache_dir), offline=offline)
        reached = {target.name: len(walk(client, project, target)) for target in resolve_targets(project)}
        return {
            "seconds": round(time.perf_counter() - started, 3),
            "requests": fetcher.stats.requests,
            "bytes": fetcher.stats.bytes,
            "not_modified": fetcher.stats.not_modified,
            "pages_fetched": client.stats.pages_fetched,
            "pages_revalidated": client.stats.pages_revalidated,
            "pages_from_cache": client.stats.pages_from_cache,
            "metadata": dict(client.stats.metadata),
            "packages_per_target": reached,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", default=str(REPO / "examples" / "seed-9310"))
    parser.add_argument("--index", action="append", default=[])
    parser.add_argument("--seed-fixtures", action="store_true")
    parser.add_argument("--all-fixtures", action="store_true")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/fetch-closure.json")
    args = parser.parse_args()
    served = ("pytorch-cpu", "pypi") if args.all_fixtures else ("pytorch-cpu",) if args.seed_fixtures else ()
    context = seed_fixture_indexes(served) if served else nullcontext([])
    with context as fixture_options, tempfile.TemporaryDirectory() as cache:
        options = list(args.index) + fixture_options
        project = apply_index_overrides(load_project(args.project), IndexOverrides.parse(options, None, Path.cwd()))
        results = {"cold": run(project, Path(cache), False), "warm": run(project, Path(cache), False),
                   "offline": run(project, Path(cache), True)}
    print(f"{'run':8} {'seconds':>8} {'requests':>9} {'KiB':>8} {'304s':>5} {'metadata (source: count)'}")
    for name, figures in results.items():
        sources = ", ".join(f"{k}: {v}" for k, v in figures["metadata"].items() if v)
        print(f"{name:8} {figures['seconds']:8.2f} {figures['requests']:9d} {figures['bytes'] / 1024:8.0f} "
              f"{figures['not_modified']:5d} {sources}")
    print("packages per target:", results["cold"]["packages_per_target"])
    if args.save:
        label = "fixtures" if args.all_fixtures else "pypi"
        out = REPO / "benchmarks" / "results" / f"fetch-closure-{label}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        machine = {"python": platform.python_version(), "machine": platform.machine(), "system": platform.system()}
        out.write_text(json.dumps({"machine": machine, "project": args.project, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
