"""Hostile and broken indexes: `planner compile` either succeeds after retries with the same plan,
or stops with one clear error naming the index and the (redacted) URL — exit 2, no traceback, no
plan built on bad data, and not one byte of the previous outputs changed.

Every test starts from a project whose outputs an earlier compile wrote (`served_project`), runs
`planner compile` again with a fault queued on the loopback index (tests/fixtures/index_server.py)
and compares the output folder byte for byte. Network settings are small (`FAST_NET`: 0.5 s
timeout, 2 retries, no backoff) so that each fault costs a fraction of a second.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.hostile import (
    OUTPUT_FILES,
    Served,
    assert_one_clear_error,
    compile_cli,
    compile_process,
    process_env,
    served_project,
    snapshot,
)
from tests.fixtures.index_server import IndexServer

ALPHA_PAGE = "/pypi/simple/alpha/"
ENGINE_PAGE = "/special/simple/engine/"
ALPHA_WHEEL = "/pypi/files/alpha-2.0-py3-none-any.whl"
ALPHA_METADATA = ALPHA_WHEEL + ".metadata"
STALL = {"PLANNER_HTTP_TIMEOUT": "0.4"}  # the fixture server stalls for 2 s


@pytest.fixture
def served(tmp_path: Path):
    with served_project(tmp_path) as served:
        yield served


def recompile(served: Served, *extra: str, env: dict[str, str] | None = None):
    """Compile again without the cache (so every request reaches the faulty server)."""
    before = snapshot(served.output)
    result = compile_cli(served.args(*extra, cache=False), env)
    return result, before


def assert_untouched(served: Served, before: dict[str, bytes]) -> None:
    assert snapshot(served.output) == before, "the previous outputs must stay byte for byte"


def assert_recovered(served: Served, result, before: dict[str, bytes]) -> None:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert_untouched(served, before)  # same plan, same bytes


# -- transient faults: retried, then the same plan -----------------------------------------------
@pytest.mark.parametrize(
    "path, faults",
    [
        (ALPHA_PAGE, (500, 502, 503)),
        (ALPHA_PAGE, (429,)),
        (ALPHA_PAGE, ("timeout",)),
        (ALPHA_PAGE, ("stall-body",)),
        (ALPHA_PAGE, ("truncate", "drop")),
        (ALPHA_PAGE, ("drip",)),
        (ENGINE_PAGE, (503, "timeout")),
        (ALPHA_METADATA, (502, "stall-body")),
        (ALPHA_METADATA, ("truncate",)),
    ],
    ids=["5xx-page", "429-page", "timeout-page", "stall-mid-body-page", "truncated-then-dropped", "drip-feed-page",
         "second-index", "metadata-5xx-stall", "metadata-truncated"],
)
def test_transient_faults_are_retried_and_give_the_same_plan(served: Served, path: str, faults) -> None:
    served.server.add_fault(path, *faults)
    # One retry more than there are faults: a loaded machine may add a spurious timeout.
    result, before = recompile(served, env={"PLANNER_HTTP_RETRIES": str(len(faults) + 1), **STALL})
    assert_recovered(served, result, before)
    answered = [r for r in served.server.requests(path)]
    assert [r.fault for r in answered[: len(faults)]] == [str(f) for f in faults]
    assert answered[len(faults)].fault is None and answered[len(faults)].status == 200


def test_metadata_stall_with_cache_retried_in_parallel_fetch(served: Served) -> None:
    """Several metadata files stall at once (parallel workers); each is retried on its own."""
    served.server.add_fault(r"/pypi/files/.*\.metadata", "timeout", "timeout")
    result = compile_cli(served.args(cache=False), STALL)
    assert result.exit_code == 0, result.output
    assert sorted(snapshot(served.output)) == OUTPUT_FILES


# -- persistent faults: one clear error, outputs untouched ---------------------------------------
@pytest.mark.parametrize(
    "faults, problem",
    [
        ((503, 503, 503), "HTTP 503, after 3 attempts"),
        (("timeout",) * 3, "timed out, after 3 attempts"),
        (("stall-body",) * 3, "timed out, after 3 attempts"),
        (("truncate",) * 3, "connection failed: the server closed the connection before a complete answer, after 3 attempts"),
        (("drop",) * 3, "connection failed: the server closed the connection before a complete answer, after 3 attempts"),
        (("drip",) * 3, "too slow (the response took more than 0.8 s), after 3 attempts"),
    ],
    ids=["503", "timeout", "stall-mid-body", "truncated", "dropped", "drip-feed"],
)
def test_persistent_faults_give_one_error_naming_index_and_url(served: Served, faults, problem: str) -> None:
    served.server.add_fault(ALPHA_PAGE, *faults)
    result, before = recompile(served, env={"PLANNER_HTTP_TIMEOUT": "0.2"} if "drip" in faults else STALL)
    assert_one_clear_error(result, "index 'pypi'", problem, served.server.url("pypi") + "/alpha/", "fix:")
    assert_untouched(served, before)


@pytest.mark.parametrize(
    "fault, json_pages, problem",
    [
        ("garbage", True, "malformed index page: the page is not valid JSON"),
        ("cut", True, "malformed index page: the page is not valid JSON"),
        ("cut", False, "malformed index page: the page ends inside a link"),
        ("wrong-type", True, "unexpected content type 'application/octet-stream' for an index page"),
    ],
    ids=["garbage-json", "truncated-json", "truncated-html", "wrong-content-type"],
)
def test_malformed_pages_are_rejected(served: Served, fault: str, json_pages: bool, problem: str) -> None:
    served.server.json = json_pages
    served.server.add_fault(ALPHA_PAGE, fault)
    result, before = recompile(served)
    assert_one_clear_error(result, "index 'pypi'", problem, "/pypi/simple/alpha/",
                           "check that the URL points at a PEP 503/691 simple index")
    assert_untouched(served, before)


def test_html_pages_give_the_same_plan(served: Served) -> None:
    def chosen(plan: bytes) -> list:
        return [[(p["name"], p["version"], p["artifact"]["filename"], p["artifact"]["sha256"]) for p in t["packages"]]
                for t in json.loads(plan)["targets"]]

    before = snapshot(served.output)
    served.server.json = False
    result = compile_cli(served.args(cache=False))
    assert result.exit_code == 0, result.output
    # HTML pages carry no sizes or upload times, so only those fields of the lock may differ.
    assert chosen(snapshot(served.output)["plan.json"]) == chosen(before["plan.json"])


def test_metadata_file_that_does_not_match_its_hash(served: Served) -> None:
    served.server.add_fault(ALPHA_METADATA, "corrupt")
    result, before = recompile(served)
    assert_one_clear_error(result, "index 'pypi'", "metadata file of alpha-2.0-py3-none-any.whl does not match its listed hash",
                           ALPHA_METADATA, "the index serves altered metadata")
    assert_untouched(served, before)


def test_artifact_that_does_not_match_its_sha256_in_a_full_download(served: Served) -> None:
    served.server.pep658 = False
    served.server.ranges = False  # metadata only by downloading the whole wheel
    served.server.add_fault(ALPHA_WHEEL, "corrupt", "corrupt")  # the range probe, then the download
    result, before = recompile(served)
    assert_one_clear_error(result, "index 'pypi'", "sha256 mismatch: the index lists", ALPHA_WHEEL,
                           "the index or a proxy serves altered files")
    assert_untouched(served, before)


def test_altered_metadata_member_read_by_ranges_is_not_trusted(served: Served) -> None:
    """The served wheel differs from its listed sha256 inside its METADATA member. Range reads
    cannot hash the whole file, but the member's CRC-32 fails, and the full download that
    follows is verified against the sha256: one clear error, no plan."""
    served.server.pep658 = False
    wheel = served.server.roots["pypi"] / "files" / Path(ALPHA_WHEEL).name
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("alpha-2.0.dist-info/METADATA")
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0x55
    wheel.write_bytes(bytes(data))
    result, before = recompile(served)
    assert_one_clear_error(result, "index 'pypi'", "sha256 mismatch", ALPHA_WHEEL)
    assert_untouched(served, before)
    assert [r.headers.get("range") for r in served.server.requests(ALPHA_WHEEL)][0] == "bytes=-65536"


def test_redirect_loop(served: Served) -> None:
    served.server.add_fault(ALPHA_PAGE, "redirect-loop")
    result, before = recompile(served)
    assert_one_clear_error(result, "index 'pypi'", "too many redirects (a redirect loop?)", "/pypi/simple/alpha/")
    assert_untouched(served, before)
    assert served.server.count("redirect-loop") <= 7  # httpx stops after max_redirects


def test_redirect_to_a_local_file_is_not_followed(served: Served) -> None:
    served.server.add_fault(ALPHA_PAGE, "redirect-to:file:///etc/passwd")
    result, before = recompile(served)
    assert_one_clear_error(result, "index 'pypi': the server redirects", "/etc/passwd, not followed: "
                           "not an http or https URL", "/pypi/simple/alpha/")
    assert_untouched(served, before)
    assert served.server.count(ALPHA_PAGE) == 1


@pytest.mark.parametrize("fault", ["huge", "huge-declared"])
def test_enormous_page_hits_the_cap(served: Served, fault: str) -> None:
    served.server.huge_bytes = 4 * 1024 * 1024
    served.server.add_fault(ALPHA_PAGE, fault)
    result, before = recompile(served, env={"PLANNER_HTTP_MAX_PAGE_MB": "1"})
    expected = "response of 4 MiB exceeds the 1 MiB cap" if fault == "huge-declared" else "response exceeds the 1 MiB cap"
    assert_one_clear_error(result, "index 'pypi'", expected, "/pypi/simple/alpha/", "PLANNER_HTTP_MAX_PAGE_MB")
    assert_untouched(served, before)
    _wait_for(lambda: served.server.count(ALPHA_PAGE) > 0, 5)  # "huge" is logged when the server stops
    assert served.server.count(ALPHA_PAGE) == 1  # a cap is not a transient fault


def test_enormous_page_hits_the_default_cap(served: Served) -> None:
    served.server.huge_bytes = 80 * 1024 * 1024
    served.server.add_fault(ALPHA_PAGE, "huge")
    result, before = recompile(served)
    assert_one_clear_error(result, "index 'pypi'", "response exceeds the 64 MiB cap")
    assert_untouched(served, before)
    _wait_for(lambda: served.server.count(ALPHA_PAGE) > 0, 5)
    assert served.server.bytes_sent(ALPHA_PAGE) < 80 * 1024 * 1024  # planner hung up early


@pytest.mark.parametrize("status", [401, 403])
def test_access_denied_on_one_of_two_indexes(served: Served, status: int) -> None:
    served.server.add_fault(ENGINE_PAGE, status)
    result, before = recompile(served)
    assert_one_clear_error(result, f"index 'special': access denied (HTTP {status})", ENGINE_PAGE,
                           "PLANNER_INDEX_SPECIAL_USERNAME / PLANNER_INDEX_SPECIAL_PASSWORD")
    assert_untouched(served, before)
    assert served.server.count(ENGINE_PAGE) == 1  # not retried


def test_missing_artifact_behind_a_listed_file(served: Served) -> None:
    """The page lists the wheel but the server has neither its metadata file nor the file."""
    served.server.pep658 = False
    served.server.add_fault(ALPHA_WHEEL, 404, 404)
    result, before = recompile(served)
    assert_one_clear_error(result, "index 'pypi'", "not found (HTTP 404)", ALPHA_WHEEL)
    assert_untouched(served, before)


@pytest.mark.parametrize("where", ["env", "userinfo", "netrc"])
def test_redirect_to_another_host_drops_credentials(tmp_path: Path, where: str) -> None:
    """The index (which needs credentials) redirects a page to another host: that host must never
    see them, however they were given."""
    user, password = "alice", f"canary-{where}-pw"
    with served_project(tmp_path, compiled=False) as served, IndexServer(served.server.roots) as other:
        served.server.require_auth = (user, password)
        elsewhere = f"http://localhost:{other.port}/pypi/simple/alpha/"
        served.server.add_fault(ALPHA_PAGE, f"redirect-to:{elsewhere}")
        env: dict[str, str] = {}
        default_index = served.server.url("pypi")
        if where == "env":
            for name in ("PYPI", "SPECIAL"):
                env[f"PLANNER_INDEX_{name}_USERNAME"], env[f"PLANNER_INDEX_{name}_PASSWORD"] = user, password
        elif where == "userinfo":
            default_index = served.server.url("pypi", with_auth=True)
            pyproject = served.project / "pyproject.toml"
            pyproject.write_text(pyproject.read_text().replace(served.server.url("special"),
                                                               served.server.url("special", with_auth=True)))
        else:
            netrc = tmp_path / "netrc"
            netrc.write_text(f"machine 127.0.0.1 login {user} password {password}\n")
            netrc.chmod(0o600)
            env["NETRC"] = str(netrc)
        result = compile_cli(["compile", str(served.project), "--default-index", default_index, "--no-cache",
                              "-o", str(tmp_path / "out")], env)
        assert result.exit_code == 0, result.output
        assert served.server.requests(ALPHA_PAGE)[0].headers.get("authorization", "").startswith("Basic ")
        seen = other.log
        assert seen and seen[0].path == "/pypi/simple/alpha/"
        for record in seen:
            assert "authorization" not in record.headers, record
            assert password not in repr(record)
        assert password not in result.output


# -- kill -9 ---------------------------------------------------------------------------------
def _wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob(".*"))


def test_sigkill_while_fetching_leaves_the_previous_outputs(served: Served) -> None:
    served.server.stall_seconds = 30
    served.server.add_fault("/pypi/simple/booster/", "timeout")
    before = snapshot(served.output)
    process = subprocess.Popen(
        [sys.executable, "-m", "planner", *served.args(cache=False)], cwd=served.project,
        env=process_env({"PLANNER_HTTP_TIMEOUT": "60"}), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: served.server.count("/pypi/simple/booster/") > 0 or process.poll() is not None)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert snapshot(served.output) == before
    assert _temp_files(served.output) == []


# Run planner in a process that SIGKILLs itself at its N-th rename of a staged output file: a
# deterministic stand-in for a kill that lands while outputs are being committed.
_KILL_AT_RENAME = """
import os, signal, sys
from planner.cli.app import main
output, kill_at = sys.argv[1], int(sys.argv[2])
real_replace, renames = os.replace, [0]
def replace(src, dst, *args, **kwargs):
    # Outputs are renamed within their folder's descriptor (planner/generate/files.py).
    if str(dst).startswith(output) or kwargs.get("dst_dir_fd") is not None:
        if renames[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        renames[0] += 1
    return real_replace(src, dst, *args, **kwargs)
os.replace = replace
sys.argv = ["planner", *sys.argv[3:]]
main()
"""


def _compile_killed_at_rename(served: Served, kill_at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _KILL_AT_RENAME, str(served.output), str(kill_at), *served.args()],
        cwd=served.project, env=process_env(), capture_output=True, text=True, timeout=120)


def _change_the_plan(served: Served) -> None:
    pyproject = served.project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = ["alpha"]', 'dependencies = ["alpha<2"]'))


def test_sigkill_before_the_first_rename_keeps_the_previous_outputs(served: Served) -> None:
    _change_the_plan(served)
    before = snapshot(served.output)
    killed = _compile_killed_at_rename(served, 0)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    after = snapshot(served.output)
    assert {name: data for name, data in after.items() if name in before} == before


def test_temp_files_of_a_killed_run_are_removed_by_the_next(served: Served) -> None:
    """Nothing can clean up after SIGKILL itself; the next compile removes what it left."""
    _change_the_plan(served)
    killed = _compile_killed_at_rename(served, 0)
    assert killed.returncode == -signal.SIGKILL
    assert _temp_files(served.output)  # staged files, never renamed
    assert compile_cli(served.args()).exit_code == 0
    assert _temp_files(served.output) == []


def test_sigkill_between_renames_is_caught_by_check_and_repaired_by_compile(served: Served) -> None:
    _change_the_plan(served)
    killed = _compile_killed_at_rename(served, 3)
    assert killed.returncode == -signal.SIGKILL
    check = compile_cli(served.args("--check"))
    assert check.exit_code == 1, check.output  # a half-committed output set is never "current"
    again = compile_cli(served.args())
    assert again.exit_code == 0, again.output
    assert compile_cli(served.args("--check")).exit_code == 0
    assert _temp_files(served.output) == []  # the repairing compile removed the killed run's files


def test_network_settings_from_the_environment_are_validated(served: Served) -> None:
    for name, value in [("PLANNER_HTTP_TIMEOUT", "soon"), ("PLANNER_HTTP_RETRIES", "-1"),
                        ("PLANNER_HTTP_RETRIES", "1.5"), ("PLANNER_HTTP_MAX_PAGE_MB", "0")]:
        result = compile_cli(served.args(cache=False), {name: value})
        assert_one_clear_error(result, f"environment variable {name}={value!r}", f"set {name} to")


def test_compile_process_reports_fetch_errors_without_traceback(served: Served) -> None:
    served.server.add_fault(ALPHA_PAGE, 502, 502, 502)
    before = snapshot(served.output)
    completed = compile_process(served.args(cache=False), cwd=served.project)
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr and completed.stderr.count("error:") == 1
    assert "index 'pypi': HTTP 502, after 3 attempts" in completed.stderr
    assert snapshot(served.output) == before
    assert os.listdir(served.output)


def test_folder_index_with_a_missing_file(served: Served, tmp_path: Path) -> None:
    """A local folder index whose page lists a file the folder lacks: a clear error, not a crash."""
    import shutil

    folder = tmp_path / "folder" / "pypi"
    shutil.copytree(served.server.roots["pypi"], folder / "simple", ignore=shutil.ignore_patterns("files"))
    shutil.copytree(served.server.roots["pypi"] / "files", folder / "files")
    (folder / "files" / "alpha-2.0-py3-none-any.whl.metadata").unlink()
    (folder / "files" / "alpha-2.0-py3-none-any.whl").unlink()
    before = snapshot(served.output)
    result = compile_cli(["compile", str(served.project), "--default-index", str(folder / "simple"), "--no-cache"])
    assert_one_clear_error(result, "index 'pypi': not found (no such file)", "alpha-2.0-py3-none-any.whl")
    assert snapshot(served.output) == before
