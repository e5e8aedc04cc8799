"""Differential tests: planner's plan against a brute-force enumeration (`tests/brute_force.py`).

Hypothesis draws small index universes (a few packages, versions with local labels, pre-releases
and yanked files, one or two indexes, platform-specific wheels, requires-python, extras, markers,
cycles) and projects (extras with conflicts, sources, constraints, overrides, index strategies,
resolution strategies, prefer-newest, two to four targets), and often a previous plan: random
pins per target (some of versions or files that no longer exist) and packages to upgrade. For
every alignment mode, planner and the enumerator must agree on which targets have a plan and, for
those that do, on every installed package's version and index.
"""

from __future__ import annotations

import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from packaging.utils import canonicalize_name
from packaging.version import Version

from planner.plan.model import Plan, SolveStats
from planner.previous.model import Pin
from planner.project.loader import load_project
from planner.solve.memory import MemoryProvider, Release
from planner.solve import target_solver
from planner.solve.objective import solve_plan
from planner.targets.resolve import resolve_targets
from tests.brute_force import UNSAT, Enumerator

MODES = ("per-python", "per-target", "all")
LINUX = "cp311-cp311-manylinux_2_17_x86_64"
MAC = "cp311-cp311-macosx_11_0_arm64"
ANY = "py3-none-any"
VERSIONS = ("1.0", "1.1", "2.0", "2.0+cpu", "2.1a1", "3.0")
PLATFORM_MARKERS = (
    'sys_platform == "linux"',
    'sys_platform == "darwin"',
    'platform_machine == "arm64"',
    'python_version >= "3.12"',
    'python_version < "3.12"',
)
EXTRA_MARKERS = ('extra == "x"', 'extra == "y"', 'extra == "x" and sys_platform == "linux"')
TARGETS = {
    "lin": ("linux-x86_64", "3.11"),
    "mac": ("macos-arm64", "3.11"),
    "lin12": ("linux-x86_64", "3.12"),
}


# -- the universes ------------------------------------------------------------------------------
@dataclass
class Universe:
    """A project and what its indexes publish; `pyproject` is the file's text. `pins`: per
    target, (name, version, index or None, file name or None) a previous plan pinned; `upgrade`:
    packages to upgrade (`--upgrade-package`)."""

    pyproject: str
    indexes: dict[str, list[Release]] = field(default_factory=dict)
    pins: dict[str, list[tuple[str, str, str | None, str | None]]] = field(default_factory=dict)
    upgrade: list[str] = field(default_factory=list)

    def previous(self) -> dict[str, dict]:
        """The pins as the solver takes them (upgraded packages have none, as on the command line)."""
        return {target: {canonicalize_name(n): Pin(canonicalize_name(n), Version(v), i, f)
                         for n, v, i, f in pins if canonicalize_name(n) not in self.upgrade}
                for target, pins in self.pins.items()}

    def describe(self) -> str:
        lines = [self.pyproject, f"pins: {self.pins}", f"upgrade: {self.upgrade}"]
        for index, releases in self.indexes.items():
            for r in releases:
                flags = (f" requires-python {r.requires_python}" if r.requires_python else "") + \
                        (" yanked" if r.yanked else "")
                lines.append(f"{index}: {r.name} {r.version} [{r.tag or 'sdist'}]{flags} -> {list(r.requires_dist)}")
        return "\n".join(lines)


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"


def _q(text: str) -> str:
    return "'" + text + "'" if '"' in text else '"' + text + '"'


@st.composite
def specifiers(draw, published: list[str], odds: int = 2) -> str:
    """None, or (one time in `odds`) `>=`, `<` or `==` on a version the package usually publishes."""
    if draw(st.integers(0, odds - 1)):
        return ""
    operator = draw(st.sampled_from((">=", ">=", "<", "==")))
    pool = published if published and draw(st.integers(0, 5)) else VERSIONS
    if operator != "==":
        pool = [v.split("+")[0] for v in pool]  # `>=` and `<` take no local label
    version = draw(st.sampled_from(sorted(pool)))
    if operator == "==" and version == "1.0" and draw(st.booleans()):
        version = "1.0.0"  # the same version, spelt longer
    return operator + version


