from __future__ import annotations

import tomllib

from planner.project.toml_positions import TomlPositions

DOC = '''\
# comment
[project]
name = "x"
dependencies = [
  "a>=1",  # trailing comment, with ] and , inside
  """b""",
  'c; sys_platform == "linux"',
]
optional-dependencies.gpu = ["torch"]

[tool.uv]
conflicts = [
  [
    { extra = "cpu" },
    { extra = "gpu" },
  ],
]
environments = ["sys_platform == 'linux'"]

[[tool.uv.index]]
name = "one"
url = "https://a/simple"

[[tool.uv.index]]
name = "two"
url = """
https://b/simple"""
explicit = true

[tool.uv.sources]
torch = { index = "one", marker = "python_version < '3.12'" }
"jax.x" = [{ index = "two" }]

[[tool.uv.sources.tv]]
index = "one"

[[tool.uv.sources.tv]]
index = "two"
[tool.uv.sources.tv.sub]
k = 1
'''


def test_doc_is_valid_toml() -> None:
    tomllib.loads(DOC)


def test_lines_of_keys_values_and_elements() -> None:
    positions = TomlPositions(DOC)
    expected = {
        ("project",): 2,
        ("project", "name"): 3,
        ("project", "dependencies"): 4,
        ("project", "dependencies", 0): 5,
        ("project", "dependencies", 1): 6,
        ("project", "dependencies", 2): 7,
        ("project", "optional-dependencies", "gpu"): 9,
        ("project", "optional-dependencies", "gpu", 0): 9,
        ("tool", "uv", "conflicts", 0, 0, "extra"): 14,
        ("tool", "uv", "conflicts", 0, 1): 15,
        ("tool", "uv", "environments", 0): 18,
        ("tool", "uv", "index", 0): 20,
        ("tool", "uv", "index", 0, "name"): 21,
        ("tool", "uv", "index", 1, "name"): 25,
        ("tool", "uv", "index", 1, "explicit"): 28,
        ("tool", "uv", "sources", "torch", "marker"): 31,
        ("tool", "uv", "sources", "jax.x", 0, "index"): 32,
        ("tool", "uv", "sources", "tv", 0): 34,
        ("tool", "uv", "sources", "tv", 1, "index"): 38,
        ("tool", "uv", "sources", "tv", 1, "sub", "k"): 40,
    }
    for path, line in expected.items():
        assert positions.line_of(path) == line, path


def test_unknown_paths_fall_back_to_the_closest_ancestor() -> None:
    positions = TomlPositions(DOC)
    assert positions.line_of(("tool", "uv", "index", 1, "missing")) == 24
    assert positions.line_of(("nothing",)) is None
