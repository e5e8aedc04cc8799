"""Git sources: a `GitReference` resolved to a full commit id, fetched once into the cache, its
files and static metadata read, its tree exported for builds. Runs the real `git` command.

How (and why):
- **Resolving.** A full commit id needs no lookup. Any other ref is looked up with one
  `git ls-remote` (HEAD, branches and tags; peeled for annotated tags): `branch` and `tag` name
  exactly one kind; `rev` (and PEP 508's `@ref`) tries a ref of that name, then a commit prefix,
  which needs the repository's history (fetched in full once). Online, every run asks the
  remote (branches move; the lock keeps a resolved commit unless asked to upgrade); each answer
  is recorded in the cache so that `offline=True` can answer from it.
- **Fetching.** One bare repository per repository URL under the cache
  (`git-v1/db/<key of the normalized URL>`), shared by all commits of that URL; a commit is
  fetched by id (shallow), falling back to the ref it was found under, then to every branch and
  tag; and kept by a `refs/planner/<commit>` ref. Nothing is ever checked out by git: files are
  read from the object store (`git cat-file`), and `checkout` writes a tree itself.
- **Hardening**, as the repository's content and server are untrusted: only the URL's own
  transport is allowed (`protocol.allow=never` plus that scheme: no `ext::`, no `file` unless
  the URL is a `file://` one), objects are checked on receipt (`transfer.fsckObjects`), no hooks
  (`core.hooksPath=/dev/null`, empty templates), no submodules, no prompts
  (`GIT_TERMINAL_PROMPT=0`, no askpass, no terminal: a new session), a time limit on every
  command (`PLANNER_GIT_TIMEOUT`) and a low-speed abort, size limits on files read and trees
  written, and no symbolic link followed or written that leaves the tree.
- **Credentials**: the URL's user info, else the netrc entry of its host (`NETRC` or
  `~/.netrc`), handed to git through a credential helper given on the command line that answers
  only for that protocol and host (values in the child's environment, never in its arguments);
  else git's own credential helpers and configuration. They never reach a command line, the
  cache (keys and records use the URL without user info), a message or an output.

Errors are `GitError`s (exit 2) naming the repository (credentials hidden) and what to change;
the caller adds the pyproject file, key and line.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from planner.errors import ExitCode, InputError, PlannerError
from planner.index.models import CoreMetadata
from planner.project.references import GitRef, GitReference, GitRefKind
from planner.sources.errors import SourceError
from planner.sources.tree_metadata import BUILD_FILES, MAX_PYPROJECT_BYTES, NeedsBuild, static_metadata

CACHE_FOLDER = "git-v1"
DEFAULT_TIMEOUT = 600.0  # seconds for one git command (a large repository's first fetch)
DEFAULT_MAX_CHECKOUT_MB = 4096.0
MAX_CHECKOUT_FILES = 200_000
_COMMIT_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SHORT_COMMIT_RE = re.compile(r"[0-9a-fA-F]{4,39}")
# Variables that would point git at another repository than the one it is asked about.
_REPOSITORY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                         "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_COMMON_DIR",
                         "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_PREFIX")
# A credential helper written out on the command line: it answers `get` with the values of its
# environment, and only for the protocol and host they belong to (a redirect to another host
# gets nothing).
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; p=; h=; '
    'while IFS= read -r line; do case "$line" in protocol=*) p=${line#protocol=};; host=*) h=${line#host=};; esac; done; '
    'test "$p" = "$PLANNER_GIT_PROTOCOL" && test "$h" = "$PLANNER_GIT_HOST" || exit 0; '
    "printf 'username=%s\\npassword=%s\\n' \"$PLANNER_GIT_USERNAME\" \"$PLANNER_GIT_PASSWORD\"; }; f"
)


class GitError(SourceError):
    """A git source that cannot be used; names the repository (credentials hidden) and the fix."""

    kind = "git repository"


class GitUnavailable(PlannerError):
    """The `git` command is missing or unusable."""

    exit_code = ExitCode.BAD_INPUT

    def render(self) -> str:
        return (f"{self}\n  fix: install git (Debian/Ubuntu: apt-get install git; macOS: xcode-select --install "
                "or brew install git) and make sure it is on PATH")


class GitOfflineMiss(GitError):
    """`offline` and the cache cannot answer."""


class GitMissingCommit(GitError):
    """The repository does not have that commit (history rewritten, or a wrong id)."""


_GIT_VERSIONS: dict[str, str] = {}


def git_version(executable: str = "git") -> str:
    """`git --version` of the git planner will run (checked once); GitUnavailable if none."""
    if executable in _GIT_VERSIONS:
        return _GIT_VERSIONS[executable]
    found = shutil.which(executable)
    if found is None:
        raise GitUnavailable("git sources need the git command, and it is not installed (or not on PATH)")
    try:
        done = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitUnavailable(f"git sources need the git command, and '{found} --version' fails ({exc})") from None
    if done.returncode != 0 or not done.stdout.startswith("git version"):
        raise GitUnavailable(f"git sources need the git command, and '{found} --version' fails")
    _GIT_VERSIONS[executable] = done.stdout.strip()
    return _GIT_VERSIONS[executable]


def git_timeout(environ: Mapping[str, str] | None = None) -> float:
    """`PLANNER_GIT_TIMEOUT` (seconds for one git command), validated like the HTTP settings."""
    raw = (os.environ if environ is None else environ).get("PLANNER_GIT_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= 1 or value == float("inf"):
        raise InputError(f"environment variable PLANNER_GIT_TIMEOUT={raw!r} is not a number >= 1",
                         fix=f"set PLANNER_GIT_TIMEOUT to seconds, such as {DEFAULT_TIMEOUT:g}, or unset it")
    return value


def normalized_url(url: str) -> str:
    """The repository URL as a cache key: no user info, lower-case scheme and host, no default
    port, no trailing `/` or `.git` (two spellings of one repository share one cache entry)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("https", 443), ("http", 80), ("ssh", 22)) else f"{host}:{port}"
    user = parts.username if scheme == "ssh" and parts.username else None  # ssh's user picks keys, no secret
    if user:
        netloc = f"{user}@{netloc}"
    path = parts.path.rstrip("/")
    path = path.removesuffix(".git")
    if host in ("github.com", "gitlab.com"):
        path = path.lower()  # these hosts ignore the case of owner and repository names
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ResolvedGit:
    """A git reference and the full commit id it resolved to."""

    reference: GitReference
    commit: str

    @property
    def display_url(self) -> str:
        return self.reference.display_url

    @property
    def subdirectory(self) -> str | None:
        return self.reference.subdirectory

    def __str__(self) -> str:
        return f"{self.reference} = commit {self.commit}"