@st.composite
def requirements(draw, published: dict[str, list[str]], names: list[str], markers: tuple[str, ...],
                 odds: int = 2) -> str:
    name = draw(st.sampled_from(names))
    text = name
    if draw(st.integers(0, 3)) == 0:
        text += f"[{draw(st.sampled_from(('x', 'y')))}]"
    text += draw(specifiers(published.get(name, []), odds))
    if markers and draw(st.integers(0, 2)) == 0:
        text += "; " + draw(st.sampled_from(markers))
    return text


@st.composite
def universes(draw, alignment_heavy: bool = False) -> Universe:
    """A random universe; `alignment_heavy` ones have no yanked files or requires-python, more
    versions and always three or four targets, so that most targets have several solutions and
    the objective has choices to make across targets."""
    names = list("abcde"[:draw(st.integers(2, 5))])
    smallest = 2 if alignment_heavy else 1
    alt = draw(st.sampled_from(("none", "plain", "explicit")))
    index_names = ["pypi"] if alt == "none" else ["pypi", "alt"]
    published = {name: draw(st.lists(st.sampled_from(VERSIONS), min_size=smallest, max_size=4, unique=True)) for name in names}

    # What the indexes publish.
    indexes: dict[str, list[Release]] = {i: [] for i in index_names}
    dependency_markers = PLATFORM_MARKERS + EXTRA_MARKERS + EXTRA_MARKERS
    for name in names:
        others = [n for n in names if n != name]
        for version in published[name]:
            where = draw(st.sampled_from([["pypi"], ["alt"], ["pypi", "alt"]])) if alt != "none" else ["pypi"]
            for index in where:
                tags = draw(st.lists(st.sampled_from((ANY, ANY, ANY, LINUX, MAC, None)), min_size=1, max_size=2,
                                     unique=True))
                shared = tuple(draw(st.lists(requirements(published, others, dependency_markers), max_size=2)))
                odd = draw(st.integers(0, 11))
                if odd == 0:  # one of its extras asks for another of its extras
                    shared += (f'{name}[y]; extra == "x"',)
                elif odd == 1:  # a package no index has
                    shared += ('zzz; extra == "y"' if draw(st.booleans()) else "zzz",)
                for tag in tags:
                    deps = shared
                    if len(tags) > 1 and draw(st.integers(0, 3)) == 0:  # wheels of one version may disagree
                        deps = tuple(draw(st.lists(requirements(published, others, dependency_markers), max_size=2)))
                    python = 15 if alignment_heavy else draw(st.integers(0, 15))
                    indexes[index].append(Release(
                        name, version, deps, tag=tag,
                        requires_python=">=3.12" if python == 0 else "<3.12" if python == 1 else None,
                        yanked=not alignment_heavy and draw(st.integers(0, 15)) == 0,
                    ))

    # The project.
    lines = ["[project]", 'name = "demo"', 'version = "0.1"', 'requires-python = ">=3.11"']
    roots = draw(st.lists(requirements(published, names, PLATFORM_MARKERS, 3), min_size=1, max_size=3))
    lines.append(f"dependencies = {_toml_list(roots)}")
    extras: list[str] = []
    if draw(st.booleans()):
        lines.append("[project.optional-dependencies]")
        for extra in ("p", "q"):
            reqs = draw(st.lists(requirements(published, names, PLATFORM_MARKERS, 3), min_size=1, max_size=2))
            lines.append(f"{extra} = {_toml_list(reqs)}")
            extras.append(extra)
        if draw(st.booleans()):
            lines.append(f"all = {_toml_list(['demo[p]'])}")
            extras.append("all")
    groups: list[str] = []
    if draw(st.integers(0, 3)) == 0:
        lines += ["[dependency-groups]", f"dev = {_toml_list([draw(requirements(published, names, PLATFORM_MARKERS, 3))])}"]
        groups.append("dev")

    strategy = draw(st.sampled_from(("first-index", "unsafe-best-match", "first-index", "unsafe-first-match")))
    uv = ["[tool.uv]", f'index-strategy = "{strategy}"']
    prerelease = draw(st.sampled_from((None, None, None, "allow", "disallow", "if-necessary", "explicit")))
    if prerelease:
        uv.append(f'prerelease = "{prerelease}"')
    resolution = draw(st.sampled_from((None, None, None, "lowest", "lowest-direct", "highest")))
    if resolution:
        uv.append(f'resolution = "{resolution}"')
    conflict = bool(extras) and draw(st.booleans())
    if conflict:
        uv.append('conflicts = [[{ extra = "p" }, { extra = "q" }]]')
    if draw(st.integers(0, 3)) == 0:
        constrained = draw(st.sampled_from(names))
        constraint = constrained + draw(specifiers(published[constrained], 1).filter(lambda t: t and t[0] != "="))
        if draw(st.booleans()):
            constraint += "; " + draw(st.sampled_from(PLATFORM_MARKERS))
        uv.append(f"constraint-dependencies = {_toml_list([constraint])}")
    if draw(st.integers(0, 3)) == 0:
        overridden = draw(st.sampled_from(names))
        override = overridden + draw(specifiers(published[overridden], 1).filter(bool))
        if draw(st.booleans()):
            override += "; " + draw(st.sampled_from(PLATFORM_MARKERS))
        uv.append(f"override-dependencies = {_toml_list([override])}")
    lines += uv
    if alt != "none":
        lines += ["[[tool.uv.index]]", 'name = "alt"', 'url = "https://alt.example/simple"']
        if alt == "explicit":
            lines.append("explicit = true")
        routed = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
        if alt == "explicit" and not routed:
            routed = [names[0]]
        if routed:
            lines.append("[tool.uv.sources]")
        for name in routed:
            conditions = ['sys_platform == "linux"', 'sys_platform == "darwin"', None] + (["p"] if "p" in extras else [])
            condition = draw(st.sampled_from(conditions))
            if condition is None:
                lines.append(f'{name} = {{ index = "alt" }}')
            elif condition == "p":
                lines.append(f'{name} = {{ index = "alt", extra = "p" }}')
            else:
                lines.append(f'{name} = {{ index = "alt", marker = {_q(condition)} }}')

    if draw(st.integers(0, 3)) == 0:
        lines += ["[tool.planner]", f"prefer-newest = {_toml_list(draw(st.lists(st.sampled_from(names), max_size=2, unique=True)))}"]

    # The targets.
    chosen = ["lin", "mac"] + (["lin12"] if alignment_heavy or draw(st.booleans()) else [])
    if extras and draw(st.booleans()):
        chosen.append("lin-q")
    for target in chosen:
        platform, python = TARGETS.get(target, TARGETS["lin"])
        active = draw(st.lists(st.sampled_from(extras), max_size=2, unique=True)) if extras else []
        if target == "lin-q":
            active = ["q"]
        if conflict and "p" in active and "q" in active:
            active.remove("q")
        lines += [f"[tool.planner.targets.{target}]", f'platform = "{platform}"', f'python = "{python}"',
                  f"extras = {_toml_list(active)}"]
        if groups and draw(st.booleans()):
            lines.append(f"groups = {_toml_list(groups)}")

    # A previous plan: pins of published files (their file name or not), of versions no index
    # has, on another index; and packages to upgrade.
    pins: dict[str, list[tuple[str, str, str | None, str | None]]] = {}
    upgrade: list[str] = []
    if draw(st.integers(0, 2)):
        published_files = [(index, r) for index, releases in indexes.items() for r in releases]
        for target in chosen:
            pinned = []
            for name in draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True)):
                files = [(i, r) for i, r in published_files if r.name == name]
                kind = draw(st.integers(0, 5))
                if files and kind <= 3:
                    index, release = draw(st.sampled_from(files))
                    pinned.append((name, release.version, None if kind == 3 else index,
                                   release.filename if kind <= 1 else None))
                else:
                    pinned.append((name, draw(st.sampled_from(("0.5", "1.0", "2.0+cpu", "3.0"))), "pypi", None))
            pins[target] = pinned
        upgrade = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    return Universe("\n".join(lines) + "\n", indexes, pins, upgrade)


