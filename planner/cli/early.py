"""The same `planner compile` command line, answered before anything else loads.

A compile that wrote its outputs and recorded what it read, or whose plan stood
(planner/cli/unchanged.py: its inputs, options, pages and outputs as the previous compile left
them), leaves, for a project of one pyproject, an early record keyed on its command line, folder,
option variables and planner's version. The same command line run
again is answered from that record alone when, checked here:

- the pyproject has the bytes it had (and no pyproject.toml appeared nearer, which would make it
  another project);
- the output folder's record is the one the early record was made beside (its sha256);
- `plan.json` has the sha256 recorded, and every output its manifest lists has its sha256 (the
  manifest is kept in the early record: the bytes of `plan.json` are the ones it was taken
  from); nothing on the way to an output is a symbolic link, nor is the output folder;
- every index page the solve read is in the cache with the same body, by the sha256 its entry's
  header records (the cache checks the body against it when it reads it); online each is also
  fresh by its HTTP lifetime (a page that needs revalidation leaves the answer to the full
  command, which revalidates it).

Then it prints what the compile printed and writes nothing but `--stats`. Anything else, or
anything unexpected, is left to the full command, which checks again after loading the project.

What an answer costs is mostly the interpreter's own start-up, so this module loads nothing but
`os`, `sys` and `hashlib` on the way (no json, re, pathlib, dataclasses, typing: each costs more
than the checks). It therefore reads the cache's entry format (planner/index/cache.py: a JSON
header line with the body's sha256, then the body) and writes its records in a format of its
own: fields separated by NUL characters, which no path and no printed line holds.
"""

from __future__ import annotations

import os
import stat  # (loaded by os already)
import sys
from hashlib import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

EARLY_FORMAT = "planner-unchanged-early-2"
RECORD_FORMAT = "planner-unchanged-1"  # the output folder's record (planner/cli/unchanged.py)
# The environment variables the command line reads as option values.
OPTION_VARIABLES = ("PLANNER_CACHE_DIR", "PLANNER_DEFAULT_INDEX", "PLANNER_STATS", "PLANNER_TIMEOUT",
                    "PLANNER_EXPLAIN_BUDGET")
# The document `--stats` gets from an early answer.
STATS_DOCUMENT = b'{\n  "phases_seconds": {},\n  "unchanged": true,\n  "answered_early": true,\n  "targets": {}\n}\n'
_CACHE_LAYOUT = "v1"  # planner/index/cache.py: <root>/v1/<kind>/<2 hex>/<sha256 hex>
_MAX_RECORD_BYTES = 64 * 1024 * 1024
_MAX_HEADER_BYTES = 64 * 1024
_HEX = "0123456789abcdef"
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# The command line of this process, when it came in through `answer_early` (tests call the app directly).
invocation: list[str] | None = None


class _NotEarly(Exception):
    """The record does not answer this command line: the full command decides."""


def answer_early(argv: Sequence[str]) -> bool:
    """Whether this command line is a compile the previous compile with the same words, folder
    and option variables recorded, and its plan still stands (see the module docstring): then it
    is answered as the compile would answer it (nothing printed but its report, nothing written
    but `--stats`) and True is returned. Anything else is left to the full command (False)."""
    global invocation
    invocation = list(argv)
    if "compile" not in argv:
        return False
    try:
        _answer(argv)
    except Exception:  # noqa: BLE001 - anything unexpected: the full command decides and reports
        return False
    return True


def _answer(argv: Sequence[str]) -> None:
    root = cache_root(argv, os.environ)
    if root is None:
        raise _NotEarly
    cache = os.path.join(root, _CACHE_LAYOUT)
    record = _read_entry(cache, "unchanged", invocation_key(argv, os.environ, os.getcwd()))
    early = EarlyRecord.decode(record)
    with open(early.pyproject, "rb") as stream:
        if sha256(stream.read()).hexdigest() != early.pyproject_sha256:
            raise _NotEarly
    if any(os.path.lexists(path) for path in early.absent):
        raise _NotEarly  # a pyproject.toml nearer than the one found: another project now
    folder_record = _read_entry(cache, "unchanged", f"{RECORD_FORMAT}\0{early.out}")
    if sha256(folder_record).hexdigest() != early.folder_record_sha256:
        raise _NotEarly
    _check_outputs(early)
    _check_pages(cache, early)
    if early.stats is not None:
        _write_stats(early.stats)
    if early.note is not None:  # (None: a quiet command line)
        sys.stdout.write("".join(line + "\n" for line in early.said))
        sys.stdout.flush()
        sys.stderr.write(early.note + "\n")


def _check_outputs(early: EarlyRecord) -> None:
    """plan.json and every output of its manifest hold the recorded bytes, read without
    following a link (the output folder included)."""
    folder = os.open(early.out, _FOLDER_FLAGS)
    try:
        if sha256(_read_below(folder, "plan.json")).hexdigest() != early.plan_sha256:
            raise _NotEarly
        for relative, digest in early.outputs:
            if sha256(_read_below(folder, relative)).hexdigest() != digest:
                raise _NotEarly
    finally:
        os.close(folder)


