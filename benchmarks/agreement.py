"""How far planner's pins agree with `uv lock` on the same projects.

    python benchmarks/agreement.py PROJECT_DIR [PROJECT_DIR ...] [--json FILE] [--keep]

For each project folder: copy it to a temporary folder (without `uv.lock`, `output/` or
`pylock.toml`, so that neither tool keeps earlier pins), run `planner compile COPY -o OUT
--cache-dir C` and `uv lock --directory COPY --cache-dir C2`, then compare every planner target's
pins with the versions uv.lock gives the same package:

- *in target*: the versions uv.lock installs in that target's environment, found by walking
  uv.lock's graph from the target's local packages (their extras and groups as the target
  activates them), following only dependencies whose markers hold for the target's marker
  environment (uv's conflict markers `extra == 'extra-N-pkg-x'` are read as the target's
  extras and groups) and only package versions whose `resolution-markers` admit it.
- *anywhere*: every version uv.lock holds for the package, in any fork.

A package agrees when planner's version is among the *in target* versions (or, for a package
the walk does not reach, among the *anywhere* versions: it is counted and listed apart).
Local packages (workspace members, path, git and URL sources) are compared by name only.
Always exits 0: a tool failing on a project is a result, printed with the end of its output.
Standard library and `packaging` only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
IGNORED_IN_COPY = ("uv.lock", "output", "pylock.toml", ".venv", ".git")


# -- running the tools ----------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """No pip/uv/planner settings of the machine: both tools see PyPI and the project only."""
    drop = ("PIP_", "UV_", "PLANNER_", "VIRTUAL_ENV", "CONDA_", "PYTHONPATH", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    if os.environ.get("PIP_CERT"):
        env["SSL_CERT_FILE"] = os.environ["PIP_CERT"]
    env["PIP_CONFIG_FILE"] = os.devnull
    # Not UV_NO_CONFIG: it makes uv skip the project's own [tool.uv] settings (exclude-newer, ...) too.
    # The user's uv.toml is out of reach instead (compare_project sets XDG_CONFIG_HOME to an empty folder).
    env["UV_NO_PROGRESS"] = "1"
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(REPO)  # planner is this checkout's (uv ignores it)
    env["PATH"] = interpreter_path(env.get("PATH", ""))
    return env


def interpreter_path(path: str) -> str:
    """PATH with pyenv's shims replaced by its interpreters' folders, newest first.

    uv looks for an interpreter that satisfies the project's requires-python on PATH; a pyenv
    shim for a version that is installed but not selected fails when run, and uv gives up."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    folders = [p for p in path.split(os.pathsep) if p and "pyenv/shims" not in p]
    versions = [b for b in (root / "versions").glob("*/bin") if _version_key(b.parent.name) >= (3, 8)]
    versions.sort(key=lambda b: _version_key(b.parent.name), reverse=True)  # uv runs none older
    return os.pathsep.join([*folders, *map(str, versions)])


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


@dataclass(frozen=True)
class Run:
    command: list[str]
    returncode: int
    output: str  # stdout and stderr together

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 6) -> str:
        kept = [line for line in self.output.splitlines() if line.strip()]
        return "\n".join("    " + line for line in kept[-lines:])


def run(command: list[str], env: dict[str, str], timeout: float) -> Run:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Run(command, -1, f"timed out after {timeout:.0f} s")
    return Run(command, done.returncode, done.stdout + done.stderr)


def planner_command() -> list[str]:
    """This checkout's planner, run by this interpreter (child_env puts the checkout on PYTHONPATH)."""
    return [sys.executable, "-m", "planner"]


# -- reading uv.lock ------------------------------------------------------------------------------

LOCAL_SOURCES = ("editable", "virtual", "directory", "path", "git", "url")
_CONFLICT_ITEM = re.compile(r"""\b(extra|group)\s*(==|!=)\s*(['"])((?:extra|group)-\d+-[^'"]+)\3""")


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str | None
    source: dict[str, Any]
    resolution_markers: tuple[str, ...]
    dependencies: tuple[dict[str, Any], ...]
    optional: dict[str, tuple[dict[str, Any], ...]]
    groups: dict[str, tuple[dict[str, Any], ...]]

    @property
    def local(self) -> bool:
        return any(kind in self.source for kind in LOCAL_SOURCES)


