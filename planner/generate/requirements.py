"""`<target>/requirements.txt`: the target's plan, hash-pinned, for `pip install --require-hashes`
and `uv pip install`.

How each line pins its artifact (docs/outputs.md argues the choice):
- a package from the target's default index is `name==version` with the locked file's
  `--hash`, and the file starts with `--index-url <default index>`: readable, and a mirror of
  the default index can stand in (`--index-url` on the command line), while the hash still admits
  only the locked bytes;
- a package from any other index (routed there by `[tool.uv.sources]`, or found there first) is a
  direct reference `name @ <artifact url>` with its `--hash`: pip and uv fetch that one file and
  never look the name up on another index, so no public package can stand in for it;
- so is a package from a flat index (`format = "flat"`, `find-links`): such an index is no
  simple index an installer could be pointed at, and its files have URLs of their own. When the
  default index is flat, the file starts with `--no-index` instead of `--index-url`.

No `--extra-index-url` is ever written: it would let either installer take a same-named package
from an index the plan did not choose.

Local packages: a wheel or sdist file is a path line with its `--hash`, like any artifact. A source
tree (the project, a workspace member, a path source) cannot be hash-checked (pip refuses hashes
for directories), so the trees go to a second file, `local-packages.txt`, installed after the
first with `--no-deps` (`-e` where the source asks for an editable install). Paths are relative to
the project folder: both pip and uv resolve them against the working directory, so both files are
installed from there.

Git and URL packages: a wheel or sdist at a URL is `name @ <url>` with the `--hash` of the bytes
planner downloaded, like any index file. A git checkout cannot be hash-checked either (pip and uv
refuse hashes for version control requirements, and in hash-checking mode refuse such a line), so
git packages go to `git-packages.txt`, one `name @ git+<repository>@<commit>` line each, pinned to
the full commit id the plan resolved: git checks that the tree is that commit's. It is installed
after `requirements.txt`, with `--no-deps`, before `local-packages.txt`.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.generate.context import OutputContext
from planner.index.models import ArtifactKind
from planner.plan.model import PROJECT, PlannedPackage, TargetPlan
from planner.urls import strip_userinfo

LOCAL_FILE = "local-packages.txt"
GIT_FILE = "git-packages.txt"
_UNHASHED = (ArtifactKind.DIRECTORY, ArtifactKind.VCS)


def install_options(packages: Sequence[PlannedPackage]) -> tuple[str, str]:
    """The format options of pip's and uv's install commands for these packages: wheels only,
    except the packages installed from their sdists, which must be built (`--no-binary NAME`
    wins over `--only-binary=:all:` for that name, in both installers)."""
    sdists = sdist_packages(packages)
    pip = "--only-binary=:all:" + (f" --no-binary {','.join(sdists)}" if sdists else "")
    uv = f"--no-binary {','.join(sdists)}" if sdists else ""
    return pip, uv


def sdist_packages(packages: Sequence[PlannedPackage]) -> list[str]:
    return sorted({p.name for p in packages if p.artifact.kind is ArtifactKind.SDIST})


def hashed_packages(packages: Sequence[PlannedPackage]) -> list[PlannedPackage]:
    """What `requirements.txt` installs: everything but local source trees and git checkouts."""
    return [p for p in packages if p.artifact.kind not in _UNHASHED]


def git_packages(packages: Sequence[PlannedPackage]) -> list[PlannedPackage]:
    """What `git-packages.txt` installs: the git checkouts, pinned to their commits."""
    return [p for p in packages if p.artifact.kind is ArtifactKind.VCS]


def local_trees(packages: Sequence[PlannedPackage]) -> list[PlannedPackage]:
    """What `local-packages.txt` installs: the local source trees."""
    return [p for p in packages if p.artifact.kind is ArtifactKind.DIRECTORY]


def local_path(path: str) -> str:
    """A path from the project folder as an installer's requirement line needs it (`./x`)."""
    return path if path.startswith(("../", "./")) or path in (".", "..") else f"./{path}"


