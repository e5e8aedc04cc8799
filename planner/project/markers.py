"""Markers that parse but cannot be evaluated.

`packaging` accepts some markers it then fails to evaluate: a compatible-release comparison whose
right side is not a version with two parts (`sys_platform ~= 'linux'`, `python_version ~= '3'`)
raises `UndefinedComparison`, and the lock-file-only variables `extras` and `dependency_groups`
(PEP 751) are missing from a requirement's environment. Planner evaluates every marker on every
target, so such a marker is rejected where it is read — in the pyproject (an input error) or in
an index's metadata (that artifact is unusable) — instead of failing in the middle of a plan.
"""

from __future__ import annotations

from functools import lru_cache

from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName

LOCK_ONLY_VARIABLES = ("extras", "dependency_groups")


@lru_cache(maxsize=1)
def _environments() -> tuple[dict[str, str], ...]:
    # Every platform planner knows; the Python version does not change whether a marker can be
    # evaluated (its version variables are always valid versions).
    from planner.targets.model import PythonVersion, marker_environment
    from planner.targets.platforms import PLATFORMS

    return tuple({**marker_environment(platform, PythonVersion(3, 11)), "extra": ""} for platform in PLATFORMS.values())


def marker_problem(marker: Marker) -> str | None:
    """Why `marker` cannot be evaluated on some target, or None when it always can."""
    for environment in _environments():
        try:
            marker.evaluate(environment)
        except UndefinedComparison:
            return ("a '~=' comparison needs a version with at least two parts on its right "
                    "(e.g. python_version ~= '3.11'); for other values use == or !=")
        except (KeyError, UndefinedEnvironmentName) as exc:
            name = exc.args[0] if exc.args else "?"
            if name in LOCK_ONLY_VARIABLES:
                return f"'{name}' is a lock-file marker variable (PEP 751); requirements use 'extra'"
            return f"the marker variable {name!r} is not defined"
        except (TypeError, ValueError) as exc:  # anything else packaging may raise while comparing
            return f"the marker cannot be evaluated ({exc})"
    return None