# -- running both sides -------------------------------------------------------------------------
def load(universe: Universe, folder: Path):
    (folder / "pyproject.toml").write_text(universe.pyproject, encoding="utf-8")
    project = load_project(folder)
    return project, resolve_targets(project).targets, MemoryProvider(project, universe.indexes)


def planner_result(plan: Plan, targets) -> dict[str, object]:
    out: dict[str, object] = {u.target.name: UNSAT for u in plan.unsatisfiable}
    for target_plan in plan.targets:
        out[target_plan.target.name] = {p.name: (str(p.version), p.index) for p in target_plan.packages}
    return {t.name: out[t.name] for t in targets}


@contextmanager
def first_chunk(size: int) -> Iterator[None]:
    """Solve with `size` candidates per package given variables up front (see FIRST_CHUNK)."""
    saved = target_solver.FIRST_CHUNK
    target_solver.FIRST_CHUNK = size
    try:
        yield
    finally:
        target_solver.FIRST_CHUNK = saved


def compare(universe: Universe, modes=MODES) -> dict[str, dict[str, object]]:
    """Planner's and the enumerator's result in every mode; asserts they agree (the verdict per
    target, then each installed package's version, index and requested extras); returns them."""
    with tempfile.TemporaryDirectory() as folder:
        project, targets, provider = load(universe, Path(folder))
        previous = universe.previous()
        upgrade = [canonicalize_name(n) for n in universe.upgrade]
        enumerator = Enumerator(project, targets, provider, pins=previous, upgrade=upgrade)
        results = {}
        for mode in modes:
            expected = enumerator.optimum(mode)
            plan = solve_plan(project, targets, provider, mode, previous=previous, upgrade=upgrade)
            got = planner_result(plan, targets)
            # Lazy variables: with one candidate per package given a variable up front (the rest
            # made as the solving reaches them), the same plan.
            with first_chunk(1):
                assert planner_result(solve_plan(project, targets, provider, mode, previous=previous, upgrade=upgrade),
                                      targets) == got, mode
            if plan.pin_solve == "narrowed":  # the fast path with pins answered: the full solve's plan, all of it
                full = solve_plan(project, targets, provider, mode, previous=previous, upgrade=upgrade, narrow=False)
                assert without_counters(plan) == without_counters(full), mode
            assert {t: r is UNSAT for t, r in got.items()} == {t: r is UNSAT for t, r in expected.items()}, mode
            assert got == expected, f"alignment {mode}: planner {got} != enumerator {expected}"
            for target_plan in plan.targets:
                name = target_plan.target.name
                extras = {p.name: p.extras for p in target_plan.packages}
                assert extras == enumerator.extras(mode, name), f"alignment {mode}, target {name}: extras"
                check_holds(target_plan, enumerator.solutions[name])
            results[mode] = got
        return results


