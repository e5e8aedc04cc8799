"""Benchmark `planner compile` against `uv lock` and `pip-compile`: time, peak memory, counters.

    python benchmarks/run.py [--projects a,b,c,d] [--runs N] [--cold-runs M] [--no-cold]
                             [--tools planner,uv,pip-compile] [--profile] [--no-save]

Every command is timed whole (interpreter start-up included), in a fresh child process, on the
same input: one untimed run first (it fills the warm caches and warms the OS file cache), then
`--runs` warm runs and `--cold-runs` cold runs, the tools taking turns run by run. Each tool gets
its own cache folders under a temporary directory; the user's caches are never read or written.

- planner: `python -m planner compile PROJECT -o TMP --cache-dir TMP` from this checkout (the
  working tree's code, whatever is installed elsewhere), all targets;
- uv: `uv lock` (universal; `[tool.uv] environments` and `requires-python` in each benchmark
  project limit it to the platforms and Pythons of planner's targets), lock file removed before
  each run;
- pip-compile: one platform, this machine's interpreter, from a requirements.in holding the
  requirements of one linux-x86_64 target (pip-tools resolves only for the machine it runs on).

Warm: caches filled, and `--offline` for planner and uv. pip-compile has no offline mode: its warm
runs use a filled cache but still ask the index for every page. Cold: a new, empty cache folder
for every run; against PyPI the figures depend on the network.

Tools live in `benchmarks/.venv` (created on first use: uv, pip-tools, pyinstrument and planner's
own dependencies from PyPI). Results go to `benchmarks/results/<date>-<project>.json`; a Markdown
table is printed at the end. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.server
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from html import escape
from urllib.parse import quote, unquote, urlsplit

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = BENCH / ".venv"
PROJECTS_DIR = BENCH / "projects"
RESULTS_DIR = BENCH / "results"
PYPI = "https://pypi.org/simple"
TOOLS = ("planner", "uv", "pip-compile")
# warm: filled caches, no previous outputs; noop: the previous outputs (uv: its lock) present and
# nothing changed; add: the previous outputs present and one dependency added; cold: empty caches.
MODES = ("warm", "noop", "add", "cold")
BENCH_REQUIREMENTS = ("uv", "pip-tools", "pyinstrument")
SCHEMA = 1


# -- benchmark projects ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    name: str  # folder under benchmarks/projects/
    group: str  # a, b, c or d: the --projects letters
    description: str
    pip_extras: tuple[str, ...] = ()  # the extras of the linux-x86_64 target pip-compile resolves
    fixture_indexes: Path | None = None  # serve these static indexes on 127.0.0.1 instead of PyPI
    peer_notes: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # why a tool is n/a
    added: str | None = None  # the dependency the "add one" case adds to the pyproject

    @property
    def folder(self) -> Path:
        return PROJECTS_DIR / self.name

    @property
    def network(self) -> bool:
        return self.fixture_indexes is None


BUNDLED_INDEXES = REPO / "examples" / "seed-9310" / "indexes"
BUNDLED_NOTES = {"pip-compile": "pip downloads every wheel it selects once resolved (even with PEP 658 "
                                "metadata); the bundled mirror holds metadata only (torch's wheel: 906 MB)"}
PROJECTS: tuple[Project, ...] = (
    Project("torch-cpu-gpu", "a", "bundled example torch-cpu-gpu: torch CPU/CUDA/macOS, 4 derived targets, "
            "bundled indexes", pip_extras=("gpu",), fixture_indexes=BUNDLED_INDEXES, peer_notes=BUNDLED_NOTES),
    Project("seed-9310", "a", "the seed (torch + torchvision CPU/CUDA/macOS), 4 derived targets, bundled indexes",
            pip_extras=("gpu",), fixture_indexes=BUNDLED_INDEXES, peer_notes=BUNDLED_NOTES),
    Project("ml-service", "b", "ML service on PyPI (torch, transformers, fastapi, pandas...), 4 targets",
            added="rich"),
    Project("data-platform", "c", "data platform on PyPI (airflow + providers, dask, jupyterlab, mlflow...), "
            "4 targets"),
    Project("ml-service-1t", "d", "ml-service, 1 target (linux-x86_64, 3.11)"),
    Project("ml-service", "d", "ml-service, 4 targets (4 platforms, 3.11)"),
    Project("ml-service-16t", "d", "ml-service, 16 targets (4 platforms x Python 3.10-3.13)"),
)


def select_projects(spec: str) -> list[Project]:
    chosen: list[Project] = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        matches = [p for p in PROJECTS if item in (p.group, p.name)]
        if not matches:
            names = sorted({p.name for p in PROJECTS} | {p.group for p in PROJECTS})
            sys.exit(f"unknown project {item!r}; choose from {', '.join(names)}")
        if item == "ml-service":
            matches = matches[:1]
        for match in matches:
            if match.name not in {p.name for p in chosen}:
                chosen.append(match)
    return chosen


# -- the tools' virtual environment ---------------------------------------------------------------


def venv_bin(name: str) -> Path:
    folder = VENV / ("Scripts" if os.name == "nt" else "bin")
    return folder / (name + (".exe" if os.name == "nt" else ""))


def planner_requirements() -> list[str]:
    with open(REPO / "pyproject.toml", "rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def pip_env() -> dict[str, str]:
    """pip that reads no config file and no PIP_* settings of the machine: PyPI only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if os.environ.get("PIP_CERT"):
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    return env