def requirements_txt(context: OutputContext, plan: TargetPlan, packages: Sequence[PlannedPackage] | None = None,
                     *, folder: str | None = None) -> str:
    """`packages` (default: the plan's) as a hash-checked requirements file; `folder` is where it
    is written, from the output folder (default: the target's)."""
    default = context.project.default_index
    default_index = default.name
    target = plan.target
    chosen = hashed_packages(plan.packages if packages is None else packages)
    trees = local_trees(plan.packages if packages is None else packages)
    checkouts = git_packages(plan.packages if packages is None else packages)
    folder = folder or target.name
    pip_options, uv_options = install_options(chosen)
    only_binary = f"{pip_options} "
    uv_format = f"{uv_options} " if uv_options else ""
    sdists = sdist_packages(chosen)
    shown = context.output_folder() or "<output folder>"
    here = f"{shown}/{folder}"
    install = [
        "# Install with:",
        f"#   pip install --require-hashes --no-deps {only_binary}-r requirements.txt",
        f"#   uv pip install --require-hashes --no-deps {uv_format}-r requirements.txt",
    ]
    if trees or checkouts or any(p.artifact.is_local for p in chosen):
        git_file = GIT_FILE if folder == target.name else f"image-{GIT_FILE}"
        install = [
            "# Install from the project folder (paths of local packages are relative to it), with pip:",
            f"#   pip install --require-hashes --no-deps {only_binary}-r {here}/requirements.txt",
            *([f"#   pip install --no-deps -r {here}/{git_file}"] if checkouts else []),
            *([f"#   pip install --no-deps -r {here}/{LOCAL_FILE}"] if trees else []),
            "# or uv:",
            f"#   uv pip install --require-hashes --no-deps {uv_format}-r {here}/requirements.txt",
            *([f"#   uv pip install --no-deps -r {here}/{git_file}"] if checkouts else []),
            *([f"#   uv pip install --no-deps -r {here}/{LOCAL_FILE}"] if trees else []),
        ]
    if sdists:
        install += [f"# Built from their sdists (no wheel fits this target): {', '.join(sdists)}; the installer",
                    "# fetches their build requirements (build-system.requires) from the index, without hashes."]
    elsewhere = ([f"its {_count(len(checkouts), 'git package')} {_are(len(checkouts))} in {GIT_FILE}"]
                 if checkouts else []) + \
        ([f"its {_count(len(trees), 'local source tree')} {_are(len(trees))} in {LOCAL_FILE}"] if trees else [])
    subset = packages is not None and len(packages) != len(plan.packages)
    lines = [
        ("# The image of target" if subset else "# Target")
        + f" {target.name} ({'; '.join(target.description_parts(accelerator=True))}): "
        f"{_count(len(chosen), 'package')}, exact artifacts" + ("; " + "; ".join(elsewhere) + "." if elsewhere else "."),
        *(["# Left out: what only the target's dependency groups need (the docker table's `groups` keeps some)."]
          if subset else []),
        "# Generated by planner from pyproject.toml; do not edit. To update, in the project folder run:",
        f"#   {context.command}",
        *install,
        *(f"# Left out: {item} cannot be installed on this target: {item.reason}" for item in plan.left_out),
        "--no-index" if default.is_flat else f"--index-url {context.index_url(default_index)}",
        "",
    ]
    by_name = "" if default.is_flat else default_index  # packages written as name==version
    for package in chosen:
        lines += _entry(context, package, by_name)
    return "\n".join(lines) + "\n"