@dataclass(frozen=True)
class TreeEntry:
    mode: str  # "100644", "100755", "120000" (symbolic link), "160000" (submodule), "040000"
    kind: str  # "blob", "tree", "commit"
    oid: str
    size: int | None
    path: str

    @property
    def is_file(self) -> bool:
        return self.kind == "blob" and self.mode in ("100644", "100755")


@dataclass(frozen=True)
class Checkout:
    """A commit's tree written out under the cache (verified whenever it is handed out)."""

    root: Path  # the whole tree
    project: Path  # the reference's subdirectory in it (the root when none)
    commit: str
    skipped_submodules: tuple[str, ...] = ()


class GitSources:
    """Resolves, fetches and reads git references; one per run (use it as a context manager).

    `cache_dir` is planner's cache folder (the repositories go under `git-v1/`); None keeps them
    in a temporary folder removed at the end of the run (`--no-cache`)."""

    def __init__(self, cache_dir: Path | None, *, offline: bool = False, environ: Mapping[str, str] | None = None,
                 netrc_path: Path | None = None, timeout: float | None = None,
                 max_checkout_bytes: int | None = None, git: str = "git") -> None:
        self.offline = offline
        self._environ = dict(os.environ if environ is None else environ)
        self._netrc_path = netrc_path
        self.timeout = timeout if timeout is not None else git_timeout(self._environ)
        self.max_checkout_bytes = max_checkout_bytes or int(DEFAULT_MAX_CHECKOUT_MB * 1024 * 1024)
        self._git = git
        self._temporary: Path | None = None
        if cache_dir is None:
            if offline:
                raise InputError("--offline needs the cache; it cannot be combined with --no-cache",
                                 fix="drop one of the two options")
            self._temporary = Path(tempfile.mkdtemp(prefix="planner-git-"))
            cache_dir = self._temporary
        self.root = Path(cache_dir) / CACHE_FOLDER
        self._resolved: dict[tuple[str, GitRef], str] = {}  # per run: one answer per ref

    def close(self) -> None:
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None

    def __enter__(self) -> GitSources:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- resolving and fetching -------------------------------------------------------------------
    def resolve(self, reference: GitReference, pinned: str | None = None) -> ResolvedGit:
        """The full commit `reference` names, fetched into the cache (GitError otherwise).

        `pinned` is a full commit id an earlier plan resolved `reference` to: it is kept as is,
        without asking the remote where the ref points now (a moving branch moves only when the
        caller passes no pin, i.e. on upgrade). A pin the repository no longer has (nor the cache)
        is a GitMissingCommit."""
        if pinned is not None:
            if not _COMMIT_RE.fullmatch(pinned):
                raise ValueError(f"pinned commit {pinned!r} is not a full, lower-case commit id")
            kept = self.resolve(GitReference(reference.url, GitRef(GitRefKind.REV, pinned), reference.subdirectory))
            return ResolvedGit(reference, kept.commit)
        git_version(self._git)
        url = normalized_url(reference.url)
        known = self._resolved.get((url, reference.ref))
        if known is not None:
            return ResolvedGit(reference, known)
        with self._locked(url):
            db = self._database(url)
            commit = self._resolve_locked(reference, url, db)
        self._resolved[(url, reference.ref)] = commit
        return ResolvedGit(reference, commit)

    def _resolve_locked(self, reference: GitReference, url: str, db: Path) -> str:
        ref = reference.ref
        if ref.is_full_commit:
            assert ref.name is not None
            commit = ref.name.lower()
            if not self._has_commit(db, commit):
                if self.offline:
                    raise self._offline_miss(reference)
                self._fetch_commit(reference, db, commit, None)
            return self._peeled(db, commit)  # the id of an annotated tag stands for its commit
        if self.offline:
            return self._offline_answer(reference, url, db)
        refs = self._ls_remote(reference)
        found = _match_ref(ref, refs)
        if found is not None:
            refname, commit = found
            if not self._has_commit(db, commit):
                self._fetch_commit(reference, db, commit, refname)
        elif ref.kind is GitRefKind.REV and ref.name and _SHORT_COMMIT_RE.fullmatch(ref.name):
            commit = self._commit_from_prefix(reference, db, ref.name.lower())
        else:
            raise GitError(reference.url, f"it has no {_kind_text(ref)}" + _suggestion(ref, refs),
                           "check the name (branch = ..., tag = ... or rev = ... in the source, or the part after '@')")
        self._record(url, ref, commit)
        return commit

    def _offline_answer(self, reference: GitReference, url: str, db: Path) -> str:
        record = self._record_path(url, reference.ref)
        try:
            data = json.loads(record.read_text())
            commit = data["commit"]
            valid = isinstance(commit, str) and bool(_COMMIT_RE.fullmatch(commit)) and data.get("url") == url
        except (OSError, ValueError, KeyError, TypeError):
            valid = False
        if not valid or not self._has_commit(db, commit):
            raise self._offline_miss(reference)
        return commit

    def _offline_miss(self, reference: GitReference) -> GitOfflineMiss:
        return GitOfflineMiss(reference.url, f"offline, and the cache has no commit for {reference.ref}",
                              "run once without --offline to fill the cache (or point --cache-dir at a filled one)")

    def _ls_remote(self, reference: GitReference) -> dict[str, str]:
        patterns = ["HEAD", "refs/heads/*", "refs/tags/*"]
        if reference.ref.name and reference.ref.name.startswith("refs/"):
            patterns.append(reference.ref.name)
        out = self._remote(reference, ["ls-remote", "--", "{url}", *patterns]).stdout
        refs: dict[str, str] = {}
        for line in out.decode("utf-8", "replace").splitlines():
            commit, _, name = line.partition("\t")
            if _COMMIT_RE.fullmatch(commit) and name:
                refs[name] = commit
        return refs

    def _fetch_commit(self, reference: GitReference, db: Path, commit: str, refname: str | None) -> None:
        """Fetch `commit` into `db`: by id (shallow), else by the ref it was found under, else
        every branch and tag; then keep it with a ref of its own."""
        attempts: list[list[str]] = [["--depth=1", commit]]
        if refname is not None:
            attempts.append(["--depth=1", f"+{refname}:refs/planner/fetched"])
        attempts.append(self._everything(db))
        last: GitError | None = None
        for spec in attempts:
            try:
                self._remote(reference, ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
                                         "--recurse-submodules=no", "--", "{url}", *spec], git_dir=db)
            except GitError as exc:
                if _is_access_problem(exc):
                    raise
                last = exc
                continue
            if self._has_commit(db, commit):
                self._git_run(["update-ref", f"refs/planner/{commit}", commit], git_dir=db)
                return
        if last is not None and not _names_missing_object(last):
            raise last
        raise GitMissingCommit(reference.url, f"it has no commit {commit}",
                               "check the commit id (it may have been rewritten away), or name a branch or tag")

    def _everything(self, db: Path) -> list[str]:
        shallow = (db / "shallow").is_file()
        return (["--unshallow"] if shallow else []) + ["+refs/heads/*:refs/planner/heads/*",
                                                       "+refs/tags/*:refs/planner/tags/*"]

    def _commit_from_prefix(self, reference: GitReference, db: Path, prefix: str) -> str:
        """A commit id prefix (`rev = "1a2b3c4"`): needs the history, fetched in full once."""
        for attempt in range(2):
            done = self._git_run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{prefix}^{{commit}}"],
                                 git_dir=db, check=False)
            if done.returncode == 0:
                commit = done.stdout.decode().strip()
                if _COMMIT_RE.fullmatch(commit):
                    return commit
            if b"ambiguous" in done.stderr:
                raise GitError(reference.url, f"the commit prefix '{prefix}' is ambiguous",
                               "write more of the commit id (or all 40 characters)")
            if attempt == 0:
                self._remote(reference, ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
                                         "--recurse-submodules=no", "--", "{url}", *self._everything(db)], git_dir=db)
        raise GitError(reference.url, f"it has no branch, tag or commit '{prefix}'",
                       "check the rev (a short commit id must be a prefix of a commit on a branch or tag)")

    # -- reading ----------------------------------------------------------------------------------
    def entry(self, resolved: ResolvedGit, path: str) -> TreeEntry | None:
        """The tree entry at `path` (relative to the repository root) in the commit, or None."""
        db = self._database(normalized_url(resolved.reference.url))
        out = self._git_run(["ls-tree", "-z", "--long", "--full-tree", resolved.commit, "--", path], git_dir=db).stdout
        for entry in _tree_entries(out):
            if entry.path == path:
                return entry
        return None

    def read_file(self, resolved: ResolvedGit, path: str, max_bytes: int = MAX_PYPROJECT_BYTES) -> bytes | None:
        """The bytes of a regular file committed at `path`, None when there is none. A link,
        submodule or folder there, or a file over `max_bytes`, is a GitError."""
        entry = self.entry(resolved, path)
        if entry is None:
            return None
        if entry.mode == "120000":
            raise GitError(resolved.reference.url, f"{path} is a symbolic link at commit {resolved.commit}",
                           "planner does not follow links in a repository: commit the file itself")
        if not entry.is_file:
            raise GitError(resolved.reference.url, f"{path} is not a file at commit {resolved.commit}")
        if entry.size is None or entry.size > max_bytes:
            raise GitError(resolved.reference.url, f"{path} is implausibly large ({entry.size} bytes)")
        db = self._database(normalized_url(resolved.reference.url))
        data = self._git_run(["cat-file", "blob", entry.oid], git_dir=db).stdout
        if len(data) != entry.size:
            raise GitError(resolved.reference.url, f"{path} reads back with {len(data)} bytes, not {entry.size}")
        return data

    def metadata(self, resolved: ResolvedGit) -> CoreMetadata | NeedsBuild:
        """The static `[project]` metadata of the reference's (sub)directory at the commit, or
        why it needs a build. A missing subdirectory is a GitError; a broken pyproject an
        `InputError` naming the repository's file, key and line (planner/sources/tree_metadata.py)."""
        reference = resolved.reference
        base = reference.subdirectory or ""
        if base:
            entry = self.entry(resolved, base)
            if entry is None or entry.kind != "tree":
                raise GitError(reference.url, f"it has no directory '{base}' at commit {resolved.commit}",
                               "check subdirectory (or #subdirectory=) against the repository's layout")
        prefix = f"{base}/" if base else ""
        pyproject = self.read_file(resolved, prefix + "pyproject.toml")
        build_files = tuple(name for name in BUILD_FILES if self.entry(resolved, prefix + name) is not None) \
            if pyproject is None else ()
        shown = f"{reference.display_url}@{resolved.commit[:12]}:{prefix}pyproject.toml"
        return static_metadata(pyproject, file=Path(prefix + "pyproject.toml"), shown=shown, build_files=build_files)

    def checkout(self, resolved: ResolvedGit) -> Checkout:
        """The commit's tree as files under the cache (`git-v1/checkouts/<key>/<commit>`).

        Written by planner from the object store, never by `git checkout` (no filters, hooks or
        attributes of the repository apply): regular files with their executable bit, links
        only when they stay inside the tree (any other is an error), submodules skipped. Size and
        file count are bounded. A checkout found in the cache is verified against the commit's
        tree (every file's git blob id, every link, nothing more) and rewritten when it differs."""
        url = normalized_url(resolved.reference.url)
        db = self._database(url)
        entries = list(_tree_entries(self._git_run(["ls-tree", "-r", "-z", "--long", "--full-tree", resolved.commit],
                                                   git_dir=db).stdout))
        self._check_entries(resolved, entries)
        target = self.root / "checkouts" / _key(url) / resolved.commit
        skipped = tuple(e.path for e in entries if e.kind == "commit")
        with self._locked(url):
            if not (target.is_dir() and _matches(target, entries)):
                if target.exists():
                    shutil.rmtree(target)
                target.parent.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
                try:
                    self._write_tree(resolved, staging, entries, db)
                    os.replace(staging, target)
                except BaseException:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
        project = target / resolved.reference.subdirectory if resolved.reference.subdirectory else target
        if not project.is_dir() or project.is_symlink():
            raise GitError(resolved.reference.url, f"it has no directory '{resolved.reference.subdirectory}' "
                           f"at commit {resolved.commit}", "check subdirectory against the repository's layout")
        return Checkout(target, project, resolved.commit, skipped)

    def _check_entries(self, resolved: ResolvedGit, entries: Sequence[TreeEntry]) -> None:
        url = resolved.reference.url
        if len(entries) > MAX_CHECKOUT_FILES:
            raise GitError(url, f"its tree at {resolved.commit} holds {len(entries)} files, over the "
                           f"{MAX_CHECKOUT_FILES} planner writes")
        total = sum(e.size or 0 for e in entries if e.kind == "blob")
        if total > self.max_checkout_bytes:
            raise GitError(url, f"its tree at {resolved.commit} holds {total / 2**20:.1f} MiB, over the "
                           f"{self.max_checkout_bytes / 2**20:.1f} MiB planner writes")
        for entry in entries:
            if not _safe_path(entry.path):
                raise GitError(url, f"its tree at {resolved.commit} has an unsafe path {entry.path!r}",
                               "do not use this repository: its tree is malformed or hostile")
            if entry.kind == "blob" and entry.mode not in ("100644", "100755", "120000"):
                raise GitError(url, f"{entry.path} has an unknown file mode {entry.mode}")

    def _write_tree(self, resolved: ResolvedGit, root: Path, entries: Sequence[TreeEntry], db: Path) -> None:
        by_oid: dict[str, list[TreeEntry]] = {}
        for entry in entries:
            if entry.kind == "blob":
                by_oid.setdefault(entry.oid, []).append(entry)
        for oid, data in self._blobs(db, list(by_oid)):
            for entry in by_oid[oid]:
                if len(data) != entry.size:
                    raise GitError(resolved.reference.url, f"{entry.path} reads back with {len(data)} bytes, "
                                   f"not {entry.size}")
                path = root / entry.path
                path.parent.mkdir(parents=True, exist_ok=True)
                if entry.mode == "120000":
                    link = data.decode("utf-8", "surrogateescape")
                    if not _link_stays_inside(entry.path, link):
                        raise GitError(resolved.reference.url,
                                       f"{entry.path} is a symbolic link to {link!r}, outside the repository's tree "
                                       f"(commit {resolved.commit})",
                                       "planner does not write links that leave a repository's tree")
                    os.symlink(link, path)
                else:
                    with open(path, "xb") as handle:  # never through an existing link
                        handle.write(data)
                    os.chmod(path, 0o755 if entry.mode == "100755" else 0o644)

    def _blobs(self, db: Path, oids: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """(id, content) of each blob, streamed from one `git cat-file --batch` (one blob in
        memory at a time), within the time limit."""
        if not oids:
            return
        deadline = time.monotonic() + self.timeout
        with tempfile.TemporaryFile() as ids:
            ids.write(("\n".join(oids) + "\n").encode())
            ids.seek(0)
            command, env = self._command(["cat-file", "--batch"], (), None, db)
            process = subprocess.Popen(command, cwd=db, env=env, stdin=ids, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
            assert process.stdout is not None
            try:
                for oid in oids:
                    if time.monotonic() > deadline:
                        raise GitError(str(db), f"reading the tree took more than {self.timeout:g} s",
                                       "PLANNER_GIT_TIMEOUT raises the limit")
                    header = process.stdout.readline().decode("ascii", "replace").split()
                    if len(header) != 3 or header[0] != oid or header[1] != "blob" or not header[2].isdigit():
                        raise GitError(str(db), f"object {oid} cannot be read from the cache")
                    data = process.stdout.read(int(header[2]))
                    process.stdout.read(1)  # the newline after each object
                    yield oid, data
            finally:
                _kill_group(process)

    # -- the cache --------------------------------------------------------------------------------
    def _database(self, url: str) -> Path:
        db = self.root / "db" / _key(url)
        if not (db / "HEAD").is_file():
            db.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=db.parent))
            try:
                self._git_run(["init", "--quiet", "--bare", "--template=", str(staging)], cwd=db.parent)
                try:
                    os.replace(staging, db)
                except OSError:  # another process made it first
                    shutil.rmtree(staging, ignore_errors=True)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return db

    def _peeled(self, db: Path, oid: str) -> str:
        done = self._git_run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{oid}^{{commit}}"], git_dir=db)
        commit = done.stdout.decode().strip()
        if not _COMMIT_RE.fullmatch(commit):
            raise GitError(str(db), f"object {oid} is no commit")
        return commit

    def _has_commit(self, db: Path, commit: str) -> bool:
        return self._git_run(["cat-file", "-e", f"{commit}^{{commit}}"], git_dir=db, check=False).returncode == 0

    def _record_path(self, url: str, ref: GitRef) -> Path:
        name = f"{ref.kind.value} {ref.name or ''}"
        return self.root / "refs" / _key(url) / f"{_key(name)}.json"

    def _record(self, url: str, ref: GitRef, commit: str) -> None:
        path = self._record_path(url, ref)
        data = json.dumps({"url": url, "kind": ref.kind.value, "name": ref.name, "commit": commit,
                           "resolved_at": int(time.time())}, sort_keys=True).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError:
            pass  # only offline runs need it

    @contextmanager
    def _locked(self, url: str) -> Iterator[None]:
        """One process at a time per repository (git's own ref locks fail instead of waiting)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f".{_key(url)}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- running git ------------------------------------------------------------------------------
    def _remote(self, reference: GitReference, args: list[str],
                git_dir: Path | None = None) -> subprocess.CompletedProcess:
        """A git command that talks to the repository; `{url}` in `args` is its URL (for http(s),
        without user info: credentials go through the helper)."""
        from planner.index.auth import CredentialStore, split_userinfo

        scheme = urlsplit(reference.url).scheme.lower()
        config = [f"protocol.{scheme}.allow=always", "http.lowSpeedLimit=1000", "http.lowSpeedTime=60",
                  "credential.interactive=false"]
        env: dict[str, str] = {}
        clean, credentials = reference.url, None
        if scheme in ("https", "http"):
            clean, credentials = split_userinfo(reference.url)
            if credentials is None:  # netrc (NETRC or ~/.netrc), as for indexes
                credentials = CredentialStore((), environ=self._environ, netrc_path=self._netrc_path).for_url(clean)
            if credentials is not None:
                config += ["credential.helper=", f"credential.helper={_CREDENTIAL_HELPER}"]
                env = {"PLANNER_GIT_PROTOCOL": scheme, "PLANNER_GIT_HOST": urlsplit(clean).netloc,
                       "PLANNER_GIT_USERNAME": credentials.username, "PLANNER_GIT_PASSWORD": credentials.password}
        command = [clean if arg == "{url}" else arg for arg in args]
        secrets = [credentials.password] if credentials is not None and credentials.password else []
        done = self._git_run(command, git_dir=git_dir, config=config, extra_env=env, check=False)
        if done.returncode != 0:
            raise _remote_error(reference, done.stderr.decode("utf-8", "replace"), secrets)
        return done

    def _command(self, args: Sequence[str], config: Sequence[str], extra_env: Mapping[str, str] | None,
                 git_dir: Path | None = None) -> tuple[list[str], dict[str, str]]:
        env = {k: v for k, v in self._environ.items() if k not in _REPOSITORY_VARIABLES}
        env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="", SSH_ASKPASS="", GCM_INTERACTIVE="never",
                   LC_ALL="C", LANGUAGE="", GIT_PROTOCOL_FROM_USER="0", GIT_LITERAL_PATHSPECS="1")
        env.update(extra_env or {})
        base = ["protocol.allow=never", "core.hooksPath=/dev/null", "transfer.fsckObjects=true",
                "fetch.recurseSubmodules=false", "submodule.recurse=false", "gc.auto=0", "maintenance.auto=false",
                "core.fsmonitor=false", "safe.bareRepository=all"]
        command = [self._git] + ([f"--git-dir={git_dir}"] if git_dir is not None else [])  # no discovery
        for item in (*base, *config):
            command += ["-c", item]
        return command + list(args), env

    def _git_run(self, args: list[str], *, git_dir: Path | None = None, cwd: Path | None = None,
                 config: Sequence[str] = (), extra_env: Mapping[str, str] | None = None, check: bool = True,
                 stdin: bytes | None = None) -> subprocess.CompletedProcess:
        """Run git on the repository `git_dir` (or in `cwd`) under the hardened settings."""
        command, env = self._command(args, config, extra_env, git_dir)
        cwd = cwd or git_dir
        try:
            process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE if stdin is not None
                                       else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       start_new_session=True)  # no terminal: ssh cannot prompt either
        except OSError as exc:
            raise GitUnavailable(f"cannot run git ({exc.strerror or exc})") from None
        try:
            stdout, stderr = process.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise GitError(_url_in(args), f"git {args[0]} took more than {self.timeout:g} s",
                           "check the network and the repository; PLANNER_GIT_TIMEOUT raises the limit") from None
        done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        if check and done.returncode != 0:
            raise GitError(_url_in(args) or str(cwd or ""), f"git {args[0]} failed: "
                           f"{_first_line(stderr.decode('utf-8', 'replace'))}")
        return done


# -- helpers ------------------------------------------------------------------------------------
def _kill_group(process: subprocess.Popen) -> None:
    """End a git command and whatever it started (remote helpers, ssh)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            process.kill()
    process.communicate()


