"""`Target.evaluate` answers a marker once per extra it names; that must equal packaging's own
evaluation for every requested set of extras."""

from __future__ import annotations

import itertools

from packaging.markers import Marker

from planner.targets.model import PythonVersion, _MarkerAnswers, _shared_answers, marker_environment
from planner.targets.platforms import PLATFORMS

MARKERS = [
    'extra == "foo"',
    'extra == "Foo_Bar" and python_version < "3.12"',
    'python_version >= "3.8"',
    'extra != "foo"',
    '"foo" == extra',
    'extra == "a" or extra == "b"',
    'extra in "a b"',  # not a plain comparison: evaluated per extra
    'sys_platform == "win32" and extra == "x"',
    '(extra == "dev") or (extra == "test" and platform_machine == "x86_64")',
    'platform_machine == "extra"',
]
EXTRAS = ["foo", "foo-bar", "Foo_Bar", "a", "b", "x", "dev", "test", "zzz"]


def test_answers_equal_packaging_for_every_extra_set() -> None:
    for platform in ("linux-x86_64", "windows-x86_64"):
        environment = marker_environment(PLATFORMS[platform], PythonVersion.parse("3.11"))
        for text in MARKERS:
            marker = Marker(text)
            answers = _MarkerAnswers(marker, environment)
            for size in range(3):
                for combo in itertools.combinations(EXTRAS, size):
                    extras = frozenset(combo)
                    expected = (marker.evaluate({**environment, "extra": ""}) if not extras else
                                any(marker.evaluate({**environment, "extra": e}) for e in sorted(extras)))
                    assert answers.holds(extras) == expected, (platform, text, extras)


def test_answers_shared_across_targets_equal_each_targets_own() -> None:
    """Targets agreeing on the variables a marker names share its answers; every target still
    gets packaging's own answer for its environment (markers naming one, several or no variable,
    a variable's name inside a quoted value, and every platform and Python)."""
    texts = MARKERS + [
        'python_version < "3.12"', 'python_full_version >= "3.11.1"', 'implementation_version >= "3.10"',
        'os_name == "nt" or platform_system == "Darwin"', 'platform_release == ""',
        'python_version >= "3.10" and sys_platform == "linux" and extra == "gpu"',
        'platform_machine == "python_version"', 'implementation_name == "cpython"',
    ]
    environments = [marker_environment(PLATFORMS[platform], PythonVersion.parse(python))
                    for python in ("3.9", "3.10", "3.11", "3.12", "3.13") for platform in sorted(PLATFORMS)]
    for text in texts:
        for environment in environments:  # a new Marker object per target, as each target parses its own
            marker = Marker(text)
            answers = _shared_answers(marker, environment)
            for extra in ("", "gpu", "foo", "x", "zzz"):
                assert answers.value(extra) == marker.evaluate({**environment, "extra": extra}), (text, environment)
