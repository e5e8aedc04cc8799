"""benchmarks/agreement.py reads uv.lock per target: forks by resolution-markers, dependency
markers, extras and uv's conflict markers decide which versions a target gets."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("agreement", REPO / "benchmarks" / "agreement.py")
agreement = importlib.util.module_from_spec(_spec)
sys.modules["agreement"] = agreement
_spec.loader.exec_module(agreement)

UV_LOCK = '''
version = 1
requires-python = ">=3.11"
resolution-markers = ["python_full_version >= '3.13'", "python_full_version < '3.13'"]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "numpy", version = "1.26.4", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version < '3.13'" },
    { name = "numpy", version = "2.3.0", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version >= '3.13'" },
    { name = "pywin32", marker = "sys_platform == 'win32'" },
    { name = "httpx", extra = ["http2"] },
]

[package.optional-dependencies]
cpu = [{ name = "torch", version = "2.5.1+cpu", source = { registry = "https://download.pytorch.org/whl/cpu" }, marker = "extra == 'extra-3-app-cpu'" }]
gpu = [{ name = "torch", version = "2.5.1", source = { registry = "https://pypi.org/simple" }, marker = "extra == 'extra-3-app-gpu'" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "numpy"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version < '3.13'"]

[[package]]
name = "numpy"
version = "2.3.0"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version >= '3.13'"]

[[package]]
name = "pywin32"
version = "311"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "httpx"
version = "0.28.1"
source = { registry = "https://pypi.org/simple" }

[package.optional-dependencies]
http2 = [{ name = "h2" }]

[[package]]
name = "h2"
version = "4.3.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "torch"
version = "2.5.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "torch"
version = "2.5.1+cpu"
source = { registry = "https://download.pytorch.org/whl/cpu" }

[[package]]
name = "pytest"
version = "8.4.0"
source = { registry = "https://pypi.org/simple" }
'''


def _target(python: str, extras: list[str], groups: list[str], packages: dict[str, str]) -> dict:
    markers = {"implementation_name": "cpython", "implementation_version": f"{python}.0", "os_name": "posix",
               "platform_machine": "x86_64", "platform_python_implementation": "CPython", "platform_release": "",
               "platform_system": "Linux", "platform_version": "", "python_full_version": f"{python}.0",
               "python_version": python, "sys_platform": "linux"}
    return {"target": {"name": f"t{python}", "markers": markers, "packages": ["app"], "extras": extras,
                       "groups": groups},
            "packages": [{"name": n, "version": v} for n, v in packages.items()] + [{"name": "app", "version": "0.1.0"}]}


def test_a_target_gets_its_forks_versions_its_extras_and_groups_and_nothing_its_markers_exclude(tmp_path) -> None:
    (tmp_path / "uv.lock").write_text(UV_LOCK)
    lock = agreement.UvLock.read(tmp_path / "uv.lock")

    result = agreement.compare_target(_target("3.11", ["cpu"], ["dev"], {
        "numpy": "1.26.4", "httpx": "0.28.1", "h2": "4.3.0", "torch": "2.5.1+cpu", "pytest": "8.4.0"}), lock)
    assert (result.compared, result.agreeing) == (5, 5)
    assert result.only_uv == [] and result.differing == [] and result.agreeing_elsewhere == []

    result = agreement.compare_target(_target("3.13", ["gpu"], [], {
        "numpy": "1.26.4", "httpx": "0.28.1", "torch": "2.5.1+cpu", "six": "1.17.0"}), lock)
    assert result.compared == 3 and result.agreeing == 1
    assert result.agreeing_elsewhere == [
        "numpy: planner 1.26.4, uv 2.3.0 here, 1.26.4 in another fork",
        "torch: planner 2.5.1+cpu, uv 2.5.1 here, 2.5.1+cpu in another fork"]
    assert result.only_planner == ["six 1.17.0"]
    assert result.only_uv == ["h2 4.3.0"]  # httpx[http2] is installed; pywin32 (win32) and pytest (no group) are not