def _url_in(args: Sequence[str]) -> str:
    for arg in args:
        if "://" in arg:
            return arg
    return ""


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def _kind_text(ref: GitRef) -> str:
    if ref.kind is GitRefKind.BRANCH:
        return f"branch '{ref.name}'"
    if ref.kind is GitRefKind.TAG:
        return f"tag '{ref.name}'"
    if ref.kind is GitRefKind.DEFAULT:
        return "default branch (HEAD)"
    return f"branch, tag or commit '{ref.name}'"


def _match_ref(ref: GitRef, refs: Mapping[str, str]) -> tuple[str, str] | None:
    """(ref name, commit) `ref` names among `ls-remote`'s answer; tags are peeled."""
    def tag(name: str) -> tuple[str, str] | None:
        full = f"refs/tags/{name}"
        if full in refs:
            return full, refs.get(full + "^{}", refs[full])
        return None

    def branch(name: str) -> tuple[str, str] | None:
        full = f"refs/heads/{name}"
        return (full, refs[full]) if full in refs else None

    if ref.kind is GitRefKind.DEFAULT:
        return ("HEAD", refs["HEAD"]) if "HEAD" in refs else None
    assert ref.name is not None
    if ref.kind is GitRefKind.BRANCH:
        return branch(ref.name)
    if ref.kind is GitRefKind.TAG:
        return tag(ref.name)
    if ref.name in refs and ref.name.startswith("refs/"):
        return ref.name, refs.get(ref.name + "^{}", refs[ref.name])
    return branch(ref.name) or tag(ref.name)


