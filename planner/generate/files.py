"""Writing outputs: all files of a run appear together or not at all, byte-identical for the
same input, and only ever inside the output folder.

What is already in the output folder is not trusted (a cloned repository can hold anything
there): planner never writes or deletes through a symbolic link, never follows `..`, and refuses
an output folder that is a link, a file or the file-system root. Every file operation goes
through file descriptors of folders opened with O_NOFOLLOW, so a link swapped in while planner
runs is refused too. A folder or disk that cannot be written (read-only, full, missing) is one
`OutputError` (exit 2), with the previous outputs intact and no temporary file left.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import random
import stat
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path, PurePosixPath

from planner.errors import InputError

_TEMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"
_TEMP_SUFFIX = 8  # as mkstemp: `.<name>.<8 characters of [a-z0-9_]>`
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_MAX_REMOVED_BYTES = 256 * 1024 * 1024  # a previous output larger than this is not planner's


class OutputError(InputError):
    """An output folder or file that cannot be written; exit 2, nothing half-written."""


def check_output_folder(folder: Path, option: str = "-o") -> None:
    """Refuse, before any work, an output folder planner must not write into: the file-system
    root, an existing file, or a symbolic link."""
    shown = str(folder)
    if folder.resolve() == Path(folder.anchor or "/").resolve():
        raise OutputError(f"{option} {shown}: refusing to write outputs into the root of the file system",
                          fix=f"give {option} a folder of its own, e.g. {option} output")
    if folder.is_symlink():
        raise OutputError(f"{option} {shown} is a symbolic link; planner does not write through links",
                          fix=f"give {option} the real folder ({folder.resolve()}) or remove the link")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{option} {shown} is a file, not a folder", fix=f"give {option} a folder")
    for parent in folder.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{option} {shown}: {parent} is a file, not a folder", fix=f"give {option} a folder")
            break


def check_output_file(path: Path, option: str) -> None:
    """Refuse, before any work, a file destination that is a folder or lies in no folder."""
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; it names a file to write",
                          fix=f"give {option} a file name, e.g. {option} {path / 'stats.json'}")
    if not path.parent.is_dir():
        raise OutputError(f"{option} {path}: the folder {path.parent} does not exist",
                          fix="create the folder first, or name a file in an existing one")


def write_file(path: Path, data: bytes, option: str) -> None:
    """Write one file the user named (stats, say) atomically; failures are an `OutputError`."""
    check_output_file(path, option)
    with _errors(path, f"write {option}", outputs=False), _folder(path.parent) as fd:
        _check_destination(fd, path.name, path)
        name = _temp_name(path.name)
        handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(handle, view):]
            finally:
                os.close(handle)
            os.replace(name, path.name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            try:
                os.unlink(name, dir_fd=fd)
            except OSError:
                pass
            raise


def write_outputs(root: Path, files: Mapping[str, bytes], remove: Iterable[str] | Mapping[str, str | None] = (),
                  last: str | None = None) -> list[Path]:
    """Write `files` (relative path -> bytes) under `root`, then delete `remove` (relative paths
    of an earlier run's files that no longer belong; empty folders they leave go too).

    Every file is first written to a temporary file beside its destination and flushed; only when
    all are written are they renamed into place, so an interrupted run leaves the previous outputs
    whole. `last` is renamed after all others (the manifest: it appears only once every file it
    lists is in place). A file whose bytes on disk are already the new bytes is left alone (not
    rewritten, its time stamp kept; it is read through the same link-refusing descriptors).
    Temporary files a killed run left behind are removed first. Returns the paths written, in order.

    `remove` may map each path to the sha256 it had when planner wrote it: a file whose bytes
    differ (edited since, or never planner's) is left alone. A path that leads through a link,
    or is not a plain relative path, is never touched.
    """
    for relative in files:
        _parts(relative)  # planner's own names; a bad one is a bug, caught before anything is written
    check_output_folder(root)
    with _errors(root, "create the output folder"):
        root.mkdir(parents=True, exist_ok=True)
    with _errors(root, "open the output folder"), _folder(root) as root_fd:
        fcntl.flock(root_fd, fcntl.LOCK_EX)  # concurrent compiles into one folder take turns writing
        return _write_locked(root, root_fd, files, remove, last)


@contextmanager
def _folder(path: Path, dir_fd: int | None = None) -> Iterator[int]:
    fd = os.open(path, _FOLDER_FLAGS, dir_fd=dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _errors(path: Path, doing: str, outputs: bool = True) -> Iterator[None]:
    """OSErrors as one `OutputError` that says what to do."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        raise _output_error(path, doing, exc, outputs) from None


def _output_error(path: Path, doing: str, exc: OSError, outputs: bool) -> OutputError:
    code = exc.errno
    reason = exc.strerror or type(exc).__name__
    if code == errno.ELOOP:
        return OutputError(f"cannot {doing}: {path} is a symbolic link; planner does not write through links",
                           fix="remove the link, or choose another output folder with -o")
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = "free some space on that disk, or choose another output folder with -o"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a folder you can write with -o, or fix the folder's permissions"
    elif code == errno.ENAMETOOLONG:
        fix = "use shorter target names or a shorter output path"
    elif code in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        fix = "remove what is in the way, or choose another output folder with -o"
    else:
        fix = "check the output folder, or choose another one with -o"
    unchanged = "; the previous outputs are unchanged" if outputs else ""
    return OutputError(f"cannot {doing} {path}: {reason}{unchanged}", fix=fix)


def _parts(relative: str) -> tuple[str, ...]:
    """The components of a plain relative path (no '..', '.', empty part, backslash or NUL)."""
    parts = PurePosixPath(relative).parts if relative else ()
    if not parts or relative.startswith("/") or any(
            part in (".", "..") or "\\" in part or "\x00" in part or part != part.strip("/") for part in parts):
        raise ValueError(f"not a plain relative path: {relative!r}")
    return parts


def _subfolder(stack: ExitStack, root: Path, root_fd: int, parts: tuple[str, ...], create: bool) -> int | None:
    """An fd of `root/parts...`, each folder opened without following links (made when missing and
    `create`); None when missing and not `create`. A link or file on the way is an OutputError."""
    fd = root_fd
    where = root
    for part in parts:
        where = where / part
        try:
            fd = stack.enter_context(_folder(Path(part), dir_fd=fd))
            continue
        except FileNotFoundError:
            if not create:
                return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                # (Linux answers ENOTDIR for a link opened with O_DIRECTORY | O_NOFOLLOW.)
                link = exc.errno == errno.ELOOP or stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode)
                kind = "a symbolic link" if link else "not a folder"
                raise OutputError(f"cannot write into {where}: it is {kind}; planner never writes through links "
                                  "or replaces what it did not make", fix=f"remove {where}, or choose another output folder with -o") from None
            raise
        os.mkdir(part, 0o777, dir_fd=fd)
        fd = stack.enter_context(_folder(Path(part), dir_fd=fd))
    return fd


def _temp_name(name: str) -> str:
    chooser = random.SystemRandom()
    return f".{name}." + "".join(chooser.choice(_TEMP_ALPHABET) for _ in range(_TEMP_SUFFIX))


def _write_locked(root: Path, root_fd: int, files: Mapping[str, bytes], remove: Iterable[str] | Mapping[str, str | None],
                  last: str | None) -> list[Path]:
    digests = dict(remove) if isinstance(remove, Mapping) else dict.fromkeys(remove)
    staged: list[tuple[int, str, str, Path]] = []  # (folder fd, temporary name, final name, destination)
    with ExitStack() as folders:
        current: tuple[int, str] | None = None  # a temporary file being written, not yet staged
        try:
            with _errors(root, "clean up temporary files in"):
                for relative in sorted(set(files) | {r for r in digests if _plain(r)}):
                    parts = _parts(relative)
                    try:
                        fd = _subfolder(folders, root, root_fd, parts[:-1], create=False)
                    except OutputError:
                        continue  # a link on the way: never cleaned through (writing there is refused below)
                    if fd is not None:
                        _remove_leftover_temporaries(fd, parts[-1])
            for relative, data in sorted(files.items(), key=lambda item: (item[0] == last, item[0])):
                parts = _parts(relative)
                destination = root.joinpath(*parts)
                with _errors(destination, "write"):
                    fd = _subfolder(folders, root, root_fd, parts[:-1], create=True)
                    assert fd is not None
                    _check_destination(fd, parts[-1], destination)
                    if _holds(fd, parts[-1], data):
                        continue
                    name = _temp_name(parts[-1])
                    handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
                    current = (fd, name)
                    try:
                        os.fchmod(handle, 0o644)  # outputs are ordinary, shareable files
                        view = memoryview(data)
                        while view:
                            view = view[os.write(handle, view):]
                        os.fsync(handle)
                    finally:
                        os.close(handle)
                    staged.append((fd, name, parts[-1], destination))
                    current = None
            for fd, name, final, destination in staged:
                with _errors(destination, "write"):
                    os.replace(name, final, src_dir_fd=fd, dst_dir_fd=fd)
        finally:
            # Whatever happened (an error, Ctrl-C, SIGTERM): no temporary file stays behind.
            leftovers = [(fd, name) for fd, name, _, _ in staged] + ([current] if current else [])
            for fd, name in leftovers:
                try:
                    os.unlink(name, dir_fd=fd)
                except OSError:
                    pass
        for relative in sorted(set(digests) - set(files)):
            if _plain(relative):
                _remove_previous(folders, root, root_fd, _parts(relative), digests[relative])
    return [destination for _, _, _, destination in staged]


def _plain(relative: str) -> bool:
    try:
        _parts(relative)
    except ValueError:
        return False
    return True


def _check_destination(fd: int, name: str, destination: Path) -> None:
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(f"cannot write {destination}: it is a symbolic link; planner never writes through links",
                          fix=f"remove {destination}, or choose another output folder with -o")
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(f"cannot write {destination}: something that is not a file is in the way",
                          fix=f"remove {destination}, or choose another output folder with -o")


def _holds(fd: int, name: str, data: bytes) -> bool:
    """Is `name` in folder `fd` a regular file (not a link) holding exactly `data`?"""
    try:
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0), dir_fd=fd)
    except OSError:
        return False  # missing, a link, unreadable: written as usual (the write refuses a link)
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        held = bytearray()
        while len(held) <= len(data) and (chunk := os.read(handle, 1024 * 1024)):
            held += chunk
        return held == data
    except OSError:
        return False
    finally:
        os.close(handle)