def _check_pages(cache: str, early: EarlyRecord) -> None:
    """Every recorded page is in the cache with the same body (by its entry's header); online,
    also fresh by its HTTP lifetime."""
    pages = os.path.join(cache, "pages")
    if early.offline:
        if not all(page_entry_holds(cache, name, digest) for name, digest in early.pages):
            raise _NotEarly
        return
    import json
    import time

    if _revalidate_all():
        raise _NotEarly
    now = time.time()
    for name, digest in early.pages:
        header = json.loads(_header_line(f"{pages}/{name[:2]}/{name}"))
        fetched_at, max_age = header.get("fetched_at"), header.get("max_age")
        if header.get("sha256") != digest or not (
                isinstance(fetched_at, int | float) and not isinstance(fetched_at, bool)
                and isinstance(max_age, int) and not isinstance(max_age, bool) and 0 <= now - fetched_at < max_age):
            raise _NotEarly  # changed, or needs revalidation: the full command revalidates


def _revalidate_all() -> bool:
    """PLANNER_INDEX_TTL=0: a full compile revalidates every page, fresh or not."""
    try:
        return int(os.environ.get("PLANNER_INDEX_TTL", "").strip() or "1") == 0
    except ValueError:
        return False


# -- the record --------------------------------------------------------------------------------------
class EarlyRecord:
    """What an early answer checks and prints (see the module docstring)."""

    def __init__(self, *, out: str, pyproject: str, pyproject_sha256: str, offline: bool, absent: Sequence[str],
                 said: Sequence[str], note: str | None, stats: str | None, folder_record_sha256: str,
                 plan_sha256: str, outputs: Sequence[tuple[str, str]], pages: Sequence[tuple[str, str]]) -> None:
        self.out, self.pyproject, self.pyproject_sha256, self.offline = out, pyproject, pyproject_sha256, offline
        self.absent, self.said, self.note, self.stats = list(absent), list(said), note, stats
        self.folder_record_sha256, self.plan_sha256 = folder_record_sha256, plan_sha256
        self.outputs = list(outputs)  # (path relative to `out`, sha256): plan.json's manifest
        self.pages = list(pages)  # (cache entry name, sha256 of the body)

    def encode(self) -> bytes | None:
        """The record's bytes; None when a field holds a NUL character (then nothing is recorded)."""
        fields = [EARLY_FORMAT, self.out, self.pyproject, self.pyproject_sha256, "offline" if self.offline else "online",
                  self.folder_record_sha256, self.plan_sha256, _optional(self.note), _optional(self.stats),
                  str(len(self.absent)), *self.absent, str(len(self.said)), *self.said,
                  str(len(self.outputs)), *(x for pair in self.outputs for x in pair),
                  str(len(self.pages)), *(x for pair in self.pages for x in pair)]
        if any("\0" in field for field in fields):
            return None
        return "\0".join(fields).encode()

    @classmethod
    def decode(cls, data: bytes) -> EarlyRecord:
        """The record, checked field by field (the cache folder is not trusted)."""
        fields = data.decode().split("\0")
        fields.reverse()
        take = fields.pop

        def digest() -> str:
            text = take()
            if not _is_sha256(text):
                raise _NotEarly
            return text

        def count(width: int) -> list[str]:
            n = take()
            if not n.isdigit() or int(n) * width > len(fields):
                raise _NotEarly
            return [take() for _ in range(int(n) * width)]

        if take() != EARLY_FORMAT:
            raise _NotEarly
        out, pyproject, pyproject_sha256, mode = take(), take(), digest(), take()
        folder_record_sha256, plan_sha256 = digest(), digest()
        note, stats = _optional_value(take()), _optional_value(take())
        absent, said, outputs, pages = count(1), count(1), count(2), count(2)
        if fields or mode not in ("offline", "online") or not all(
                os.path.isabs(path) for path in (out, pyproject, *absent, *([stats] if stats is not None else []))):
            raise _NotEarly
        output_pairs = list(zip(outputs[::2], outputs[1::2]))
        page_pairs = list(zip(pages[::2], pages[1::2]))
        if not all(_is_output_name(name) and _is_sha256(hexdigest) for name, hexdigest in output_pairs) \
                or not all(_is_sha256(name) and _is_sha256(hexdigest) for name, hexdigest in page_pairs):
            raise _NotEarly
        return cls(out=out, pyproject=pyproject, pyproject_sha256=pyproject_sha256, offline=mode == "offline",
                   absent=absent, said=said, note=note, stats=stats, folder_record_sha256=folder_record_sha256,
                   plan_sha256=plan_sha256, outputs=output_pairs, pages=page_pairs)


def _optional(text: str | None) -> str:
    return "-" if text is None else "+" + text


def _optional_value(field: str) -> str | None:
    if field == "-":
        return None
    if not field.startswith("+"):
        raise _NotEarly
    return field[1:]


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and not text.strip(_HEX)  # (strip: all 64 characters are hex digits)