def _suggestion(ref: GitRef, refs: Mapping[str, str]) -> str:
    from planner.project.reader import did_you_mean

    branches = sorted(n.removeprefix("refs/heads/") for n in refs if n.startswith("refs/heads/"))
    tags = sorted(n.removeprefix("refs/tags/") for n in refs if n.startswith("refs/tags/") and not n.endswith("^{}"))
    pool = branches if ref.kind is GitRefKind.BRANCH else tags if ref.kind is GitRefKind.TAG else branches + tags
    hint = did_you_mean(ref.name or "", pool) if ref.name else None
    listed = f" (branches: {', '.join(branches[:8]) or 'none'}; tags: {', '.join(tags[-8:]) or 'none'})"
    return (f"; {hint}" if hint else "") + listed


def _is_access_problem(error: GitError) -> bool:
    return "access denied" in error.problem or "cannot reach" in error.problem


def _names_missing_object(error: GitError) -> bool:
    text = error.problem.lower()
    return any(s in text for s in ("not our ref", "unadvertised object", "couldn't find remote ref",
                                   "no such remote ref", "not found"))


_ACCESS_DENIED = ("authentication failed", "could not read username", "could not read password",
                  "terminal prompts disabled", "http 401", "http 403", "the requested url returned error: 401",
                  "the requested url returned error: 403", "permission denied (publickey")
