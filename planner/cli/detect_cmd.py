"""`planner detect`: which of the project's targets this machine is, how to install it, and why
the other targets do not fit (registers itself on `app`; planner/host/ does the work)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from planner.cli.app import FormatOption, OutputFormat, ProjectArgument, app, reports_errors
from planner.cli.console import Output
from planner.errors import ExitCode


def system_probes() -> Any:
    """The probes of this machine (tests replace this function to describe another one)."""
    from planner.host.probes import Probes

    return Probes()


@reports_errors
def detect_command(
    ctx: typer.Context,
    project: ProjectArgument = Path("."),
    output_dir: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="DIR", help="The compiled outputs (default: output/ beside the pyproject).")] = None,
    python: Annotated[str | None, typer.Option(
        "--python", metavar="VERSION|PATH",
        help="The Python the project will run on: a version, or an interpreter to ask (default: the one running planner).")] = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Say which target this machine is (platform, Python, glibc or macOS, NVIDIA driver, ROCm),
    how to install it, and why the other targets do not fit. Exit 1 when none fits."""
    from planner.cli.workspace import load_targets
    from planner.host.match import TargetFacts, detect
    from planner.host.probes import probe_host

    output: Output = ctx.obj
    loaded = load_targets(project, [], None)
    for warning in loaded.warnings:
        output.warning(str(warning))
    out = output_dir or loaded.project.root / "output"
    compiled, locks = _compiled(out)
    facts = []
    for target in loaded.targets:
        known = compiled.get(target.name)
        if known is None:
            facts.append(TargetFacts(target, extras=target.extras, groups=target.groups))
        else:
            facts.append(TargetFacts(target, known["kind"], known["version"], True,
                                     (*target.extras, *known["left_extras"]), (*target.groups, *known["left_groups"])))
    host = probe_host(system_probes(), python)
    detection = detect(host, facts)
    chosen = detection.chosen
    install = _install(out, chosen, locks) if chosen is not None else None
    if output_format is OutputFormat.JSON:
        output.json({
            "host": host.document(),
            "target": chosen.target.name if chosen else None,
            "compiled": bool(compiled),
            "install": install,
            "targets": [{"name": f.name, "fits": f.fits, "reasons": list(f.reasons)} for f in detection.fits],
        })
    else:
        output.text(f"this machine: {host.describe()}")
        for note in host.notes:
            output.text(f"  note: {note}")
        if chosen is None:
            output.text("no target of the project fits this machine")
        else:
            target = chosen.target
            output.text(f"target: {target.name} ({', '.join(target.description_parts(accelerator=True))})")
            if not compiled:
                output.text(f"  (no compiled outputs in {_shown(out)}: run planner compile first)")
            output.text(f"install: {install['pylock']}")  # type: ignore[index]
            output.text(f"     or: {install['requirements']}")  # type: ignore[index]
        others = [f for f in detection.fits if chosen is None or f.name != chosen.target.name]
        if others:
            output.text("other targets:")
            for other in others:
                verdict = "fits too" if other.fits else "does not fit"
                output.text(f"  {other.name}: {verdict}" + (f": {'; '.join(other.reasons)}" if other.reasons else ""))
    if chosen is None:
        raise typer.Exit(int(ExitCode.UNSATISFIABLE))


def _shown(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return relative if not relative.startswith("..") else str(path)


def _install(out: Path, chosen: Any, locks: set[str]) -> dict[str, str]:
    name = chosen.target.name
    lock = f"pylock.{name}.toml" if f"pylock.{name}.toml" in locks else "pylock.toml"
    flags = [f"--extra {e}" for e in chosen.extras] + [f"--group {g}" for g in chosen.groups]
    requirements = _shown(out / name / "requirements.txt")
    return {
        "pylock": " ".join(["uv pip install -r", _shown(out / lock), *flags]),
        "requirements": f"pip install --require-hashes --no-deps -r {requirements}",
    }


def _compiled(out: Path) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """From `plan.json` (when there and readable): per target the GPU runtime its plan carries and
    what it left out; and the lock files written. A file planner did not write is not trusted:
    anything that does not read as planner's format is ignored."""
    from planner.targets.model import AcceleratorKind
    from planner.targets.runtimes import parse_version

    try:
        document = json.loads((out / "plan.json").read_bytes()[:64 * 1024 * 1024])
    except (OSError, ValueError):
        return {}, set()
    if not isinstance(document, dict) or not isinstance(document.get("targets"), list):
        return {}, set()
    found: dict[str, dict[str, Any]] = {}
    for entry in document["targets"]:
        try:
            name = entry["target"]["name"]
            runtime = entry.get("runtime") or {}
            kind = AcceleratorKind(runtime["kind"]) if runtime.get("kind") else None
            version = parse_version(runtime.get("version")) if kind else (None, None)
            left = entry.get("left_out") or []
            found[str(name)] = {
                "kind": kind, "version": version,
                "left_extras": tuple(str(i["name"]) for i in left if i.get("kind") == "extra"),
                "left_groups": tuple(str(i["name"]) for i in left if i.get("kind") == "group"),
            }
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    outputs = document.get("outputs")
    locks = {str(k) for k in outputs if str(k).startswith("pylock")} if isinstance(outputs, dict) else set()
    return found, locks


app.command(name="detect", short_help="Which target this machine is, and how to install it.")(detect_command)