def without_counters(plan: Plan) -> Plan:
    """The plan without its solving counters (which differ between the fast and the full path)."""
    return replace(plan, targets=tuple(replace(t, stats=SolveStats()) for t in plan.targets))


def check_holds(target_plan, solutions) -> None:  # type: ignore[no-untyped-def]
    """What the plan says holds a direct requirement back agrees with the valid solutions: a
    "conflict" newest version is in none of them; one held by an earlier "decision" is in some."""
    for hold in target_plan.holds:
        planned = target_plan.get(hold.package)
        assert planned is not None and planned.version == hold.version and Version(hold.version.public) < hold.newest
        at_newest = any(hold.package in x and Version(x[hold.package].version.public) == hold.newest for x in solutions)
        if hold.cause == "conflict":
            assert not at_newest, f"{target_plan.target.name}: {hold}"
        elif hold.cause == "decision":
            assert at_newest, f"{target_plan.target.name}: {hold}"


# -- hand-written regressions -------------------------------------------------------------------
def universe(pyproject: str, **indexes: list[Release]) -> Universe:
    return Universe(textwrap.dedent(pyproject).lstrip(), dict(indexes))


TWO_TARGETS = """
    [tool.planner.targets.lin]
    platform = "linux-x86_64"
    python = "3.11"
    [tool.planner.targets.mac]
    platform = "macos-arm64"
    python = "3.11"
    """

