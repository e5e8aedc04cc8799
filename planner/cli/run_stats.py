"""Counters and phase times of one compile, for benchmarks (`--stats FILE` / `PLANNER_STATS`).

The solver fetches lazily, so fetching and solving interleave: `fetch` is the wall time spent
inside the provider (index pages, candidate selection, metadata), `sat` the time inside the SAT
solver, and `encode` the rest of solving (building clauses, reading models, the objective's
bookkeeping).
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `compile --check` uses the clock and must not load the solver's modules
    from packaging.utils import NormalizedName

    from planner.index.models import Artifact, CandidateSet, CoreMetadata
    from planner.solve.provider import Provider, Unusable
    from planner.targets.model import Target
    from planner.targets.routing import Route


@dataclass
class PhaseClock:
    """Wall time per phase. Targets may be solved in threads side by side: a phase counts from
    the moment any thread enters it until no thread is in it (overlaps are not added twice)."""

    phases: dict[str, float] = field(default_factory=dict)
    _inside: dict[str, tuple[int, float]] = field(default_factory=dict)  # phase -> (threads in it, since)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    # Garbage collections since the clock was made, and the time they took (inside the phases).
    gc_collections: int = 0
    gc_seconds: float = 0.0
    _gc_since: float = 0.0

    def __post_init__(self) -> None:
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, event: str, info: Mapping[str, Any]) -> None:
        if event == "start":
            self._gc_since = time.perf_counter()
        else:
            self.gc_collections += 1
            self.gc_seconds += time.perf_counter() - self._gc_since

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        with self._guard:
            count, since = self._inside.get(name, (0, time.perf_counter()))
            self._inside[name] = (count + 1, since)
        try:
            yield
        finally:
            with self._guard:
                count, since = self._inside[name]
                if count == 1:
                    del self._inside[name]
                    self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - since
                else:
                    self._inside[name] = (count - 1, since)


class TimedProvider:
    """A provider that adds the time spent in `inner` to the clock's `fetch` phase."""

    def __init__(self, inner: Provider, clock: PhaseClock):
        self.inner = inner
        self.clock = clock

    def candidates(self, package: NormalizedName, target: Target) -> CandidateSet:
        with self.clock.phase("fetch"):
            return self.inner.candidates(package, target)

    def routed_candidates(self, decided: Route, target: Target) -> CandidateSet:
        with self.clock.phase("fetch"):
            return self.inner.routed_candidates(decided, target)

    def metadata(self, artifacts: Sequence[Artifact]) -> Mapping[Artifact, CoreMetadata | Unusable]:
        with self.clock.phase("fetch"):
            return self.inner.metadata(artifacts)

    @property
    def parallel(self) -> bool:
        return bool(getattr(self.inner, "parallel", False))

    def prefetch(self, routes: Sequence[Route]) -> None:
        prefetch = getattr(self.inner, "prefetch", None)
        if prefetch is not None:
            with self.clock.phase("fetch"):
                prefetch(routes)


def stats_document(clock: PhaseClock, client: Any, plan: Any, builder: Any = None) -> dict[str, Any]:
    phases = dict(clock.phases)
    if "solve" in phases:  # solve_plan's wall time includes the provider's; split the rest
        solving = max(0.0, phases.pop("solve") - phases.get("fetch", 0.0))
        sat = sum(t.stats.sat_seconds for t in plan.targets) if plan is not None else 0.0
        phases["sat"] = min(sat, solving)  # (summed over targets solved side by side)
        phases["encode"] = solving - phases["sat"]
    fetch = client.fetcher.stats
    pages = client.stats
    targets = {
        t.target.name: {"packages": len(t.packages), "sat_calls": t.stats.sat_calls, "clauses": t.stats.clauses,
                        "variables": t.stats.variables, "metadata_fetches": t.stats.metadata_fetches,
                        "narrowed": t.stats.narrowed}
        for t in plan.targets
    } if plan is not None else {}
    return {
        "phases_seconds": {k: round(v, 4) for k, v in sorted(phases.items())},
        "gc": gc_document(clock),
        "http": {"requests": fetch.requests, "bytes": fetch.bytes, "not_modified": fetch.not_modified,
                 "retries": fetch.retries},
        "pages": {"fetched": pages.pages_fetched, "revalidated": pages.pages_revalidated,
                  "from_cache": pages.pages_from_cache},
        "metadata": dict(pages.metadata),
        "builds": {"run": builder.stats.builds, "from_cache": builder.stats.from_cache,
                   "failed": builder.stats.failures, "seconds": round(builder.stats.seconds, 3)}
        if builder is not None else {"run": 0, "from_cache": 0, "failed": 0, "seconds": 0.0},
        "sat_calls": sum(t["sat_calls"] for t in targets.values()),
        "clauses": sum(t["clauses"] for t in targets.values()),
        "targets": targets,
        "pin_solve": plan.pin_solve if plan is not None else "",
    }


def gc_document(clock: PhaseClock) -> dict[str, Any]:
    return {"collections": clock.gc_collections, "seconds": round(clock.gc_seconds, 4)}


def write_stats(path: Path, document: dict[str, Any]) -> None:
    from planner.generate.files import write_file

    write_file(path, (json.dumps(document, indent=2) + "\n").encode(), "--stats")