@dataclass
class UvLock:
    packages: list[LockedPackage]
    manifest_groups: dict[str, list[dict[str, Any]]]  # a virtual root's dependency groups

    @classmethod
    def read(cls, path: Path) -> "UvLock":
        data = tomllib.loads(path.read_text())
        packages = []
        for entry in data.get("package", []):
            packages.append(LockedPackage(
                name=canonicalize_name(entry["name"]),
                version=entry.get("version"),
                source=entry.get("source", {}),
                resolution_markers=tuple(entry.get("resolution-markers", ())),
                dependencies=tuple(entry.get("dependencies", ())),
                optional={canonicalize_name(k): tuple(v) for k, v in entry.get("optional-dependencies", {}).items()},
                groups={canonicalize_name(k): tuple(v) for k, v in entry.get("dev-dependencies", {}).items()},
            ))
        manifest = data.get("manifest", {})
        groups = {canonicalize_name(k): list(v) for k, v in manifest.get("dependency-groups", {}).items()}
        return cls(packages, groups)

    def versions(self, name: str) -> set[str]:
        return {p.version or "?" for p in self.packages if p.name == name}


class Environment:
    """A target's marker environment, its active extras and groups (uv's conflict items too)."""

    def __init__(self, markers: dict[str, str], extras: set[str], groups: set[str], locals_: list[str]):
        self.markers = dict(markers)
        # uv writes a conflict item as `extra-<len>-<package>-<extra>` (and `group-...`).
        self.items = {f"extra-{len(p)}-{p}-{e}" for p in locals_ for e in extras}
        self.items |= {f"group-{len(p)}-{p}-{g}" for p in locals_ for g in groups}
        self._cache: dict[str, bool] = {}

    def holds(self, marker: str | None) -> bool:
        if not marker:
            return True
        if marker not in self._cache:
            self._cache[marker] = self._evaluate(marker)
        return self._cache[marker]

    def _evaluate(self, marker: str) -> bool:
        def as_membership(match: re.Match[str]) -> str:
            kind, op, quote, item = match.groups()
            variable = "extras" if kind == "extra" else "dependency_groups"
            return f"{quote}{item}{quote} {'in' if op == '==' else 'not in'} {variable}"

        text = _CONFLICT_ITEM.sub(as_membership, marker)
        env = dict(self.markers, extra="", extras=self.items, dependency_groups=self.items)
        try:
            return Marker(text).evaluate(env, "lock_file")
        except (InvalidMarker, ValueError, TypeError):
            return True  # an unreadable marker excludes nothing: the comparison stays conservative


def walk(lock: UvLock, env: Environment, roots: list[str], extras: set[str], groups: set[str]) -> dict[str, set[str]]:
    """name -> versions uv.lock installs in `env`, from the target's local packages."""
    by_name: dict[str, list[LockedPackage]] = {}
    for package in lock.packages:
        by_name.setdefault(package.name, []).append(package)

    def admitted(package: LockedPackage) -> bool:
        return not package.resolution_markers or any(env.holds(m) for m in package.resolution_markers)

    def matches(dep: dict[str, Any]) -> list[LockedPackage]:
        candidates = by_name.get(canonicalize_name(dep["name"]), [])
        if "version" in dep:
            candidates = [p for p in candidates if p.version == dep["version"]]
        if "source" in dep:
            candidates = [p for p in candidates if p.source == dep["source"]] or candidates
        if len(candidates) > 1:
            candidates = [p for p in candidates if admitted(p)] or candidates
        return candidates

    reached: dict[str, set[str]] = {}
    seen: set[tuple[str, str | None, str]] = set()
    queue: list[tuple[LockedPackage, frozenset[str], bool]] = []
    for name in roots:
        for package in by_name.get(name, []):
            queue.append((package, frozenset(extras), True))
    for group, deps in lock.manifest_groups.items():
        if group in groups:
            for dep in deps:
                if env.holds(dep.get("marker")):
                    for package in by_name.get(canonicalize_name(dep["name"]), []):
                        if admitted(package):
                            queue.append((package, frozenset(canonicalize_name(e) for e in dep.get("extras", ())), False))
    while queue:
        package, wanted, is_root = queue.pop()
        key = (package.name, package.version, json.dumps(package.source, sort_keys=True))
        new_extras = {e for e in wanted if (key[0], key[1], key[2] + "[" + e) not in seen}
        if key in seen and not new_extras:
            continue
        first = key not in seen
        seen.add(key)
        for extra in new_extras:
            seen.add((key[0], key[1], key[2] + "[" + extra))
        reached.setdefault(package.name, set()).add(package.version or "?")
        deps: list[dict[str, Any]] = list(package.dependencies) if first else []
        for extra in new_extras:
            deps += package.optional.get(extra, ())
        if is_root and first:
            for group in groups:
                deps += package.groups.get(group, ())
        for dep in deps:
            if not env.holds(dep.get("marker")):
                continue
            dep_extras = frozenset(canonicalize_name(e) for e in dep.get("extra", ()))
            for target in matches(dep):
                queue.append((target, dep_extras, False))
    return reached