def local_packages_txt(context: OutputContext, plan: TargetPlan, packages: Sequence[PlannedPackage] | None = None,
                       ) -> str | None:
    """The target's local source trees, one install line each, or None when it has none."""
    trees = local_trees(plan.packages if packages is None else packages)
    if not trees:
        return None
    default = context.project.default_index
    here = f"{context.output_folder() or '<output folder>'}/{plan.target.name}"
    lines = [
        f"# Target {plan.target.name}: the {_count(len(trees), 'local source tree')} of the plan, installed after "
        "requirements.txt, without",
        "# dependencies (requirements.txt holds them all, hash-checked; a folder cannot be hash-checked).",
        "# Generated by planner from pyproject.toml; do not edit. Install from the project folder with:",
        f"#   pip install --no-deps -r {here}/{LOCAL_FILE}",
        f"#   uv pip install --no-deps -r {here}/{LOCAL_FILE}",
        "# Their build backends come from the index below (a build needs them; they are not pinned).",
        "--no-index" if default.is_flat else f"--index-url {context.index_url(default.name)}",
        "",
    ]
    for package in trees:
        artifact = package.artifact
        via = ", ".join("the target" if name == PROJECT else name for name in package.required_by)
        line = ("-e " if artifact.editable else "") + local_path(str(artifact.path))
        lines += [line, f"    # {package.name}" + (f"; via {via}" if via else "")]
    return "\n".join(lines) + "\n"


def _entry(context: OutputContext, package: PlannedPackage, by_name: str) -> list[str]:
    artifact = package.artifact  # hashed: outputs.require_hashes ran first
    via = ", ".join("the project" if name == PROJECT else name for name in package.required_by)
    if artifact.is_local:  # a wheel or sdist file named by a path source
        lines = [f"{local_path(str(artifact.path))} \\", f"    --hash=sha256:{artifact.sha256}",
                 f"    # {package.name} {package.version}, local file" + (f"; via {via}" if via else "")]
        return lines
    if package.index == by_name:
        head = f"{package.name}=={package.version}"
        comment = f"    # via {via}" if via else None
    elif artifact.is_direct:  # a file at a URL: the bytes planner downloaded and hashed
        head = f"{package.name} @ {strip_userinfo(artifact.url)}"
        comment = f"    # {package.version} from its URL" + (f"; via {via}" if via else "")
    else:
        head = f"{package.name} @ {strip_userinfo(artifact.url)}"
        comment = f"    # {package.version} from index '{package.index}'" + (f"; via {via}" if via else "")
    lines = [f"{head} \\", f"    --hash=sha256:{artifact.sha256}"]
    if comment:
        lines.append(comment)
    return lines


def git_packages_txt(context: OutputContext, plan: TargetPlan, packages: Sequence[PlannedPackage] | None = None,
                     *, name: str = GIT_FILE) -> str | None:
    """The target's git packages, one line each pinned to its commit, or None when it has none."""
    checkouts = git_packages(plan.packages if packages is None else packages)
    if not checkouts:
        return None
    default = context.project.default_index
    here = f"{context.output_folder() or '<output folder>'}/{plan.target.name}"
    lines = [
        f"# Target {plan.target.name}: the {_count(len(checkouts), 'git package')} of the plan, each pinned to the commit "
        "the plan resolved,",
        "# installed after requirements.txt, without dependencies (requirements.txt holds them all, hash-checked;",
        "# pip and uv cannot hash a git checkout: the full commit id pins its content). Installing them runs git.",
        "# Generated by planner from pyproject.toml; do not edit. Install with:",
        f"#   pip install --no-deps -r {here}/{name}",
        f"#   uv pip install --no-deps -r {here}/{name}",
        "# Their build backends come from the index below (a build needs them; they are not pinned).",
        "--no-index" if default.is_flat else f"--index-url {context.index_url(default.name)}",
        "",
    ]
    for package in checkouts:
        artifact = package.artifact
        via = ", ".join("the project" if who == PROJECT else who for who in package.required_by)
        assert artifact.git is not None  # a vcs artifact always says its commit
        requested = artifact.git.requested or "the default branch"
        version = "" if package.version.local == "dynamic" else f"{package.version}: "
        lines += [f"{package.name} @ {strip_userinfo(artifact.url)}",
                  f"    # {version}{requested} at commit {artifact.git.commit[:12]}" + (f"; via {via}" if via else "")]
    return "\n".join(lines) + "\n"


def _count(n: int, noun: str) -> str:
    """`1 package`, `2 packages`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _are(n: int) -> str:
    return "is" if n == 1 else "are"