HOLD_BACK = universe("""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["a"]
    """ + TWO_TARGETS, pypi=[Release("a", "1.0"), Release("a", "2.0", tag=LINUX)])

LOCAL_LABELS = universe("""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["torch"]
    [[tool.uv.index]]
    name = "cpu"
    url = "https://download.example/cpu"
    explicit = true
    [tool.uv.sources]
    torch = { index = "cpu", marker = "sys_platform == 'linux'" }
    """ + TWO_TARGETS,
    pypi=[Release("torch", "2.5.1", tag=MAC), Release("torch", "2.6.0", tag=MAC), Release("torch", "2.6.0", tag=LINUX)],
    cpu=[Release("torch", "2.5.1+cpu", tag=LINUX), Release("torch", "2.4.0+cpu", tag=LINUX)])

EXTRAS_CHAIN = universe("""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["a[x]"]
    """ + TWO_TARGETS, pypi=[
        Release("a", "1.0", ("b[y]; extra == 'x'",)),
        Release("b", "1.0", ("c<2; extra == 'y' and sys_platform == 'linux'", "d; extra == 'z'")),
        Release("c", "1.0"), Release("c", "2.0"), Release("d", "1.0")])

CYCLE = universe("""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["a"]
    """ + TWO_TARGETS, pypi=[
        Release("a", "1.0", ("b>=1",)), Release("a", "2.0", ("b>=2",)),
        Release("b", "1.0", ("a<2",)), Release("b", "2.0", ("a<2",), tag=LINUX), Release("b", "3.0", ("a>=3",))])


def strategy_universe(strategy: str) -> Universe:
    return universe(f"""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["a"]
    [tool.uv]
    index-strategy = "{strategy}"
    [[tool.uv.index]]
    name = "alt"
    url = "https://alt.example/simple"
    """ + TWO_TARGETS, alt=[Release("a", "1.0")], pypi=[Release("a", "2.0"), Release("b", "1.0")])


DIRECT_FIRST = universe("""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["b", "d"]
    """ + TWO_TARGETS, pypi=[
        Release("a", "1.0"), Release("a", "2.0"), Release("b", "1.0", ("a",)),
        Release("d", "1.0"), Release("d", "2.0", ("a<2",))])

YANKED_PINNED_LONGER = universe("""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["a==1.0.0"]
    """ + TWO_TARGETS, pypi=[Release("a", "1.0", yanked=True), Release("a", "0.9")])

CONSTRAINT_MARKER_PRERELEASE = universe("""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["c"]
    [tool.uv]
    prerelease = "explicit"
    constraint-dependencies = ['c>=2.1a1; sys_platform == "darwin"']
    """ + TWO_TARGETS, pypi=[Release("c", "1.0"), Release("c", "2.1a1")])


KEEP_ADDS_THE_CLOSURE = universe("""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["a", "b", "c"]
    """ + TWO_TARGETS, pypi=[
        Release("a", "1.0"), Release("a", "2.0"), Release("b", "1.0"), Release("b", "2.0"),
        Release("c", "1.0", ("b",)), Release("c", "2.0", ("a>=2",))])
KEEP_ADDS_THE_CLOSURE.pins = {"lin": [("a", "1.0", "pypi", None), ("b", "1.0", "pypi", None)], "mac": []}

KEEP_MOVES_FEWEST = universe("""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["a", "b", "c"]
    """ + TWO_TARGETS, pypi=[
        Release("a", "1.0", ("d<2",)), Release("a", "2.0", ("d",)), Release("b", "1.0", ("e<2",)),
        Release("b", "2.0", ("d>=2", "e>=2")), Release("c", "1.0", ("d>=2",)),
        Release("d", "1.0"), Release("d", "2.0"), Release("e", "1.0"), Release("e", "2.0")])
KEEP_MOVES_FEWEST.pins = {"lin": [("a", "1.0", "pypi", None), ("b", "1.0", "pypi", None), ("d", "1.0", "pypi", None),
                                  ("e", "1.0", "pypi", None)]}