# -- reading plan.json and comparing --------------------------------------------------------------


@dataclass
class TargetComparison:
    name: str
    compared: int = 0
    agreeing: int = 0
    agreeing_elsewhere: list[str] = field(default_factory=list)  # agrees only with another fork's version
    differing: list[str] = field(default_factory=list)
    only_planner: list[str] = field(default_factory=list)
    only_uv: list[str] = field(default_factory=list)


def compare_target(target: dict[str, Any], lock: UvLock) -> TargetComparison:
    info = target["target"]
    locals_ = [canonicalize_name(p) for p in info.get("packages", [])]
    extras = {canonicalize_name(e) for e in info.get("extras", [])}
    groups = {canonicalize_name(g) for g in info.get("groups", [])}
    env = Environment(info["markers"], extras, groups, locals_)
    in_target = walk(lock, env, locals_, extras, groups)
    result = TargetComparison(info["name"])
    lock_local = {p.name for p in lock.packages if p.local}
    planned: dict[str, str] = {}
    for package in target["packages"]:
        planned[canonicalize_name(package["name"])] = str(package["version"])
    for name, version in sorted(planned.items()):
        if name in lock_local or name in locals_:
            continue  # local packages: compared by presence only (below)
        anywhere = lock.versions(name)
        if not anywhere:
            result.only_planner.append(f"{name} {version}")
            continue
        result.compared += 1
        here = in_target.get(name, set())
        if version in here:
            result.agreeing += 1
        elif version in anywhere:
            result.agreeing_elsewhere.append(
                f"{name}: planner {version}, uv {'/'.join(sorted(here)) or '(not reached)'} here, {version} in another fork")
        else:
            result.differing.append(
                f"{name}: planner {version}, uv {'/'.join(sorted(here or anywhere))}" + ("" if here else " (not reached here)"))
    for name in sorted(set(in_target) - set(planned) - lock_local - set(locals_)):
        result.only_uv.append(f"{name} {'/'.join(sorted(in_target[name]))}")
    return result


# -- one project ----------------------------------------------------------------------------------


@dataclass
class ProjectResult:
    project: str
    planner: Run | None = None
    uv: Run | None = None
    targets: list[TargetComparison] = field(default_factory=list)

    @property
    def compared(self) -> int:
        return sum(t.compared for t in self.targets)

    @property
    def agreeing(self) -> int:
        return sum(t.agreeing for t in self.targets)


def add_stand_ins(copy: Path, env: dict[str, str]) -> None:
    """Make a folder of pyproject files buildable for metadata, as uv builds every local package.

    Creates each pyproject's missing readme and hatch `version.path` / setuptools `attr` version
    file, and a git repository tagged v0.0.0 around the copy (for setuptools-scm, hatch-vcs,
    uv-dynamic-versioning). Neither tool reads source code to plan."""
    for pyproject in copy.rglob("pyproject.toml"):
        try:
            data = tomllib.loads(pyproject.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        here = pyproject.parent
        readme = data.get("project", {}).get("readme")
        readme = readme.get("file") if isinstance(readme, dict) else readme
        if isinstance(readme, str) and not (here / readme).exists():
            (here / readme).parent.mkdir(parents=True, exist_ok=True)
            (here / readme).write_text("stand-in\n")
        tool = data.get("tool", {})
        version_path = tool.get("hatch", {}).get("version", {}).get("path")
        attr = tool.get("setuptools", {}).get("dynamic", {}).get("version", {}).get("attr")
        files = [version_path] if isinstance(version_path, str) else []
        if isinstance(attr, str) and "." in attr:
            module = attr.rsplit(".", 1)[0].replace(".", "/")
            files += [f"{module}.py"] if not (here / module).is_dir() else [f"{module}/__init__.py"]
            files += [f"src/{module}.py"]
        for name in files:
            target = here / name
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text('__version__ = "0.0.0"\n')
    if not (copy / ".git").exists():
        git = ["git", "-C", str(copy), "-c", "user.name=agreement", "-c", "user.email=agreement@localhost"]
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "stand-in"], ["tag", "v0.0.0"]):
            subprocess.run([*git, *args], env=env, capture_output=True)