_UNREACHABLE = ("could not resolve host", "failed to connect", "connection refused", "connection timed out",
                "operation timed out", "network is unreachable", "could not read from remote repository",
                "no route to host", "operation too slow")
_NOT_FOUND = ("repository not found", "does not appear to be a git repository", "returned error: 404",
              "no such file or directory")


def _remote_error(reference: GitReference, stderr: str, secrets: Sequence[str]) -> GitError:
    for secret in secrets:
        stderr = stderr.replace(secret, "***")
    text = stderr.lower()
    detail = _first_line(stderr)
    if any(s in text for s in _ACCESS_DENIED):
        return GitError(reference.url, f"access denied ({detail})",
                        "give credentials in the URL (https://user:token@host/...), in ~/.netrc, or with a git "
                        "credential helper; for ssh:// URLs, an ssh key the server accepts")
    if any(s in text for s in _NOT_FOUND):
        return GitError(reference.url, f"the repository does not exist or cannot be read ({detail})",
                        "check the repository URL")
    if any(s in text for s in _UNREACHABLE) or "unable to access" in text:
        return GitError(reference.url, f"cannot reach the repository ({detail})",
                        "check the URL and the network")
    return GitError(reference.url, f"git failed: {detail}", "check the repository URL and ref")


def _tree_entries(output: bytes) -> Iterator[TreeEntry]:
    """`git ls-tree -z --long` records: `<mode> <type> <oid> <size>\\t<path>`."""
    for record in output.split(b"\0"):
        if not record:
            continue
        head, _, path = record.partition(b"\t")
        fields = head.decode("ascii", "replace").split()
        if len(fields) != 4:
            continue
        mode, kind, oid, size = fields
        yield TreeEntry(mode, kind, oid, int(size) if size.isdigit() else None,
                        path.decode("utf-8", "surrogateescape"))