UPGRADE_ONE = universe("""
    [project]
    name = "demo"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["a", "b"]
    """ + TWO_TARGETS, pypi=[
        Release("a", "1.0", ("c<2",)), Release("a", "2.0", ("c>=2",)), Release("b", "1.0"), Release("b", "2.0"),
        Release("c", "1.0"), Release("c", "2.0")])
UPGRADE_ONE.pins = {t: [("a", "1.0", "pypi", None), ("b", "1.0", "pypi", None), ("c", "1.0", "pypi", None)]
                    for t in ("lin", "mac")}
UPGRADE_ONE.upgrade = ["a"]


def test_keep_adds_only_the_new_closure() -> None:
    """c is new: it takes 1.0, which fits the kept a 1.0 (c 2.0 would move a); mac, without
    pins, takes the newest of everything."""
    results = compare(KEEP_ADDS_THE_CLOSURE)
    assert results["per-target"]["lin"] == {"a": ("1.0", "pypi"), "b": ("1.0", "pypi"), "c": ("1.0", "pypi")}
    assert results["per-target"]["mac"] == {"a": ("2.0", "pypi"), "b": ("2.0", "pypi"), "c": ("2.0", "pypi")}


def test_keep_moves_the_fewest_pins() -> None:
    """c needs d>=2: d moves, and a 1.0 (d<2) with it; b and e stay (2 moves, not 4)."""
    results = compare(KEEP_MOVES_FEWEST)
    assert results["per-target"]["lin"] == {"a": ("2.0", "pypi"), "b": ("1.0", "pypi"), "c": ("1.0", "pypi"),
                                           "d": ("2.0", "pypi"), "e": ("1.0", "pypi")}


def test_upgrade_package_moves_it_and_what_it_forces() -> None:
    results = compare(UPGRADE_ONE)
    assert results["per-python"]["lin"] == {"a": ("2.0", "pypi"), "b": ("1.0", "pypi"), "c": ("2.0", "pypi")}


def test_alignment_holds_a_package_back() -> None:
    results = compare(HOLD_BACK)
    assert results["per-python"] == {"lin": {"a": ("1.0", "pypi")}, "mac": {"a": ("1.0", "pypi")}}
    assert results["per-target"]["lin"] == {"a": ("2.0", "pypi")}


def test_local_labels_align() -> None:
    results = compare(LOCAL_LABELS)
    assert results["per-python"] == {"lin": {"torch": ("2.5.1+cpu", "cpu")}, "mac": {"torch": ("2.5.1", "pypi")}}
    assert results["per-target"]["mac"] == {"torch": ("2.6.0", "pypi")}


def test_extras_chain() -> None:
    results = compare(EXTRAS_CHAIN)
    assert results["all"]["lin"] == {"a": ("1.0", "pypi"), "b": ("1.0", "pypi"), "c": ("1.0", "pypi")}
    assert results["all"]["mac"] == {"a": ("1.0", "pypi"), "b": ("1.0", "pypi")}


def test_cycle() -> None:
    results = compare(CYCLE)
    assert results["per-target"]["lin"] == {"a": ("1.0", "pypi"), "b": ("2.0", "pypi")}
    assert results["per-python"]["lin"] == {"a": ("1.0", "pypi"), "b": ("1.0", "pypi")}


@pytest.mark.parametrize(("strategy", "version", "index"), [("first-index", "1.0", "alt"),
                                                              ("unsafe-best-match", "2.0", "pypi")])
def test_index_strategy(strategy: str, version: str, index: str) -> None:
    results = compare(strategy_universe(strategy))
    assert results["per-python"]["lin"] == {"a": (version, index)}


def test_direct_requirements_are_decided_before_transitive_ones() -> None:
    """d (direct) is decided before a (a requirement of b), although "a" < "d": d takes 2.0,
    which holds a at 1.0."""
    results = compare(DIRECT_FIRST)
    assert results["per-target"]["lin"] == {"a": ("1.0", "pypi"), "b": ("1.0", "pypi"), "d": ("2.0", "pypi")}