def ensure_venv(upgrade: bool) -> None:
    wanted = sorted(BENCH_REQUIREMENTS) + sorted(planner_requirements())
    stamp = VENV / ".bench-requirements"
    digest = hashlib.sha256("\n".join(wanted).encode()).hexdigest()
    if not upgrade and stamp.exists() and stamp.read_text() == digest and venv_bin("python").exists():
        return
    if not venv_bin("python").exists():
        log(f"creating {VENV.relative_to(REPO)}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    log(f"installing {', '.join(BENCH_REQUIREMENTS)} and planner's dependencies from PyPI")
    subprocess.run([str(venv_bin("python")), "-m", "pip", "install", "--quiet", "--upgrade",
                    "--index-url", PYPI, *wanted], check=True, env=pip_env())
    stamp.write_text(digest)


def capture(cmd: list[str], env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    return (done.stdout or done.stderr).strip()


def planner_env(base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    env["PYTHONPATH"] = str(REPO)
    return env


def check_planner_is_checkout(env: dict[str, str]) -> str:
    where = capture([str(venv_bin("python")), "-c", "import planner; print(planner.__file__)"], planner_env(env))
    if not Path(where).resolve().is_relative_to(REPO / "planner"):
        sys.exit(f"planner imports from {where}, not from this checkout ({REPO})")
    return where


# -- machine and tool description -----------------------------------------------------------------


def machine_description() -> dict[str, Any]:
    info: dict[str, Any] = {
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        info["cpu_model"] = models[0] if models else platform.processor()
    else:
        info["cpu_model"] = platform.processor() or capture(["sysctl", "-n", "machdep.cpu.brand_string"])
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.M)
        if total:
            info["ram_gib"] = round(int(total.group(1)) / 2**20, 1)
    os_release = Path("/etc/os-release")
    if os_release.exists():
        pretty = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', os_release.read_text(), re.M)
        if pretty:
            info["distribution"] = pretty.group(1)
    if hasattr(os, "getloadavg"):
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    return info


def tool_versions(env: dict[str, str]) -> dict[str, Any]:
    commit = capture(["git", "-C", str(REPO), "rev-parse", "HEAD"])
    dirty = capture(["git", "-C", str(REPO), "status", "--porcelain", "--", "planner"])
    return {
        "planner": {"commit": commit, "working_tree_changes": bool(dirty.strip()),
                    "module": check_planner_is_checkout(env)},
        "uv": capture([str(venv_bin("uv")), "--version"], env),
        "pip-compile": capture([str(venv_bin("pip-compile")), "--version"], env),
        "pip": capture([str(venv_bin("python")), "-m", "pip", "--version"], env).split(" from ")[0],
        "python": capture([str(venv_bin("python")), "--version"], env),
    }


# -- a loopback server for the bundled (metadata-only) indexes ------------------------------------
#
# The bundled indexes are a metadata-only mirror: each file entry links to the artifact's upstream
# URL (files.pythonhosted.org, download.pytorch.org) and keeps a copy of its core metadata under
# planner's own key `_planner-metadata`. uv and pip do not read that key; given the folders as they
# are, they would download the full wheels from upstream (torch alone is 906 MB). The server below
# offers the same data through the standard protocol instead: each file's URL points at the
# loopback server and its metadata copy is announced as PEP 658 `core-metadata` (PEP 691 JSON and
# PEP 503 HTML). Artifacts themselves answer 404, so no tool can fall back to a download.


def standard_page(page: dict[str, Any], files_url: str) -> dict[str, Any]:
    files = []
    for entry in page.get("files", []):
        entry = dict(entry)
        private = entry.pop("_planner-metadata", None)
        entry["url"] = f"{files_url}/{quote(entry['filename'])}"
        if private and "core-metadata" not in entry:
            digest = private.get("hashes", {})
            entry["core-metadata"] = digest or True
            entry["dist-info-metadata"] = digest or True
        files.append(entry)
    return {**page, "meta": {"api-version": "1.1"}, "files": files}


def html_page(name: str, page: dict[str, Any]) -> str:
    links = []
    for entry in page["files"]:
        href = entry["url"] + "".join(f"#{k}={v}" for k, v in list(entry.get("hashes", {}).items())[:1])
        attrs = [f'href="{escape(href)}"']
        if entry.get("requires-python"):
            attrs.append(f'data-requires-python="{escape(entry["requires-python"])}"')
        metadata = entry.get("core-metadata")
        if metadata:
            value = "true" if metadata is True else "".join(f"{k}={v}" for k, v in list(metadata.items())[:1])
            attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
        if entry.get("yanked"):
            reason = entry["yanked"] if isinstance(entry["yanked"], str) else ""
            attrs.append(f'data-yanked="{escape(reason)}"')
        links.append(f"<a {' '.join(attrs)}>{escape(entry['filename'])}</a><br/>")
    return (f"<!DOCTYPE html><html><head><meta name=\"pypi:repository-version\" content=\"1.1\">"
            f"<title>Links for {escape(name)}</title></head><body>\n" + "\n".join(links) + "\n</body></html>\n")


class _IndexHandler(http.server.BaseHTTPRequestHandler):
    """`/<index>/<project>/`: the page of `<root>/<index>/<project>/index.json`, as standard PEP 691
    JSON or PEP 503 HTML; `/<index>/files/<name>.metadata`: the metadata copy; anything else: 404."""

    protocol_version = "HTTP/1.1"
    root: Path
    base: str

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        parts = [p for p in unquote(urlsplit(self.path).path).split("/") if p]
        if len(parts) != 2 or any(p in ("..", ".") or "\\" in p for p in parts):
            return self._send(404, b"not found", "text/plain")
        index, name = parts
        if name == "files" or not (self.root / index).is_dir():
            return self._send(404, b"not found", "text/plain")
        page_file = self.root / index / name / "index.json"
        if not page_file.is_file():
            return self._send(404, b"not found", "text/plain")
        page = standard_page(json.loads(page_file.read_text()), f"{self.base}/{index}/files")
        if "application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", ""):
            return self._send(200, json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json")
        return self._send(200, html_page(name, page).encode(), "text/html")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _FilesHandler(_IndexHandler):
    def do_GET(self) -> None:  # noqa: N802
        parts = [p for p in unquote(urlsplit(self.path).path).split("/") if p]
        if (len(parts) == 3 and parts[1] == "files" and parts[2].endswith(".metadata")
                and not any(p in ("..", ".") or "\\" in p for p in parts)):
            target = self.root / parts[0] / "files" / parts[2]
            if target.is_file():
                return self._send(200, target.read_bytes(), "application/octet-stream")
            return self._send(404, b"not found", "text/plain")
        return super().do_GET()


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up: not news
            super().handle_error(request, client_address)


@contextmanager
def serve_indexes(root: Path) -> Iterator[str]:
    """Serve the bundled indexes under `root` on 127.0.0.1 (see above); yields the base URL."""
    handler = type("Handler", (_FilesHandler,), {"root": root, "base": ""})
    server = _QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    handler.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler.base
    finally:
        server.shutdown()
        server.server_close()


# -- running and timing one command ---------------------------------------------------------------


@dataclass
class Sample:
    wall: float
    user: float
    sys: float
    max_rss_kib: int
    returncode: int
    planner_stats: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"wall_s": round(self.wall, 4), "user_s": round(self.user, 3),
                                "sys_s": round(self.sys, 3), "max_rss_mib": round(self.max_rss_kib / 1024, 1),
                                "returncode": self.returncode}
        if self.planner_stats is not None:
            data["planner_stats"] = self.planner_stats
        return data


def measure(cmd: list[str], cwd: Path, env: dict[str, str], log_to: Path, timeout: float) -> Sample:
    """Run cmd in a fresh child; wall time, CPU time and peak RSS of that child (os.wait4)."""
    with open(log_to, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return Sample(wall, usage.ru_utime, usage.ru_stime, rss, proc.returncode)


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


# -- one tool on one project ----------------------------------------------------------------------


@dataclass
class Indexes:
    """Where each tool finds the project's packages."""

    planner: list[str] = field(default_factory=list)
    uv: list[str] = field(default_factory=list)
    pip: list[str] = field(default_factory=lambda: ["--index-url", PYPI])
    # Named uv indexes whose URL is replaced in the pyproject copy itself: on uv's command line,
    # `--index NAME=URL` would add a new index that is not `explicit` and ranks before the
    # default one, which changes the routing.
    uv_index_urls: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def bundled(base: str) -> Indexes:
        return Indexes(
            planner=["--default-index", f"{base}/pypi/", "--index", f"pytorch-cpu={base}/pytorch-cpu/"],
            uv=["--default-index", f"{base}/pypi/"],
            pip=["--index-url", f"{base}/pypi/"],
            uv_index_urls={"pytorch-cpu": f"{base}/pytorch-cpu/"},
        )


def replace_uv_index_urls(pyproject: str, urls: dict[str, str]) -> str:
    """Set the `url` of each named `[[tool.uv.index]]` table (the tables' keys on separate lines)."""
    def table(match: re.Match[str]) -> str:
        body = match.group(0)
        name = re.search(r'^name\s*=\s*"([^"]+)"', body, re.M)
        if name and name.group(1) in urls:
            body = re.sub(r'^url\s*=\s*"[^"]*"', f'url = "{urls[name.group(1)]}"', body, flags=re.M)
        return body

    text = re.sub(r"^\[\[tool\.uv\.index\]\][^\[]*", table, pyproject, flags=re.M)
    for name, url in urls.items():
        if url not in text:
            raise ValueError(f"no [[tool.uv.index]] named {name!r} to point at {url}")
    return text


@dataclass
class Runner:
    tool: str
    project: Project
    work: Path  # this tool's folder for this project
    indexes: Indexes
    env: dict[str, str]
    timeout: float
    failure: str | None = None
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {m: [] for m in MODES})
    errors: dict[str, str] = field(default_factory=dict)
    packages: dict[str, Any] = field(default_factory=dict)
    counter: int = 0
    warm_offline: bool = True  # cleared when an --offline warm run fails; warm runs then go online
    offline_failure: str | None = None

    def __post_init__(self) -> None:
        self.project_dir = self.work / "project"
        self.project_dir.mkdir(parents=True)
        pyproject = (self.project.folder / "pyproject.toml").read_text()
        if self.tool == "uv" and self.indexes.uv_index_urls:
            pyproject = replace_uv_index_urls(pyproject, self.indexes.uv_index_urls)
        (self.project_dir / "pyproject.toml").write_text(pyproject)
        self.base_pyproject = pyproject
        self.saved = self.work / "saved-outputs"
        self.warm_cache = self.work / "cache-warm"
        self.warm_offline = self.tool != "pip-compile"
        if self.tool == "pip-compile":
            (self.project_dir / "requirements.in").write_text("\n".join(pip_requirements(self.project)) + "\n")

    @property
    def scope(self) -> str:
        return {"planner": "all targets", "uv": "universal", "pip-compile": "this machine"}[self.tool]

    def command(self, cache: Path, offline: bool) -> tuple[list[str], dict[str, str]]:
        env = dict(self.env)
        if self.tool == "planner":
            cmd = [str(venv_bin("python")), "-m", "planner", "compile", str(self.project_dir),
                   "-o", str(self.work / "out"), "--cache-dir", str(cache), *self.indexes.planner]
            env = planner_env(env)
            env["PLANNER_STATS"] = str(self.work / "planner-stats.json")
        elif self.tool == "uv":
            cmd = [str(venv_bin("uv")), "lock", "--cache-dir", str(cache), *self.indexes.uv]
            env["UV_PYTHON"] = str(venv_bin("python"))
        else:
            cmd = [str(venv_bin("pip-compile")), "--quiet", "--cache-dir", str(cache / "pip-tools"),
                   "--output-file", "requirements.txt", *self.indexes.pip, "requirements.in"]
            env["PIP_CACHE_DIR"] = str(cache / "pip")
        if offline:
            cmd.append("--offline")
        return cmd, env

    def clean_outputs(self) -> None:
        for stale in (self.project_dir / "uv.lock", self.project_dir / "requirements.txt",
                      self.work / "planner-stats.json"):
            stale.unlink(missing_ok=True)
        shutil.rmtree(self.work / "out", ignore_errors=True)

    def write_pyproject(self, added: str | None) -> None:
        """The project's pyproject, with `added` as one more dependency (the "add one" case)."""
        text = self.base_pyproject
        if added:
            text, count = re.subn(r"^dependencies = \[\n", lambda m: f'{m.group(0)}  "{added}",\n', text, count=1,
                                  flags=re.M)
            if count != 1:
                raise ValueError(f"{self.project.name}: no `dependencies = [` line to add {added} to")
        (self.project_dir / "pyproject.toml").write_text(text)

    def keep_outputs(self) -> None:
        """Save the outputs of the run just made: the previous outputs of the no-op and add-one runs."""
        shutil.rmtree(self.saved, ignore_errors=True)
        self.saved.mkdir()
        if (self.work / "out").is_dir():
            shutil.copytree(self.work / "out", self.saved / "out")
        if (self.project_dir / "uv.lock").is_file():
            shutil.copy2(self.project_dir / "uv.lock", self.saved / "uv.lock")

    def restore_outputs(self) -> None:
        self.clean_outputs()
        if (self.saved / "out").is_dir():
            shutil.copytree(self.saved / "out", self.work / "out")
        if (self.saved / "uv.lock").is_file():
            shutil.copy2(self.saved / "uv.lock", self.project_dir / "uv.lock")

    def run(self, mode: str, *, record: bool = True) -> None:
        """mode: 'fill' (untimed, fills the warm cache), 'warm', 'cold'; 'noop' (warm, the
        previous outputs present, nothing changed), 'add' (warm, the previous outputs present,
        one dependency added), 'fill-add' (untimed: fills the warm cache for 'add')."""
        if self.failure:
            return
        self.counter += 1
        if mode == "cold":
            cache = Path(tempfile.mkdtemp(prefix="cache-cold-", dir=self.work))
        else:
            cache = self.warm_cache
        offline = mode in ("warm", "noop", "add") and self.warm_offline
        cmd, env = self.command(cache, offline)
        if mode in ("noop", "add", "fill-add"):
            self.restore_outputs()
        else:
            self.clean_outputs()
        self.write_pyproject(self.project.added if mode in ("add", "fill-add") else None)
        log_file = self.work / f"{self.counter:03d}-{mode}.log"
        sample = measure(cmd, self.project_dir, env, log_file, self.timeout)
        if mode == "cold":
            shutil.rmtree(cache, ignore_errors=True)
        if sample.returncode != 0:
            message = f"exit {sample.returncode}: {tail(log_file)}"
            if mode == "fill":
                self.failure = message
            elif offline:
                # Filled cache, yet --offline fails: say so, and time warm runs online instead.
                self.offline_failure = message
                self.warm_offline = False
                log(f"   {self.tool}: --offline failed on a filled cache; warm runs go online: "
                    f"{first_error_line(message)}")
                self.counter -= 1
                self.run(mode, record=record)
            else:
                self.errors[mode] = message
            return
        if self.tool == "planner":
            sample.planner_stats = planner_counters(self.work / "out" / "plan.json", self.work / "planner-stats.json")
        self.packages = count_packages(self.tool, self.project_dir, self.work / "out")
        if mode == "fill":
            self.keep_outputs()
        if record and mode in MODES:
            self.samples[mode].append(sample)

    def command_text(self, mode: str) -> str:
        cmd, _ = self.command(Path("$CACHE"), mode in ("warm", "noop", "add") and self.warm_offline)
        text = " ".join(cmd)
        for path, label in ((str(venv_bin("python")), "python"), (str(venv_bin("uv")), "uv"),
                            (str(venv_bin("pip-compile")), "pip-compile"), (str(self.work), "$WORK")):
            text = text.replace(path, label)
        return re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:$PORT", text)


def pip_requirements(project: Project) -> list[str]:
    """The root requirements of the linux-x86_64 target: dependencies plus `pip_extras`."""
    with open(project.folder / "pyproject.toml", "rb") as f:
        data = tomllib.load(f)["project"]
    requirements = list(data.get("dependencies", []))
    for extra in project.pip_extras:
        requirements += data["optional-dependencies"][extra]
    return list(dict.fromkeys(requirements))


def count_packages(tool: str, project_dir: Path, out: Path) -> dict[str, Any]:
    try:
        if tool == "planner":
            plan = json.loads((out / "plan.json").read_text())
            per_target = {t["target"]["name"]: len(t["packages"]) for t in plan["targets"]}
            names = {p["name"] for t in plan["targets"] for p in t["packages"]}
            return {"distinct": len(names), "per_target": per_target}
        if tool == "uv":
            lock = tomllib.loads((project_dir / "uv.lock").read_text())
            packages = [p for p in lock.get("package", []) if "registry" in p.get("source", {})]
            return {"distinct": len({p["name"] for p in packages}), "entries": len(packages)}
        lines = (project_dir / "requirements.txt").read_text().splitlines()
        pins = [line for line in lines if re.match(r"^[A-Za-z0-9][^ ]*==", line)]
        return {"distinct": len(pins)}
    except (OSError, ValueError, KeyError) as exc:
        return {"error": str(exc)}


# -- planner's counters ---------------------------------------------------------------------------

# Phases of `planner compile --stats FILE` / PLANNER_STATS (planner/cli/run_stats.py): `fetch` is
# the wall time spent inside the index provider, `solve` the rest of solving (encoding, SAT calls).
# Newer planners may split `solve` into `encode` and `sat`; the table shows whichever phases the
# files name, in this order, then any others.
PHASES = ("load", "fetch", "solve", "encode", "sat", "generate", "write")


def phase_total(timed: dict[str, float]) -> float:
    """Sum of non-overlapping phases: `solve` is left out when `encode`/`sat` split it."""
    split = "encode" in timed or "sat" in timed
    return sum(v for k, v in timed.items() if not (split and k == "solve"))


def planner_counters(plan_json: Path, stats_json: Path) -> dict[str, Any]:
    """Per-target counters of the PLANNER_STATS file (older planners wrote them into plan.json)."""
    counters: dict[str, Any] = {}
    per_target: dict[str, Any] = {}
    if stats_json.exists():
        try:
            counters["stats_file"] = json.loads(stats_json.read_text())
            per_target = dict(counters["stats_file"].get("targets", {}))
        except (ValueError, AttributeError) as exc:
            counters["stats_file_error"] = str(exc)
    if not per_target:
        try:
            plan = json.loads(plan_json.read_text())
            per_target = {t["target"]["name"]: t.get("stats", {}) for t in plan["targets"]}
        except (OSError, ValueError, KeyError):
            pass
    if per_target:
        counters["targets"] = len(per_target)
        for key in ("sat_calls", "clauses", "variables", "metadata_fetches"):
            values = [s[key] for s in per_target.values() if key in s]
            counters[key] = sum(values) if values else None
        counters["per_target"] = per_target
    return counters


def stats_value(counters: dict[str, Any], *path: str) -> Any:
    node: Any = counters.get("stats_file")
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


# -- a benchmark of one project -------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment every tool runs in: none of the machine's pip/uv/planner settings."""
    drop = ("PIP_", "UV_", "PLANNER_", "VIRTUAL_ENV", "CONDA_", "PYTHONPATH", "PYTHONHOME",
            "PYTHONDONTWRITEBYTECODE", "PYTHONSTARTUP", "PYTHONPYCACHEPREFIX")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(pip_env())
    env = {k: v for k, v in env.items() if k not in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")}
    env["NO_COLOR"] = "1"
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_NO_PROGRESS"] = "1"
    return env


def benchmark(project: Project, tools: list[str], runs: int, cold_runs: int, timeout: float,
              env: dict[str, str], keep: bool) -> dict[str, Any]:
    log(f"== {project.name}: {project.description}")
    load_before = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    work = Path(tempfile.mkdtemp(prefix=f"planner-bench-{project.name}-"))
    try:
        with (serve_indexes(project.fixture_indexes) if project.fixture_indexes else _no_server()) as base:
            indexes = Indexes.bundled(base) if base else Indexes()
            runners = [Runner(tool, project, work / tool, indexes, env, timeout) for tool in tools]
            for runner in runners:
                log(f"   {runner.tool}: first run (fills the warm cache, not timed)")
                runner.run("fill")
                if runner.failure:
                    log(f"   {runner.tool}: failed: {first_error_line(runner.failure)}")
            for i in range(runs):
                for runner in runners:
                    runner.run("warm")
                log(f"   warm run {i + 1}/{runs}: " + progress(runners, "warm"))
            # The everyday loop: nothing changed, or one dependency added, previous outputs present.
            relockers = [r for r in runners if r.tool != "pip-compile"]
            for i in range(runs):
                for runner in relockers:
                    runner.run("noop")
                log(f"   no-op run {i + 1}/{runs}: " + progress(relockers, "noop"))
            if project.added and runs:
                for runner in relockers:
                    runner.run("fill-add", record=False)
                for i in range(runs):
                    for runner in relockers:
                        runner.run("add")
                    log(f"   add-{project.added} run {i + 1}/{runs}: " + progress(relockers, "add"))
            for i in range(cold_runs):
                for runner in runners:
                    runner.run("cold")
                log(f"   cold run {i + 1}/{cold_runs}: " + progress(runners, "cold"))
            results = [runner_result(r, m) for r in runners for m in MODES
                       if m == "warm" or r.samples[m] or (m == "cold" and cold_runs)]
    finally:
        if keep:
            log(f"   kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "project": project.name,
        "description": project.description,
        "network": "PyPI (real network)" if project.network else "static indexes served on 127.0.0.1",
        "added": project.added,
        "load_average": {"before": load_before, "after": list(os.getloadavg()) if load_before else None},
        "results": results,
    }


@contextmanager
def _no_server() -> Iterator[str]:
    yield ""


def progress(runners: list[Runner], mode: str) -> str:
    parts = []
    for r in runners:
        if r.failure:
            parts.append(f"{r.tool} n/a")
        elif mode in r.errors and not r.samples[mode]:
            parts.append(f"{r.tool} error")
        elif r.samples[mode]:
            parts.append(f"{r.tool} {r.samples[mode][-1].wall:.2f}s")
    return ", ".join(parts)


def runner_result(runner: Runner, mode: str) -> dict[str, Any]:
    samples = runner.samples[mode]
    result: dict[str, Any] = {"tool": runner.tool, "mode": mode, "scope": runner.scope,
                              "command": runner.command_text(mode)}
    if mode in ("noop", "add"):
        result["case"] = ("previous outputs present (uv: its lock kept), nothing changed" if mode == "noop" else
                          f"previous outputs present (uv: its lock kept), {runner.project.added} added to the dependencies")
    if mode in ("warm", "noop", "add"):
        result["offline"] = runner.warm_offline
        if runner.offline_failure:
            result["offline_failure"] = runner.offline_failure
    if runner.failure or not samples:
        result["status"] = "n/a"
        result["reason"] = runner.failure or runner.errors.get(mode, "no runs")
        if runner.tool in runner.project.peer_notes:
            result["note"] = runner.project.peer_notes[runner.tool]
        return result
    walls = [s.wall for s in samples]
    result.update({
        "status": "ok",
        "runs": len(samples),
        "samples": [s.as_json() for s in samples],
        "median_s": round(statistics.median(walls), 4),
        "min_s": round(min(walls), 4),
        "max_s": round(max(walls), 4),
        "cpu_median_s": round(statistics.median(s.user + s.sys for s in samples), 3),
        "max_rss_mib": round(statistics.median(s.max_rss_kib for s in samples) / 1024, 1),
        "packages": runner.packages,
    })
    if mode in runner.errors:
        result["errors"] = runner.errors[mode]
    if runner.tool == "planner":
        result["planner"] = summarize_planner(samples)
    return result


def summarize_planner(samples: list[Sample]) -> dict[str, Any]:
    """Counters of the median run (they do not vary between runs of one mode, times do), and the
    median of each phase time; `other` is the wall time outside every phase (interpreter start-up,
    imports, printing)."""
    ordered = sorted(samples, key=lambda s: s.wall)
    counters = dict(ordered[len(ordered) // 2].planner_stats or {})
    phases: dict[str, list[float]] = {}
    for sample in samples:
        timed = stats_value(sample.planner_stats or {}, "phases_seconds") or {}
        for name, value in timed.items():
            phases.setdefault(name, []).append(value)
        if timed:
            phases.setdefault("other", []).append(max(0.0, sample.wall - phase_total(timed)))
    counters["phases_median_s"] = {p: round(statistics.median(v), 4) for p, v in phases.items()}
    return counters


# -- profile ----------------------------------------------------------------------------------------


def profile_planner(project: Project, env: dict[str, str], out_dir: Path) -> Path | None:
    """pyinstrument of one warm (offline) planner compile; returns the text report."""
    work = Path(tempfile.mkdtemp(prefix=f"planner-profile-{project.name}-"))
    try:
        with (serve_indexes(project.fixture_indexes) if project.fixture_indexes else _no_server()) as base:
            indexes = Indexes.bundled(base) if base else Indexes()
            runner = Runner("planner", project, work / "planner", indexes, env, 3600)
            runner.run("fill")
            runner.run("warm")  # finds out whether --offline works on the filled cache
            if runner.failure or not runner.samples["warm"]:
                log(f"   profile: planner failed: {first_error_line(runner.failure or runner.errors.get('warm', ''))}")
                return None
            cmd, run_env = runner.command(runner.warm_cache, offline=runner.warm_offline)
            report = out_dir / f"{dt.date.today().isoformat()}-{project.name}-planner-warm.pyinstrument.txt"
            report.parent.mkdir(parents=True, exist_ok=True)
            profiled = [str(venv_bin("python")), "-m", "pyinstrument", "--renderer", "text",
                        "--outfile", str(report), *cmd[1:]]
            subprocess.run(profiled, cwd=runner.project_dir, env=run_env, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            flat = out_dir / f"{dt.date.today().isoformat()}-{project.name}-planner-warm.cprofile.txt"
            script = ("import cProfile, pstats, runpy, sys, io\n"
                      "sys.argv = ['planner'] + sys.argv[1:]\n"
                      "p = cProfile.Profile()\n"
                      "try:\n"
                      "    p.runcall(runpy.run_module, 'planner', run_name='__main__')\n"
                      "except SystemExit:\n"
                      "    pass\n"
                      "s = io.StringIO(); st = pstats.Stats(p, stream=s)\n"
                      "st.sort_stats('tottime').print_stats(25); st.sort_stats('cumulative').print_stats(25)\n"
                      f"open({str(flat)!r}, 'w').write(s.getvalue())\n")
            subprocess.run([str(venv_bin("python")), "-c", script, *cmd[3:]], cwd=runner.project_dir, env=run_env,
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return report if report.exists() else None
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- report ----------------------------------------------------------------------------------------


def first_error_line(text: str) -> str:
    """The line of a failed command's output that says what went wrong."""
    lines = [re.sub(r"^exit -?\d+: ", "", line).strip() for line in (text or "").splitlines()]
    lines = [line for line in lines if line]
    generic = ("error: subprocess-exited-with-error",)
    found = ([line for line in lines if line.lower().startswith("error") and line not in generic][:1]
             or [line for line in lines if re.search(r"\w(Error|Exception)\b.*: ", line)][-1:]
             or lines[-1:] or [""])
    return found[0][:200].replace("|", "\\|")


def fmt_s(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 1:
        return f"{value:.3f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def fmt_int(value: Any) -> str:
    return "n/a" if value is None else f"{value:,}"


def markdown(reports: list[dict[str, Any]], machine: dict[str, Any], versions: dict[str, Any]) -> str:
    lines = [
        "| project | tool (scope) | cache | runs | median s | min–max s | CPU s | peak RSS MiB | packages | planner ÷ tool |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    for report in reports:
        network = report["network"].startswith("PyPI")
        by_key = {(r["tool"], r["mode"]): r for r in report["results"]}
        for mode in MODES:
            planner = by_key.get(("planner", mode))
            for tool in TOOLS:
                r = by_key.get((tool, mode))
                if r is None:
                    continue
                label = mode
                if mode == "cold" and network:
                    label = "cold †"
                if mode == "warm" and tool == "pip-compile":
                    label = "warm ‡" if network else "warm ‡ (loopback)"
                if mode == "noop":
                    label = "no-op"
                if mode == "add":
                    label = f"add {report.get('added', 'one')}"
                if mode in ("warm", "noop", "add") and r.get("offline_failure"):
                    label = f"{label} § (online)"
                name = f"{tool} ({r['scope']})"
                if r["status"] != "ok":
                    reason = r.get("note") or first_error_line(r["reason"])
                    lines.append(f"| {report['project']} | {name} | {label} | 0 | n/a | | | | | {reason} |")
                    continue
                ratio = "—"
                if tool != "planner" and planner and planner.get("status") == "ok":
                    ratio = f"{planner['median_s'] / r['median_s']:.1f}×"
                packages = r["packages"].get("distinct", "?")
                if tool == "planner" and r["packages"].get("per_target"):
                    per = list(r["packages"]["per_target"].values())
                    packages = f"{packages} ({min(per)}–{max(per)}/target)" if len(per) > 1 else str(packages)
                lines.append(f"| {report['project']} | {name} | {label} | {r['runs']} | {fmt_s(r['median_s'])} | "
                             f"{fmt_s(r['min_s'])}–{fmt_s(r['max_s'])} | {fmt_s(r['cpu_median_s'])} | "
                             f"{r['max_rss_mib']:.0f} | {packages} | {ratio} |")
    notes.append("Whole commands (interpreter start-up included), median of the timed runs after one untimed "
                 "run; planner ÷ tool is the ratio of medians (above 1: planner takes longer). Peak RSS is the "
                 "command's own process (os.wait4). Packages: distinct names in the output.")
    if any(r["network"].startswith("PyPI") for r in reports):
        notes.append("† cold = empty cache, real PyPI: network-dependent.")
    for report in reports:
        for r in report["results"]:
            if r.get("offline_failure"):
                notes.append(f"§ {report['project']}, {r['tool']}: `--offline` failed on the filled cache "
                             f"({first_error_line(r['offline_failure'])}); its warm runs went online with that cache.")
    notes.append("‡ pip-compile has no offline mode: warm = filled pip/pip-tools cache, index pages still "
                 "revalidated with the index.")
    cpu = machine.get("cpu_model", "?")
    notes.append(f"Machine: {cpu}, {machine.get('cpus_usable', machine.get('cpu_count'))} cores, "
                 f"{machine.get('ram_gib', '?')} GiB RAM, {machine.get('distribution', machine.get('os'))}; "
                 f"{versions['python']}, {versions['uv']}, {versions['pip-compile']}, "
                 f"planner {versions['planner']['commit'][:10]}"
                 f"{' + working-tree changes' if versions['planner']['working_tree_changes'] else ''}.")

    commits = {rep["project"]: rep["tools"]["planner"]["commit"][:10] for rep in reports if "tools" in rep}
    if len(set(commits.values())) > 1:
        notes.append("planner commit per project: " + ", ".join(f"{k} {v}" for k, v in commits.items()) + ".")
    seen = {name for rep in reports for r in rep["results"] if r["tool"] == "planner"
            for name in r.get("planner", {}).get("phases_median_s", {})}
    phase_names = [p for p in PHASES if p in seen] + sorted(seen - set(PHASES) - {"other"}) + ["other"]
    if len(phase_names) == 1:
        phase_names = ["load", "fetch", "solve", "generate", "write", "other"]
    counters = ["", "planner's counters (median run; phase times from `--stats`; `other` = wall time outside "
                "the phases: start-up, imports, printing):", "",
                "| project | cache | targets | HTTP requests | KiB | metadata (source: count) | SAT calls | clauses | "
                "variables | " + " | ".join(f"{p} s" for p in phase_names) + " |",
                "|---|---|---|---|---|---|---|---|---|" + "---|" * len(phase_names)]
    for report in reports:
        for r in report["results"]:
            if r["tool"] != "planner" or r["status"] != "ok":
                continue
            c = r.get("planner", {})
            requests = stats_value(c, "http", "requests")
            nbytes = stats_value(c, "http", "bytes")
            sources = stats_value(c, "metadata") or {}
            metadata = ", ".join(f"{k}: {v:,}" for k, v in sources.items() if v) or fmt_int(c.get("metadata_fetches"))
            phases = c.get("phases_median_s", {})
            counters.append(
                f"| {report['project']} | {r['mode']} | {fmt_int(c.get('targets'))} | {fmt_int(requests)} | "
                f"{'n/a' if nbytes is None else f'{nbytes / 1024:,.0f}'} | {metadata} | "
                f"{fmt_int(c.get('sat_calls'))} | {fmt_int(c.get('clauses'))} | {fmt_int(c.get('variables'))} | "
                + " | ".join(fmt_s(phases.get(p)) for p in phase_names) + " |")
    if not any(stats_value(r.get("planner", {}), "http") for rep in reports for r in rep["results"]):
        counters.append("")
        counters.append("HTTP requests, bytes and phase times come from `planner compile --stats FILE` "
                        "(PLANNER_STATS); this planner wrote none: n/a.")
    return "\n".join(lines + [""] + notes + counters)


# -- main ------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default="a,b,c,d",
                        help="letters (a: seed, b: ML service, c: large closure, d: target scaling) or "
                             "project names, comma-separated (default: a,b,c,d)")
    parser.add_argument("--runs", type=int, default=5, help="timed warm runs per tool (default 5)")
    parser.add_argument("--cold-runs", type=int, default=None, help="timed cold runs per tool (default: --runs, at most 3)")
    parser.add_argument("--cold", action=argparse.BooleanOptionalAction, default=True,
                        help="also time cold runs (empty caches; default on)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of planner,uv,pip-compile")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one command is killed")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one warm planner compile per project (pyinstrument and cProfile)")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/*.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folders (logs, outputs)")
    parser.add_argument("--upgrade-tools", action="store_true", help="reinstall the newest uv and pip-tools")
    parser.add_argument("--table", nargs="+", metavar="RESULT_JSON",
                        help="run nothing: print the Markdown table of these result files")
    args = parser.parse_args()

    if args.table:
        documents = [json.loads(Path(f).read_text()) for f in args.table]
        print(markdown(documents, documents[0]["machine"], documents[0]["tools"]))
        return 0

    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if unknown := [t for t in tools if t not in TOOLS]:
        parser.error(f"unknown tool(s): {', '.join(unknown)}")
    projects = select_projects(args.projects)
    cold_runs = 0 if not args.cold else (args.cold_runs if args.cold_runs is not None else min(args.runs, 3))

    ensure_venv(args.upgrade_tools)
    # PYTHONDONTWRITEBYTECODE may be set here: compile planner's modules once, so that no run pays it.
    subprocess.run([str(venv_bin("python")), "-m", "compileall", "-q", str(REPO / "planner")], check=True,
                   stdout=subprocess.DEVNULL)
    env = child_env()
    machine = machine_description()
    versions = tool_versions(env)
    log(f"planner from {versions['planner']['module']}; {versions['uv']}; {versions['pip-compile']}")

    reports = []
    for project in projects:
        report = benchmark(project, tools, args.runs, cold_runs, args.timeout, env, args.keep)
        if args.profile and "planner" in tools:
            path = profile_planner(project, env, RESULTS_DIR)
            if path:
                report["profile"] = str(path.relative_to(REPO))
                log(f"   profile: {path.relative_to(REPO)}")
        reports.append(report)
        if not args.no_save:
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            out = RESULTS_DIR / f"{dt.date.today().isoformat()}-{project.name}.json"
            document = {"schema": SCHEMA, "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                        "machine": machine, "tools": versions,
                        "settings": {"runs": args.runs, "cold_runs": cold_runs, "untimed_first_run": True},
                        **report}
            out.write_text(json.dumps(document, indent=2) + "\n")
            log(f"   wrote {out.relative_to(REPO)}")
    print(markdown(reports, machine, versions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
