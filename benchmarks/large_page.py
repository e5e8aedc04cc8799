"""Parse one index page of a very large number of files: wall time and peak memory.

    python benchmarks/large_page.py [--files 1000000] [--repo PATH]

The page (PEP 691 JSON) lists wheels over eight platforms and ten CPython versions; two of the
platforms are those of the default targets (linux-x86_64 and macos-arm64). Every measurement runs
in a fresh process of the checkout at `--repo` (default: this one), so two checkouts can be
compared on the same page: the page is written once to a temporary file, then parsed, and the
process reports the parse's wall time, its peak RSS (`VmHWM`) and the peak before the parse
(the interpreter and the page's bytes), and how many files the parsed page keeps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLATFORMS = ["manylinux_2_17_x86_64", "win32", "musllinux_1_1_x86_64", "macosx_10_9_x86_64", "manylinux_2_17_aarch64",
             "win_amd64", "manylinux_2_17_ppc64le", "macosx_11_0_arm64"]
TARGET_PLATFORMS = ["manylinux_2_17_x86_64", "macosx_11_0_arm64"]

_MEASURE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from planner.index.simple import parse_json_page

def peak_kib():
    # VmHWM: this process's own peak (ru_maxrss can carry the parent's across fork and exec).
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

body = open(sys.argv[2], "rb").read()
before = peak_kib()
started = time.perf_counter()
try:
    page = parse_json_page(body, "https://pypi.example.com/simple/big/", "pypi", "big",
                           platforms=frozenset(json.loads(sys.argv[3])))
except TypeError:  # a planner that keeps every file (no `platforms`)
    page = parse_json_page(body, "https://pypi.example.com/simple/big/", "pypi", "big")
seconds = time.perf_counter() - started
peak = peak_kib()
print(json.dumps({"seconds": seconds, "rss_before_mib": before / 1024, "peak_rss_mib": peak / 1024,
                  "kept": len(page.artifacts)}))
"""


def page(files: int) -> bytes:
    entries = []
    for n in range(files):
        python = f"cp3{8 + (n // 8) % 10}"
        name = f"big-1.{n // 80}.{n % 10}-{python}-{python}-{PLATFORMS[n % 8]}.whl"
        entries.append(f'{{"filename":"{name}","url":"https://files.example.com/{name}",'
                       f'"hashes":{{"sha256":"{n:064x}"}},"requires-python":">=3.8","size":{n},'
                       f'"upload-time":"2024-01-01T00:00:00Z","core-metadata":{{"sha256":"{n:064x}"}}}}')
    return ('{"meta":{"api-version":"1.1"},"name":"big","files":[' + ",".join(entries) + "]}").encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--repo", type=Path, action="append", help="a planner checkout (repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "page.json"
        path.write_bytes(page(args.files))
        size = path.stat().st_size / 2**20
        for repo in args.repo or [REPO]:
            done = subprocess.run([sys.executable, "-c", _MEASURE, str(repo), str(path), json.dumps(TARGET_PLATFORMS)],
                                  capture_output=True, text=True, check=True)
            result = json.loads(done.stdout)
            print(f"{repo}: {args.files:,} files, page {size:.0f} MiB: parse {result['seconds']:.1f} s, "
                  f"peak RSS {result['peak_rss_mib']:.0f} MiB (before the parse {result['rss_before_mib']:.0f} MiB), "
                  f"{result['kept']:,} files kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