def test_exact_pin_spelt_longer_admits_the_yanked_version() -> None:
    """`==1.0.0` pins 1.0 exactly (PEP 440 pads with zeros), so the yanked 1.0 may be used."""
    results = compare(YANKED_PINNED_LONGER)
    assert results["per-python"] == {"lin": {"a": ("1.0", "pypi")}, "mac": {"a": ("1.0", "pypi")}}


def test_constraint_allows_prereleases_only_where_its_marker_holds() -> None:
    results = compare(CONSTRAINT_MARKER_PRERELEASE)
    assert results["per-python"] == {"lin": {"c": ("1.0", "pypi")}, "mac": {"c": ("2.1a1", "pypi")}}


# -- random universes ---------------------------------------------------------------------------
RANDOM = settings(deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(RANDOM, max_examples=600)
@given(universes())
@example(YANKED_PINNED_LONGER)
@example(CONSTRAINT_MARKER_PRERELEASE)
@example(KEEP_MOVES_FEWEST)
@example(UPGRADE_ONE)
def test_planner_matches_the_enumerator(universe: Universe) -> None:
    note(universe.describe())
    compare(universe)


@settings(RANDOM, max_examples=300)
@given(universes(alignment_heavy=True))
@example(HOLD_BACK)
@example(LOCAL_LABELS)
@example(EXTRAS_CHAIN)
@example(CYCLE)
@example(DIRECT_FIRST)
def test_planner_matches_the_enumerator_across_many_targets(universe: Universe) -> None:
    note(universe.describe())
    compare(universe)


@settings(RANDOM, max_examples=80)
@given(universes())
def test_the_search_finds_every_valid_assignment(universe: Universe) -> None:
    """The enumerator's pruned search equals checking every assignment (where that is small)."""
    note(universe.describe())
    with tempfile.TemporaryDirectory() as folder:
        project, targets, provider = load(universe, Path(folder))
        pruned = Enumerator(project, targets, provider)
        for target in targets:
            space = pruned.universes[target.name]
            if space.count_assignments() > 3000:
                continue
            key = lambda s: sorted((n, str(c.version), c.index) for n, c in s.items())  # noqa: E731
            assert sorted(map(key, space.solutions(naive=True))) == sorted(map(key, pruned.solutions[target.name]))


@contextmanager
def walks_checked_against_walks_from_the_roots(counts: dict[str, int]) -> Iterator[None]:
    """Every plan a solver reads off a model (`_reachable`, which reuses the last walk) must be
    the plan a walk from the roots reads off it: the same packages, candidates and extras (and,
    where it reached into a tail, the same packages in the same order)."""
    reuse = target_solver.TargetSolver._reachable

    def checked(solver, model):  # type: ignore[no-untyped-def]
        walk = solver._walk
        reused = walk is not None and any(s is None or model[s[1] - 1] < 0 for s in walk[0].values())
        reach = reuse(solver, model)
        kept = solver._walk
        fresh = solver._walk_on(model, {}, target_solver.Reach(), {}, {}, None)
        solver._walk = kept
        assert (reach.chosen, reach.extras) == (fresh.chosen, fresh.extras)
        if reused:
            assert reach.in_tail == fresh.in_tail
            counts["changed"] = counts.get("changed", 0) + 1
        return reach

    target_solver.TargetSolver._reachable = checked
    try:
        yield
    finally:
        target_solver.TargetSolver._reachable = reuse


def test_a_walk_that_reuses_the_last_one_plans_what_a_walk_from_the_roots_plans() -> None:
    """Models that take other candidates of a few packages are walked again only below those
    packages; on random universes (lazy variables of one candidate: tails reached often), every
    such walk plans what a walk from the roots plans."""
    counts: dict[str, int] = {}

    @settings(RANDOM, max_examples=150)
    @given(universes(alignment_heavy=True))
    def run(universe: Universe) -> None:
        note(universe.describe())
        with tempfile.TemporaryDirectory() as folder, walks_checked_against_walks_from_the_roots(counts), \
                first_chunk(1):
            project, targets, provider = load(universe, Path(folder))
            solve_plan(project, targets, provider, "all", previous=universe.previous(),
                       upgrade=[canonicalize_name(n) for n in universe.upgrade])

    run()
    assert counts.get("changed", 0) > 50  # (the universes do exercise walks after a change)
