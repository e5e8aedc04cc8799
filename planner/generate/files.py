"""Writing outputs: all files of a run appear together or not at all, byte-identical for the
same input."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def write_outputs(root: Path, files: Mapping[str, bytes], remove: Iterable[str] = (),
                  last: str | None = None) -> list[Path]:
    """Write `files` (relative path -> bytes) under `root`, then delete `remove` (relative paths
    of an earlier run's files that no longer belong; empty folders they leave go too).

    Every file is first written to a temporary file beside its destination and flushed; only when
    all are written are they renamed into place, so an interrupted run leaves the previous outputs
    whole. `last` is renamed after all others (the manifest: it appears only once every file it
    lists is in place). A file whose bytes on disk are already `data` is left alone (not
    rewritten, its time stamp kept). Temporary files a killed run left behind are removed first.
    Returns the paths written, in order.
    """
    remove = list(remove)
    root.mkdir(parents=True, exist_ok=True)
    with _folder_lock(root):  # concurrent compiles into one folder take turns writing
        return _write_locked(root, files, remove, last)


@contextmanager
def _folder_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on the folder itself (no lock file to leave behind; released on exit,
    however the process ends)."""
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_locked(root: Path, files: Mapping[str, bytes], remove: list[str], last: str | None) -> list[Path]:
    for relative in sorted(set(files) | set(remove)):
        _remove_leftover_temporaries(root / relative)
    staged: list[tuple[Path, Path]] = []
    try:
        for relative, data in sorted(files.items(), key=lambda item: (item[0] == last, item[0])):
            destination = root / relative
            if _holds(destination, data):
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are ordinary, shareable files
            staged.append((Path(tmp), destination))
        for tmp, destination in staged:
            os.replace(tmp, destination)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    for relative in sorted(set(remove) - set(files)):
        path = root / relative
        path.unlink(missing_ok=True)
        for parent in path.parents:
            if parent == root or root not in parent.parents:
                break
            try:
                parent.rmdir()
            except OSError:
                break
    return [destination for _, destination in staged]


def _holds(destination: Path, data: bytes) -> bool:
    """Is `destination` a regular file with exactly these bytes?"""
    try:
        return destination.is_file() and not destination.is_symlink() and destination.stat().st_size == len(data) \
            and destination.read_bytes() == data
    except OSError:
        return False


def _remove_leftover_temporaries(destination: Path) -> None:
    """Delete `.<name>.<random>` siblings that `mkstemp` made for `destination` in a killed run."""
    folder = destination.parent
    if not folder.is_dir():
        return
    prefix = f".{destination.name}."
    for candidate in folder.iterdir():
        suffix = candidate.name[len(prefix):]
        # mkstemp's random part: 8 characters of [a-z0-9_]
        if candidate.name.startswith(prefix) and len(suffix) == 8 and suffix.replace("_", "").isalnum() \
                and candidate.is_file():
            candidate.unlink(missing_ok=True)
