"""`Target.evaluate` answers a marker once per extra it names; that must equal packaging's own
evaluation for every requested set of extras."""

from __future__ import annotations

import itertools

from packaging.markers import Marker

from planner.targets.model import PythonVersion, _MarkerAnswers, marker_environment
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