def _safe_path(path: str) -> bool:
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    parts = PurePosixPath(path).parts
    return all(part not in ("", ".", "..") and part.lower() != ".git" for part in parts)


def _link_stays_inside(path: str, target: str) -> bool:
    if not target or target.startswith("/") or "\x00" in target:
        return False
    depth = len(PurePosixPath(path).parts) - 1  # folders above the link, inside the tree
    for part in PurePosixPath(target).parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in (".", ""):
            depth += 1
    return True


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _matches(root: Path, entries: Sequence[TreeEntry]) -> bool:
    """Does the folder hold exactly the commit's tree (files by blob id, links by target)?"""
    expected = {e.path: e for e in entries if e.kind == "blob"}
    seen: set[str] = set()
    for folder, dirs, files in os.walk(root):
        for name in (*files, *[d for d in dirs if os.path.islink(os.path.join(folder, d))]):
            full = Path(folder) / name
            relative = full.relative_to(root).as_posix()
            entry = expected.get(relative)
            if entry is None:
                return False
            seen.add(relative)
            if entry.mode == "120000":
                if not full.is_symlink() or _blob_id(os.readlink(full).encode("utf-8", "surrogateescape")) != entry.oid:
                    return False
            elif full.is_symlink() or _blob_id(full.read_bytes()) != entry.oid:
                return False
            elif bool(full.stat().st_mode & 0o100) != (entry.mode == "100755"):
                return False
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
    return seen == set(expected)
