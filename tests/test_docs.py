"""README and docs/ name only what exists: every `planner` command and option README.md names is
in that command's `--help` (asked of the real entry point), and every link or path to a
repository file in README.md and docs/*.md resolves."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

from tests.conftest import REPO

PLANNER = str(Path(sys.executable).parent / "planner")
README = (REPO / "README.md").read_text()
# Options README names that belong to the installers reading planner's outputs, not to planner.
OTHER_TOOLS = {"--no-binary", "--index-url", "--hash"}


@cache
def help_text(command: str) -> str:
    result = subprocess.run([PLANNER, *([command] if command else []), "--help"], capture_output=True, text=True,
                            check=False, env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "NO_COLOR": "1"})
    assert result.returncode == 0, (command, result.stderr)
    return result.stdout


def commands() -> list[str]:
    listed = help_text("").split("Commands:\n", 1)[1]
    return [line.split()[0] for line in listed.splitlines() if line.strip()]


def options_in(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(-[A-Za-z]|--[a-z][a-z0-9-]*)(?![\w-])", text))


def planner_command_lines() -> list[str]:
    """`planner ...` in inline code and on the lines of shell blocks (comments and `&&` split off)."""
    found = [" ".join(span.split()) for span in re.findall(r"`(planner [^`]+)`", README)]
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            for part in line.lstrip("$ ").split("&&"):
                part = part.split(" #", 1)[0].strip()
                if part.startswith("planner "):
                    found.append(part)
    return found


def test_every_planner_command_and_option_readme_names_exists() -> None:
    known = commands()
    lines = planner_command_lines()
    assert len(lines) > 10
    for line in lines:
        words = shlex.split(line.replace("[", " ").replace("]", " ").replace("|", " "))
        command = next((w for w in words[1:] if not w.startswith("-")), "")
        assert command in known, line
        shown = help_text(command) + help_text("")  # shared options may come before the command
        for word in words[1:]:
            option = word.split("=", 1)[0]
            if option.startswith("-"):
                assert option in options_in(shown), (line, option)


def test_every_option_readme_names_is_an_option_of_some_command() -> None:
    everything = set().union(*(options_in(help_text(command)) for command in ["", *commands()]))
    named = {re.sub(r"^-(\w)\1+$", r"-\1", option.split("=", 1)[0])  # -vv is -v repeated
             for span in re.findall(r"`(-[^`]+)`", README) for option in span.split()[0].split("/")}
    assert {"--show-plan", "-q", "--offline", "--index"} <= named
    assert named - OTHER_TOOLS - everything == set()


def test_every_link_and_path_in_readme_and_docs_resolves() -> None:
    documents = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    checked = 0
    for document in documents:
        text = document.read_text()
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            assert (document.parent / target).exists(), f"{document.name}: link to {target}"
            checked += 1
        for path in re.findall(r"(?<![\w./-])((?:docs|encodings|benchmarks|examples|planner|tests)/[\w./-]*\w)", text):
            assert (REPO / path).exists() or (document.parent / path).exists(), f"{document.name}: names {path}"
            checked += 1
    assert checked > 50