def _is_output_name(relative: str) -> bool:
    """A plain relative path of at most two names, as planner writes its outputs."""
    parts = relative.split("/")
    return len(parts) <= 2 and all(part not in ("", ".", "..") and _NAME_CHARACTERS.issuperset(part) for part in parts)


def page_entry_holds(cache: str, name: str, digest: str) -> bool:
    """Whether the page entry `name` under the cache folder `cache` (`<root>/v1`) records a body
    with the sha256 `digest`: its header line is one JSON object holding the member
    `"sha256": "<digest>"` (in a JSON line a quote inside a value is escaped, so that member
    cannot come from another field). The header is not parsed further, nor the body read."""
    try:
        head = _header_line(f"{cache}/pages/{name[:2]}/{name}")
    except (OSError, _NotEarly):
        return False
    return head.startswith(b"{") and head.endswith(b"}") and b'"sha256": "%s"' % digest.encode() in head


def page_entry_name(media: str, url: str) -> str:
    """The name of a page's entry in the cache (planner/index/cache.py: `Cache.get_page`)."""
    return sha256(f"{media} {url}".encode()).hexdigest()


# -- keys and the cache ------------------------------------------------------------------------------
def invocation_key(argv: Sequence[str], environ: Mapping[str, str], cwd: str) -> str:
    """A command line, its folder, the option variables and planner's version, as a key
    (credentials in URLs left out: they do not change a plan, and the key must not carry them)."""
    from planner import __version__

    facts = (EARLY_FORMAT, __version__, cwd, tuple(_without_userinfo(word) for word in argv),
             tuple((name, _without_userinfo(environ[name])) for name in OPTION_VARIABLES if name in environ))
    return "invocation\0" + sha256(repr(facts).encode()).hexdigest()


def _without_userinfo(word: str) -> str:
    if "@" not in word:
        return word
    import re

    return re.sub(r"//[^/@\s]*@", "//", word)


def cache_root(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The cache folder a compile with these words uses (None: --no-cache)."""
    root: str | None = environ.get("PLANNER_CACHE_DIR") or None
    for n, word in enumerate(argv):
        if word == "--no-cache":
            return None
        if word == "--cache-dir" and n + 1 < len(argv):
            root = argv[n + 1]
        elif word.startswith("--cache-dir="):
            root = word.partition("=")[2]
    if root:
        return root
    from platformdirs import user_cache_dir

    return user_cache_dir("planner", appauthor=False)


def _read_entry(cache: str, kind: str, key: str) -> bytes:
    """The body of a cache entry written by `Cache._write` with the header `{"kind": "compile
    record"}` (`Cache.put_unchanged`): the header must be exactly that one, with the body's sha256."""
    name = sha256(key.encode()).hexdigest()
    fd = os.open(f"{cache}/{kind}/{name[:2]}/{name}", _READ_FLAGS)
    try:
        size = os.fstat(fd).st_size
        if not _is_regular(fd) or size > _MAX_RECORD_BYTES:
            raise _NotEarly
        raw = _read_all(fd)
    finally:
        os.close(fd)
    head, _, body = raw.partition(b"\n")
    if head != b'{"kind": "compile record", "sha256": "%s"}' % sha256(body).hexdigest().encode():
        raise _NotEarly
    return body


def _header_line(path: str) -> bytes:
    """The first line of a cache entry (its JSON header), read without following a link."""
    fd = os.open(path, _READ_FLAGS)
    try:
        head = os.read(fd, 4096)
        while b"\n" not in head and len(head) <= _MAX_HEADER_BYTES:
            more = os.read(fd, _MAX_HEADER_BYTES)
            if not more:
                break
            head += more
    finally:
        os.close(fd)
    line, newline, _ = head.partition(b"\n")
    if not newline or len(line) > _MAX_HEADER_BYTES:
        raise _NotEarly
    return line


def _read_below(folder: int, relative: str) -> bytes:
    """The bytes of a regular file below the folder `folder`, reached without following a link."""
    *parents, name = relative.split("/")
    opened: list[int] = []
    try:
        at = folder
        for part in parents:
            at = os.open(part, _FOLDER_FLAGS, dir_fd=at)
            opened.append(at)
        fd = os.open(name, _READ_FLAGS, dir_fd=at)
        opened.append(fd)
        if not _is_regular(fd):
            raise _NotEarly
        return _read_all(fd)
    finally:
        for fd in opened:
            os.close(fd)


def _is_regular(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1024 * 1024):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_stats(path: str) -> None:
    """Write `--stats` atomically (as planner/generate/files.py `write_file` does): a temporary
    file beside it, renamed into place; never through a link, never over what is not a file."""
    parent, name = os.path.split(path)
    folder = os.open(parent, _FOLDER_FLAGS)
    try:
        try:
            if not stat.S_ISREG(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
                raise _NotEarly  # (the full command says what is in the way)
        except FileNotFoundError:
            pass
        temporary = f".{name}." + os.urandom(4).hex()  # (8 characters, as `write_file` names them)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder)
        try:
            try:
                view = memoryview(STATS_DOCUMENT)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            try:
                os.unlink(temporary, dir_fd=folder)
            except OSError:
                pass
            raise
    finally:
        os.close(folder)