def compare_project(folder: Path, work: Path, caches: Path, env: dict[str, str], timeout: float,
                    stand_ins: bool = False, planner_args: tuple[str, ...] = ()) -> ProjectResult:
    result = ProjectResult(folder.name)
    (work / "config").mkdir(exist_ok=True)
    env = dict(env, XDG_CONFIG_HOME=str(work / "config"))
    copy = work / folder.name
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(*IGNORED_IN_COPY))
    if stand_ins:
        add_stand_ins(copy, env)
    out = work / f"{folder.name}-planner-output"
    result.planner = run([*planner_command(), "compile", str(copy), "-o", str(out),
                          "--cache-dir", str(caches / "planner"), *planner_args], env, timeout)
    result.uv = run([shutil.which("uv") or "uv", "lock", "--directory", str(copy), "--cache-dir", str(caches / "uv")], env, timeout)
    plan_file, lock_file = out / "plan.json", copy / "uv.lock"
    if result.planner.ok and result.uv.ok and plan_file.exists() and lock_file.exists():
        plan = json.loads(plan_file.read_text())
        lock = UvLock.read(lock_file)
        result.targets = [compare_target(t, lock) for t in plan["targets"]]
    return result


def print_project(result: ProjectResult, detail: bool) -> None:
    print(f"\n== {result.project}")
    for tool, r in (("planner", result.planner), ("uv", result.uv)):
        if r is not None and not r.ok:
            print(f"  {tool} failed (exit {r.returncode}):\n{r.tail()}")
    if not result.targets:
        return
    percent = 100.0 * result.agreeing / result.compared if result.compared else 100.0
    print(f"  targets {len(result.targets)}, packages compared {result.compared}, "
          f"agreeing {result.agreeing} ({percent:.1f}%)")
    for t in result.targets:
        print(f"  - {t.name}: compared {t.compared}, agreeing {t.agreeing}")
        listed = (("differs", t.differing), ("another fork's version", t.agreeing_elsewhere),
                  ("only in planner", t.only_planner), ("only in uv.lock", t.only_uv))
        for label, items in listed:
            if items:
                shown = items if detail else items[:8]
                more = "" if len(shown) == len(items) else f" (+{len(items) - len(shown)} more)"
                print(f"      {label}: " + "; ".join(shown) + more)


def table(results: list[ProjectResult]) -> str:
    lines = ["| project | targets | compared | agreeing | % | notes |", "|---|---|---|---|---|---|"]
    for r in results:
        notes = []
        for tool, run_ in (("planner", r.planner), ("uv", r.uv)):
            if run_ is not None and not run_.ok:
                notes.append(f"{tool} failed")
        if r.targets:
            pct = f"{100.0 * r.agreeing / r.compared:.1f}" if r.compared else "n/a"
            lines.append(f"| {r.project} | {len(r.targets)} | {r.compared} | {r.agreeing} | {pct} | {', '.join(notes)} |")
        else:
            lines.append(f"| {r.project} | | | | | {', '.join(notes)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("projects", nargs="+", type=Path, help="project folders (the workspace root for a workspace)")
    parser.add_argument("--cache-root", type=Path, help="keep both tools' caches here (default: a temporary folder)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per command (default 1800)")
    parser.add_argument("--json", type=Path, help="also write the comparisons to this file")
    parser.add_argument("--all", action="store_true", help="list every difference, not the first 8 per kind")
    parser.add_argument("--stand-ins", action="store_true",
                        help="folders of pyproject files only: add missing readmes, version files and a git tag v0.0.0")
    parser.add_argument("--planner-arg", action="append", default=[], metavar="ARG",
                        help="one more argument for planner compile (repeatable), e.g. --planner-arg=-t --planner-arg=linux-x86_64")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (copies, uv.lock, planner's output)")
    args = parser.parse_args(argv)
    env = child_env()
    work = Path(tempfile.mkdtemp(prefix="planner-agreement-"))
    caches = args.cache_root or work / "caches"
    results = []
    try:
        for folder in args.projects:
            if not (folder / "pyproject.toml").is_file():
                print(f"\n== {folder}: no pyproject.toml, skipped")
                continue
            results.append(compare_project(folder.resolve(), work, caches, env, args.timeout, args.stand_ins,
                                           tuple(args.planner_arg)))
            print_project(results[-1], args.all)
            sys.stdout.flush()
    finally:
        if args.keep:
            print(f"\nwork folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("\n" + table(results))
    if args.json:
        args.json.write_text(json.dumps([{
            "project": r.project,
            "planner": r.planner and {"returncode": r.planner.returncode, "tail": r.planner.tail(20)},
            "uv": r.uv and {"returncode": r.uv.returncode, "tail": r.uv.tail(20)},
            "targets": [t.__dict__ for t in r.targets],
        } for r in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
