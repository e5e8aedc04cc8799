"""README's first command compiles the bundled example with no network."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

from tests.conftest import REPO


def test_readme_first_command_compiles_the_bundled_example(tmp_path) -> None:
    text = (REPO / "README.md").read_text()
    first = text.split("```sh\n", 1)[1].splitlines()[0]
    install, _, command = first.partition(" && ")
    assert install.startswith("pip install") and command.startswith("planner compile examples/seed-9310")
    args = shlex.split(command)[1:] + ["-o", str(tmp_path), "--no-cache"]
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(tmp_path),
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}  # no network
    result = subprocess.run([sys.executable, "-m", "planner", *args], cwd=REPO, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    plan = json.loads((tmp_path / "plan.json").read_text())
    torch = {t["target"]["name"]: next(p for p in t["packages"] if p["name"] == "torch")["version"]
             for t in plan["targets"]}
    assert torch == {"linux-x86_64-cpu": "2.5.1+cpu", "linux-x86_64-gpu": "2.5.1",
                     "macos-arm64-cpu": "2.5.1", "macos-arm64-gpu": "2.5.1"}
    assert "differences between targets" in result.stdout