def _remove_previous(folders: ExitStack, root: Path, root_fd: int, parts: tuple[str, ...], digest: str | None) -> None:
    """Delete an earlier run's file when it is a regular file reached without links and, if its
    digest is known, still holds those bytes; then the folders it leaves empty. Else leave it."""
    try:
        fd = _subfolder(folders, root, root_fd, parts[:-1], create=False)
    except (OutputError, OSError):
        return  # a link or something odd on the way: not planner's to delete
    if fd is None:
        return
    name = parts[-1]
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_REMOVED_BYTES:
            return
        if digest is not None and _sha256_at(fd, name) != digest:
            return  # edited since planner wrote it, or never planner's: keep it
        os.unlink(name, dir_fd=fd)
    except OSError:
        return
    # Folders the removal left empty go too (never the output folder itself).
    for depth in range(len(parts) - 1, 0, -1):
        try:
            parent = root_fd if depth == 1 else _subfolder(folders, root, root_fd, parts[:depth - 1], create=False)
            if parent is None:
                break
            os.rmdir(parts[depth - 1], dir_fd=parent)
        except (OSError, OutputError):
            break


def _sha256_at(fd: int, name: str) -> str:
    handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
    digest = hashlib.sha256()
    try:
        while chunk := os.read(handle, 1024 * 1024):
            digest.update(chunk)
    finally:
        os.close(handle)
    return digest.hexdigest()


def _remove_leftover_temporaries(fd: int, name: str) -> None:
    """Delete `.<name>.<random>` siblings that a killed run staged for `name` (regular files only)."""
    prefix = f".{name}."
    with os.scandir(fd) as entries:
        for entry in entries:
            suffix = entry.name[len(prefix):]
            if entry.name.startswith(prefix) and len(suffix) == _TEMP_SUFFIX and all(c in _TEMP_ALPHABET for c in suffix) \
                    and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.name, dir_fd=fd)
                except FileNotFoundError:
                    pass
