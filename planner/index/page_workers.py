"""A worker process that parses large index pages beside the run's own threads.

Turning a page into rows (`planner/index/simple.py`) is pure Python: in the run's own process it
holds the interpreter lock that the solver, the other downloads and the metadata reads need, and
a cold compile spends a third of its CPU time on it. A worker process parses on another core and
sends the finished page back (a pickle of plain data: about 2% of the parse's cost).

Only large pages go there (`MIN_BYTES`: a small one parses faster than a round trip), and only
once it has started: it is started, once, when the first large page arrives,
and until it is ready pages are parsed in place, so nobody waits for a process to start. Once it
runs, every large page waits its turn there rather than being parsed in place: the run's own
process is the busier one (solver, downloads, metadata reads), and a page parsed there takes its
interpreter lock from all of them. A run
that never sees a large page (an offline run, a small project) never starts one; a machine with a
single core gets none. When the worker cannot be started or dies, every page is parsed in place:
the result is the same either way, only where the work happens differs.

The worker is `python -c` with this module's `serve` (not `multiprocessing`, whose child
processes import the caller's main module again), reading requests from its stdin and writing
answers to its stdout, both pickles between this process and its own child. It ignores Ctrl-C
(the run handles it) and ends when its stdin closes.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

if TYPE_CHECKING:
    from planner.index.models import ProjectPage

MIN_BYTES = 128 * 1024  # pages below this are parsed in place
_BOOT = ("import signal, sys, pickle; signal.signal(signal.SIGINT, signal.SIG_IGN); "
         "sys.path[:] = pickle.load(sys.stdin.buffer); "
         "from planner.index.page_workers import serve; serve(sys.stdin.buffer, sys.stdout.buffer)")
_READY = "ready"


def page_record(page: ProjectPage) -> bytes:
    """A parsed page as the cache stores it (`ProjectPage.to_record` as compact JSON)."""
    return json.dumps(page.to_record(), separators=(",", ":")).encode()


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The worker's loop: one (media, body, url, index, project, local_root, platforms) request
    in, one ("page", (ProjectPage, its `page_record`)) or ("refused", IndexFormatError message)
    answer out."""
    from planner.index.simple import IndexFormatError, parse_html_page, parse_json_page

    pickle.dump(_READY, answers)
    answers.flush()
    while True:
        try:
            media, body, url, index, project, local_root, platforms = pickle.load(requests)
        except EOFError:  # the run closed the pipe: nothing to clean up, no reason to wait for teardown
            answers.flush()
            os._exit(0)
        parse = parse_json_page if media == "json" else parse_html_page
        try:
            page = parse(body, url, index, project, local_root=local_root, platforms=platforms)
            answer: tuple[str, Any] = ("page", (page, page_record(page)))
        except IndexFormatError as exc:
            answer = ("refused", str(exc))
        pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


def _spare_cores() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on every platform
        cores = os.cpu_count() or 1
    return cores - 1


class PageWorkers:
    """Parses large pages in a worker process (see the module docstring). Thread-safe."""

    def __init__(self, enabled: bool = True) -> None:
        self.parsed = 0  # pages the worker parsed
        self._failed = not enabled or _spare_cores() < 1 or bool(getattr(sys, "frozen", False))
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._start_lock = threading.Lock()
        self._busy = threading.Lock()  # held while a request is out

    def takes(self, body: bytes) -> bool:
        """Whether `parse` may answer for this page: it is large, and the worker is running
        (the first large page starts it, and is parsed in place meanwhile)."""
        if len(body) < MIN_BYTES or self._failed:
            return False
        if not self._ready.is_set():
            self._start()
            return False
        return True

    def parse(self, media: Literal["json", "html"], body: bytes, url: str, index: str, project: str, *,
              local_root: str | None, platforms: frozenset[str] | None,
              wait: bool = False) -> tuple[ProjectPage, bytes] | None:
        """The page parsed by the worker, with its `page_record`; or None: the caller parses it
        in place (a small page, the worker busy and `wait` false, not ready yet, or gone). A
        page the parser refuses raises its `IndexFormatError` here, as in place."""
        if len(body) < MIN_BYTES or self._failed:
            return None
        if not self._ready.is_set():
            self._start()
            return None
        if not self._busy.acquire(blocking=wait):
            return None
        try:
            process = self._process
            if process is None or self._failed:
                return None
            assert process.stdin is not None and process.stdout is not None
            try:
                pickle.dump((media, body, url, index, project, local_root, platforms), process.stdin,
                            protocol=pickle.HIGHEST_PROTOCOL)
                process.stdin.flush()
                kind, value = pickle.load(process.stdout)
            except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
                self._failed = True  # gone (or closed meanwhile): every page in place from now on
                return None
            if kind != "refused":
                self.parsed += 1
        finally:
            self._busy.release()
        if kind == "refused":
            from planner.index.simple import IndexFormatError

            raise IndexFormatError(value)
        return value  # type: ignore[no-any-return]

    @property
    def running(self) -> bool:
        """Whether the worker is up and parsing (not starting, never started, or gone)."""
        return self._ready.is_set() and not self._failed

    def wait_ready(self, timeout: float) -> bool:
        """Start the worker if need be and wait until it can parse (False: it cannot, or not yet)."""
        self._start()
        return self._ready.wait(timeout) and not self._failed

    def _start(self) -> None:
        """Start the worker (once); `_ready` is set when it has loaded the parser."""
        with self._start_lock:
            if self._process is not None or self._failed:
                return
            try:
                process = subprocess.Popen([sys.executable, "-c", _BOOT], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            except OSError:  # no processes here: parse in place
                self._failed = True
                return
            self._process = process
        threading.Thread(target=self._handshake, args=(process,), name="planner-page-worker", daemon=True).start()

    def _handshake(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        try:
            pickle.dump(list(sys.path), process.stdin)
            process.stdin.flush()
            ready = pickle.load(process.stdout) == _READY
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
            ready = False
        if ready:
            self._ready.set()
        else:
            self._failed = True

    def close(self) -> None:
        """End the worker (after the page it may be parsing); pages are then parsed in place."""
        self._failed = True
        with self._start_lock:
            process, self._process = self._process, None
        if process is None:
            return
        with self._busy:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
