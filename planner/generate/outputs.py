"""The set of files one compile writes, and whether the ones on disk are current.

Files (under the output folder, docs/outputs.md):
    plan.json                       the plan, the inputs fingerprint and a manifest of the others
    pylock.toml                     or pylock.<target>.toml per target (see generate/pylock.py)
    <target>/requirements.txt       every target
    <target>/git-packages.txt       targets with git packages, pinned to commits (installed after, --no-deps)
    <target>/local-packages.txt     targets with local source trees (installed after, --no-deps)
    <target>/image-requirements.txt Linux targets whose image leaves dependency groups out
    <target>/Dockerfile             Linux targets
    <target>/Dockerfile.dockerignore  Dockerfiles built from the project folder (local packages)

`plan.json`'s manifest (relative path -> sha256) lets `planner compile --check` tell, without the
network, whether every output is there, unedited and made from the current inputs; and lets the
next compile remove files an earlier one wrote that no longer belong (a dropped target's folder).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from planner.errors import InputError

if TYPE_CHECKING:  # `--check`, `why` and `tree` read outputs without the generators (jinja2, tomlkit)
    from planner.generate.context import OutputContext
    from planner.plan.model import Plan

PLAN_FILE = "plan.json"
# The names planner writes (see the module docstring): what a previous manifest may ask to remove.
# (Keep it in step with the list above when a new kind of output is added.)
_OUTPUT_PATH_RE = re.compile(r"pylock\.toml|pylock\.[A-Za-z0-9][A-Za-z0-9._-]*\.toml"
                             r"|[A-Za-z0-9][A-Za-z0-9._-]*/(?:requirements\.txt|local-packages\.txt|git-packages\.txt"
                             r"|image-requirements\.txt|Dockerfile|Dockerfile\.dockerignore)")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Outputs:
    files: Mapping[str, bytes]  # relative path -> bytes, plan.json included
    notes: tuple[str, ...] = ()  # what the user should know about them (split locks, no Dockerfile)


def require_hashes(context: OutputContext, plan: Plan) -> None:
    """Every artifact an output names must have a sha256 from its index."""
    from planner.generate.hashing import unhashed_artifacts

    missing = unhashed_artifacts(plan)
    if missing:
        artifact = missing[0]
        # Name the place actually read: a local folder standing in for the index, not the URL
        # the outputs would publish.
        read = next((index.url for index in context.project.indexes if index.name == artifact.index), None)
        published = context.index_url(artifact.index)
        where = published
        if read is not None and read.startswith("file:"):
            from urllib.parse import unquote, urlsplit

            where = f"read from the folder {unquote(urlsplit(read).path)}"
        raise InputError(
            f"index '{artifact.index}' ({where}) gives no sha256 for "
            f"{artifact.filename}: outputs pin every artifact by hash",
            fix="pass --fetch-missing-hashes to download the file and pin the hash of its bytes, "
                "or use an index that publishes sha256 hashes")


def render_outputs(context: OutputContext, plan: Plan) -> Outputs:
    from planner.generate.dockerfile import (
        image_packages,
        local_image_problem,
        no_dockerfile_reason,
        render_dockerfile,
        render_dockerignore,
    )
    from planner.generate.plan_json import plan_document, plan_json_text
    from planner.generate.pylock import lock_files
    from planner.generate.requirements import (
        GIT_FILE,
        LOCAL_FILE,
        git_packages,
        git_packages_txt,
        local_packages_txt,
        requirements_txt,
    )

    require_hashes(context, plan)
    files: dict[str, bytes] = {}
    notes: list[str] = []
    locks, split_note = lock_files(context, plan)
    files.update((name, text.encode()) for name, text in locks.items())
    if split_note is not None:
        notes.append(split_note)
    output_folder = context.output_folder()
    default_url = context.index_url(context.project.default_index.name)
    for target_plan in plan.targets:
        folder = target_plan.target.name
        files[f"{folder}/requirements.txt"] = requirements_txt(context, target_plan).encode()
        local = local_packages_txt(context, target_plan)
        if local is not None:
            files[f"{folder}/{LOCAL_FILE}"] = local.encode()
        checkouts = git_packages_txt(context, target_plan)
        if checkouts is not None:
            files[f"{folder}/{GIT_FILE}"] = checkouts.encode()
        if (reason := no_dockerfile_reason(target_plan.target)) is not None:
            notes.append(reason)
            continue
        if (reason := local_image_problem(target_plan, output_folder)) is not None:
            notes.append(reason)
            continue
        requirements, git_requirements = "requirements.txt", GIT_FILE
        in_image = image_packages(target_plan)
        if len(in_image) != len(target_plan.packages):
            requirements = "image-requirements.txt"
            files[f"{folder}/{requirements}"] = requirements_txt(context, target_plan, in_image).encode()
            if git_packages(in_image) != git_packages(target_plan.packages) and git_packages(in_image):
                git_requirements = f"image-{GIT_FILE}"
                files[f"{folder}/{git_requirements}"] = git_packages_txt(  # type: ignore[union-attr]
                    context, target_plan, in_image, name=git_requirements).encode()
        dockerfile = render_dockerfile(context.project, target_plan, command=context.command,
                                       output_folder=output_folder, index_url=default_url, requirements=requirements,
                                       git_requirements=git_requirements)
        if dockerfile is not None:
            files[f"{folder}/Dockerfile"] = dockerfile.encode()
            if any(p.artifact.is_local for p in in_image):
                files[f"{folder}/Dockerfile.dockerignore"] = render_dockerignore(
                    output_folder or "output", folder, requirements,
                    git_requirements if git_packages(in_image) else None).encode()
    local = sorted({p.artifact.filename for t in plan.targets for p in t.packages
                    if p.artifact.url.startswith("file:") and not p.artifact.is_local})
    if local:
        notes.append(f"{len(local)} {'artifact is a file' if len(local) == 1 else 'artifacts are files'} on this "
                     "machine (a local index with its files, e.g. "
                     f"{local[0]}): the outputs install them only here")
    manifest = {path: _sha256(data) for path, data in sorted(files.items())}
    document = plan_document(context.project, plan, context.index_urls)
    document["inputs"] = {"hash": context.inputs_hash, "planner_version": context.planner_version,
                          "command": context.command}
    if context.selection:  # what `why` needs to tell whether the plan is current
        document["inputs"]["targets"] = list(context.selection)
    if context.settings:
        document["inputs"]["settings"] = list(context.settings)
    document["outputs"] = manifest
    files[PLAN_FILE] = plan_json_text(document).encode()
    return Outputs(files, tuple(notes))


def previous_outputs(out_dir: Path) -> dict[str, str | None]:
    """Files the last compile into `out_dir` wrote (from its plan.json) with the sha256 each had,
    to remove the ones that no longer belong (`write_outputs` deletes only unedited ones)."""
    manifest = _manifest(out_dir)
    if manifest is None:
        return {}
    return {**manifest, PLAN_FILE: None}


def stale_reason(out_dir: Path, context: OutputContext) -> str | None:
    """Why the outputs in `out_dir` are missing or stale, or None when they are current."""
    return outputs_stale_reason(out_dir, context.planner_version, context.inputs_hash)


def outputs_stale_reason(out_dir: Path, planner_version: str, inputs_hash: str) -> str | None:
    """`stale_reason` given the planner version and inputs hash the outputs must have."""
    plan_file = out_dir / PLAN_FILE
    try:
        document = json.loads(plan_file.read_bytes())
    except FileNotFoundError:
        return f"{plan_file} is missing"
    except (OSError, ValueError) as exc:
        return f"{plan_file} is unreadable ({exc.__class__.__name__})"
    inputs = document.get("inputs") if isinstance(document, dict) else None
    manifest = document.get("outputs") if isinstance(document, dict) else None
    if not isinstance(inputs, dict) or not isinstance(manifest, dict):
        return f"{plan_file} was not written by this version of planner"
    if inputs.get("planner_version") != planner_version:
        return f"outputs were made by planner {inputs.get('planner_version')}, this is {planner_version}"
    if inputs.get("hash") != inputs_hash:
        return "pyproject.toml, the index options or the target selection changed since the outputs were made"
    for relative, digest in sorted(manifest.items()):
        path = out_dir / relative
        if not isinstance(relative, str) or not _OUTPUT_PATH_RE.fullmatch(relative):
            return f"{plan_file} lists {relative!r}, which is not a file planner writes"
        data = read_output(out_dir, relative)
        if data is None:
            return f"{path} is missing"
        if _sha256(data) != digest:
            return f"{path} was changed after planner wrote it"
    return None


def read_output(out_dir: Path, relative: str) -> bytes | None:
    """An output file's bytes; None when it is missing, or is not a regular file reached
    without symbolic links (then it is not planner's output)."""
    path = out_dir
    for part in relative.split("/"):
        path = path / part
        if path.is_symlink():
            return None
    if not path.is_file():
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _manifest(out_dir: Path) -> dict[str, str] | None:
    try:
        return manifest_of((out_dir / PLAN_FILE).read_bytes())
    except OSError:
        return None


def manifest_of(plan_file: bytes) -> dict[str, str] | None:
    """The manifest of a plan.json's bytes (relative path -> sha256); None when it has none."""
    try:
        document = json.loads(plan_file)
    except (ValueError, RecursionError):
        return None
    manifest = document.get("outputs") if isinstance(document, dict) else None
    if not isinstance(manifest, dict):
        return None
    # The manifest is data from the output folder, which planner does not trust (a cloned
    # repository can hold any plan.json): only names planner itself writes, with a digest.
    return {path: digest for path, digest in manifest.items()
            if isinstance(path, str) and _OUTPUT_PATH_RE.fullmatch(path)
            and isinstance(digest, str) and _SHA256_RE.fullmatch(digest)}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
