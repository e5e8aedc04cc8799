"""The `planner` command's entry point (`python -m planner` too).

A compile whose inputs did not change since the previous compile with the same command line is
answered first (planner/cli/early.py), before the command line library, the project loader and
the solver load; everything else runs the full command (planner/cli/app.py).
"""

from __future__ import annotations

import sys


def main() -> None:
    from planner.cli.early import answer_early

    if answer_early(sys.argv[1:]):
        sys.exit(0)
    from planner.cli.app import main as full_command

    full_command()
