"""Property-based fuzzing of everything planner reads, and hostile index data end to end.

Properties:
- the pyproject loader (TOML documents built from planner's and uv's keys, with wrong types and
  near-valid values — markers, specifiers, versions, URLs): every document either loads into
  targets and routes, or fails with one `InputError` that has a message; never another exception;
- requirement and marker strings anywhere a pyproject holds them, evaluated on every target;
- index pages (random JSON documents, PEP 691 pages with random field values, random HTML built
  from anchors) and core metadata: parsed, or rejected with `IndexFormatError` / `MetadataError`;
  every parsed page also goes through candidate selection for a target.

Then hostile index data through `planner compile`: file names with path separators or '..',
absurd versions, a dependency list of thousands of entries, a dependency cycle, metadata that
claims another project, markers that cannot be evaluated. Each compiles to a plan that does not
use the bad data, or stops with one clear error.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.errors import InputError
from planner.index.candidates import select_candidates
from planner.index.metadata import MetadataError, parse_core_metadata
from planner.index.simple import IndexFormatError, parse_html_page, parse_json_page
from planner.project.loader import load_project
from planner.project.model import IndexStrategy
from planner.targets.resolve import resolve_targets
from planner.targets.routing import routing_table
from tests.fixtures.hostile import compile_cli, listed_files, served_project, snapshot
from tests.fixtures.simple_index import FixtureFile, write_index
from tests.fixtures.wheels import build_wheel

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- value strategies ------------------------------------------------------------------------------
NAMES = ["torch", "cpu", "gpu", "dev", "test", "pytorch-cpu", "pypi", "numpy", "Torch_Vision", "a.b", "-x", ""]
VERSIONS = ["3.11", "3", "3.11.9", "3.14", "2.28", "13.0", "11.0", "2.5", "99.99", "1!2.0", "2.0.post1.dev3", "3.11.*", "x"]
SPECIFIERS = [">=3.11", "==2.5.1", "~=1", "~=3.11", "<<3", ">=3.8,<4", "!=3.12.*", "===foo", ">=", "== 2.5.1 +cpu", ""]
PLATFORM_VALUES = ["linux-x86_64", "linux-aarch64", "macos-arm64", "macos-x86_64", "windows-x86_64", "linux", "Linux-X86_64"]
ACCELERATORS = ["cpu", "cuda12.4", "cuda", "cuda99", "rocm6.2", "xpu", "mps", "tpu", ""]
URLS = ["https://x.example.com/simple", "http://127.0.0.1:1/simple", "file:///tmp/nowhere", "./local", "ftp://x",
        "http://[::1/simple", "https://u:p@h.example.com:99999/simple", "https://", "mirror", ""]
MARKER_VARIABLES = ["python_version", "python_full_version", "sys_platform", "platform_system", "platform_machine",
                    "os_name", "implementation_name", "platform_release", "extra", "extras", "dependency_groups",
                    "platform_sytem"]
MARKER_OPS = ["==", "!=", "<", ">=", "~=", "===", "in", "not in", "="]
MARKER_VALUES = ["'3.11'", "'3'", "'linux'", "'darwin'", "'x86_64'", "'cpu'", "'3.11.*'", "'win32'", "3.11", "''"]


@st.composite
def marker_text(draw) -> str:
    """Markers near the grammar: mostly valid, sometimes one token off."""
    atoms = []
    for _ in range(draw(st.integers(1, 3))):
        left, right = draw(st.sampled_from(MARKER_VARIABLES)), draw(st.sampled_from(MARKER_VALUES))
        if draw(st.booleans()):
            left, right = right, left
        atoms.append(f"{left} {draw(st.sampled_from(MARKER_OPS))} {right}")
    joined = atoms[0]
    for atom in atoms[1:]:
        joined = f"{joined} {draw(st.sampled_from(['and', 'or', 'and (', 'or'] ))} {atom}"
    if draw(st.integers(0, 9)) == 0:
        joined = f"({joined}"
    return joined


@st.composite
def requirement_text(draw) -> str:
    name = draw(st.sampled_from(NAMES))
    extras = draw(st.sampled_from(["", "[cpu]", "[cpu,gpu]", "[", "[cu da]"]))
    spec = draw(st.sampled_from(SPECIFIERS))
    marker = draw(st.one_of(st.just(""), marker_text().map(lambda m: f"; {m}")))
    url = draw(st.sampled_from(["", "", "", " @ https://u:p@h/x.whl", " @ file:///x"]))
    return f"{name}{extras}{spec}{url}{marker}"


TEXT = st.one_of(
    st.sampled_from(NAMES + VERSIONS + SPECIFIERS + PLATFORM_VALUES + ACCELERATORS + URLS),
    marker_text(),
    requirement_text(),
    st.text(max_size=20),
)
SCALAR = st.one_of(TEXT, st.integers(-2, 2**70), st.floats(allow_nan=True), st.booleans())
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.sampled_from(NAMES + ["index", "extra"]), inner, max_size=3)),
                     max_leaves=6)

# Where a fuzzed value goes: key paths (ints index arrays) planner and uv define.
KEY_PATHS: list[tuple[str | int, ...]] = [
    ("project", "name"), ("project", "version"), ("project", "requires-python"), ("project", "dependencies"),
    ("project", "dependencies", 0), ("project", "optional-dependencies"), ("project", "optional-dependencies", "cpu"),
    ("project", "optional-dependencies", "cpu", 0), ("project", "dynamic"), ("project",),
    ("dependency-groups",), ("dependency-groups", "dev"), ("dependency-groups", "dev", 0),
    ("tool", "uv", "index"), ("tool", "uv", "index", 0, "name"), ("tool", "uv", "index", 0, "url"),
    ("tool", "uv", "index", 0, "explicit"), ("tool", "uv", "index", 0, "default"),
    ("tool", "uv", "sources"), ("tool", "uv", "sources", "torch"), ("tool", "uv", "sources", "torch", "index"),
    ("tool", "uv", "sources", "torch", "marker"), ("tool", "uv", "sources", "torch", "extra"),
    ("tool", "uv", "sources", "torch", "group"), ("tool", "uv", "conflicts"), ("tool", "uv", "conflicts", 0),
    ("tool", "uv", "index-strategy"), ("tool", "uv", "environments"), ("tool", "uv", "required-environments"),
    ("tool", "uv", "prerelease"), ("tool", "uv", "constraint-dependencies"), ("tool", "uv", "override-dependencies"),
    ("tool", "uv", "dev-dependencies"), ("tool", "uv", "index-url"), ("tool", "uv", "extra-index-url"),
    ("tool", "uv", "default-groups"), ("tool", "uv"), ("tool", "planner"), ("tool", "planner", "alignment"),
    ("tool", "planner", "targets"), ("tool", "planner", "targets", "gpu-box"),
    *[("tool", "planner", "targets", "gpu-box", key) for key in
      ("platform", "python", "accelerator", "extras", "groups", "manylinux", "macos", "docker", "bogus")],
    ("tool", "planner", "targets", "gpu-box", "docker", "base-image"),
    ("tool", "planner", "targets", "gpu-box", "docker", "debian-suite"),
]


def base_document() -> dict[str, Any]:
    """A valid project using most keys, which the fuzzer then damages."""
    return {
        "project": {
            "name": "fuzzed", "version": "0.1.0", "requires-python": ">=3.11", "dependencies": ["numpy>=1.26"],
            "optional-dependencies": {"cpu": ["torch==2.5.1"], "gpu": ["torch==2.5.1"]},
        },
        "dependency-groups": {"dev": ["pytest"], "test": [{"include-group": "dev"}]},
        "tool": {
            "uv": {
                "conflicts": [[{"extra": "cpu"}, {"extra": "gpu"}]],
                "sources": {"torch": [{"index": "pytorch-cpu", "marker": "sys_platform == 'linux'", "extra": "cpu"}]},
                "index": [{"name": "pytorch-cpu", "url": "https://download.pytorch.org/whl/cpu", "explicit": True}],
                "environments": ["sys_platform == 'linux'", "sys_platform == 'darwin'"],
            },
            "planner": {"targets": {"gpu-box": {"platform": "linux-x86_64", "python": "3.11",
                                                "accelerator": "cuda12.4", "extras": ["gpu"]}}},
        },
    }


def set_path(document: Any, path: tuple[str | int, ...], value: Any) -> None:
    """Put `value` at `path`, creating or overwriting what is in the way (best effort)."""
    node = document
    for n, part in enumerate(path[:-1]):
        following = path[n + 1]
        if isinstance(part, int):
            if not isinstance(node, list):
                return
            if not node:
                node.append({} if isinstance(following, str) else [])
            node = node[min(part, len(node) - 1)]
        else:
            if not isinstance(node, dict):
                return
            child = node.get(part)
            if not isinstance(child, dict | list):
                child = {} if isinstance(following, str) else []
                node[part] = child
            node = child
    last = path[-1]
    if isinstance(last, int):
        if isinstance(node, list):
            if node:
                node[min(last, len(node) - 1)] = value
            else:
                node.append(value)
    elif isinstance(node, dict):
        node[last] = value


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -(2**63) <= value < 2**63 else json.dumps(str(value))
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string (\\uXXXX escapes are TOML too)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(document: dict[str, Any]) -> str:
    """Top-level keys as `key = <inline value>` lines (every TOML shape is reachable that way)."""
    return "".join(f"{json.dumps(key)} = {toml_value(value)}\n" for key, value in document.items())


def load_everything(folder: Path) -> None:
    project = load_project(folder / "pyproject.toml")
    resolved = resolve_targets(project)
    routing_table(project, resolved.targets)


@FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from(KEY_PATHS), VALUE), min_size=1, max_size=4))
def test_fuzzed_pyprojects_load_or_fail_with_one_input_error(edits) -> None:
    document = base_document()
    for path, value in edits:
        set_path(document, path, value)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "pyproject.toml").write_text(to_toml(document), encoding="utf-8", errors="surrogatepass")
        try:
            load_everything(Path(folder))
        except InputError as exc:
            assert exc.render().strip(), "an input error has a message"
            assert "pyproject.toml" in str(exc.location), exc.render()


@FUZZ
@given(markers=st.lists(marker_text(), min_size=1, max_size=3), requirements=st.lists(requirement_text(), max_size=3))
def test_markers_and_requirements_are_validated_where_read_and_then_evaluate(markers, requirements) -> None:
    document = base_document()
    document["tool"]["uv"]["sources"]["torch"][0]["marker"] = markers[0]
    document["tool"]["uv"]["environments"] = markers
    document["project"]["dependencies"] = requirements
    document["tool"]["uv"]["constraint-dependencies"] = requirements
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "pyproject.toml").write_text(to_toml(document), encoding="utf-8")
        try:
            load_everything(Path(folder))
        except InputError as exc:
            assert exc.render().strip()


@FUZZ
@given(text=st.text(max_size=300))
def test_arbitrary_text_as_pyproject(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "pyproject.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_everything(Path(folder))
        except InputError as exc:
            assert exc.render().strip()


# -- index pages and metadata ----------------------------------------------------------------------
PAGE_URL = "https://pkgs.example.com/simple/torch/"
FILENAMES = [
    "torch-2.5.1-cp311-cp311-manylinux_2_17_x86_64.whl", "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl",
    "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl", "torch-2.5.1.tar.gz", "torch-2.5.1.zip", "torch-1!2.0-py3-none-any.whl",
    "torch-99999999999999999999999.0-py3-none-any.whl", "torch-2.0-py3-none-any.whl.metadata", "../torch-2.0-py3-none-any.whl",
    "a/b/torch-2.0-py3-none-any.whl", "..", "", "torch-2.0-py3-none-any", "numpy-2.0-py3-none-any.whl",
    "torch-2.0-1-py3-none-any.whl", "torch-2.0-x-py3-none-any.whl", "torch-not.a.version-py3-none-any.whl",
    "torch-" + "1." * 300 + "0-py3-none-any.whl", "torch-2.0-py3-none-any.whl\x00.exe",
]
FIELD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**64), st.floats(), st.text(max_size=12),
                         st.sampled_from(SPECIFIERS + ["sha256=" + "a" * 64, "a" * 64, "zz"]),
                         st.dictionaries(st.sampled_from(["sha256", "md5", "SHA256", "blake2b"]),
                                         st.one_of(st.just("ab" * 32), st.text(max_size=8), st.integers()), max_size=2),
                         st.lists(st.integers(), max_size=2))
FILE_KEYS = ["filename", "url", "hashes", "requires-python", "yanked", "size", "upload-time", "core-metadata",
             "dist-info-metadata", "data-dist-info-metadata", "_planner-metadata"]


@st.composite
def json_file_entry(draw) -> Any:
    if draw(st.integers(0, 20)) == 0:
        return draw(FIELD_VALUES)
    name = draw(st.sampled_from(FILENAMES))
    entry: dict[str, Any] = {"filename": name, "url": draw(st.sampled_from(
        [name, f"../../files/{name}", f"https://u:secret@files.example.com/{name}#sha256={'ab' * 32}", "http://[::1/x", ""]))}
    for key in draw(st.lists(st.sampled_from(FILE_KEYS), max_size=4)):
        entry[key] = draw(FIELD_VALUES)
    return entry


@st.composite
def json_page(draw) -> bytes:
    if draw(st.integers(0, 10)) == 0:
        return json.dumps(draw(VALUE)).encode()
    document: dict[str, Any] = {"meta": draw(st.one_of(st.just({"api-version": "1.1"}), FIELD_VALUES,
                                                       st.sampled_from([{"api-version": "2.0"}, {"api-version": 1}]))),
                                "name": draw(st.one_of(st.just("torch"), FIELD_VALUES)),
                                "files": draw(st.one_of(st.lists(json_file_entry(), max_size=6), FIELD_VALUES))}
    if draw(st.booleans()):
        del document[draw(st.sampled_from(list(document)))]
    data = json.dumps(document, allow_nan=True).encode()
    cut = draw(st.integers(0, 12))
    return data[: len(data) * cut // 12] if cut < 12 and draw(st.booleans()) else data


@st.composite
def html_page(draw) -> bytes:
    parts = ["<!DOCTYPE html><html><head>"]
    if draw(st.booleans()):
        parts.append(f'<meta name="pypi:repository-version" content="{draw(st.sampled_from(["1.0", "1.1", "2.0", "x", ""]))}">')
    if draw(st.integers(0, 5)) == 0:
        parts.append(f'<base href="{draw(st.sampled_from(URLS))}">')
    parts.append("</head><body>")
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(FILENAMES))
        href = draw(st.sampled_from([name, f"../../files/{name}#sha256={'cd' * 32}", f"{name}#md5=zz", "http://[::1/x",
                                     f"https://u:secret@h/{name}", ""]))
        attrs = [f'href="{href}"']
        for attribute in draw(st.lists(st.sampled_from(["data-requires-python", "data-yanked", "data-core-metadata",
                                                         "data-dist-info-metadata", "data-planner-metadata"]), max_size=3)):
            attrs.append(f'{attribute}="{draw(st.sampled_from(SPECIFIERS + ["true", "sha256=" + "e" * 64, "&gt;=3.8"]))}"')
        parts.append(f"<a {' '.join(attrs)}>{name}</a><br/>")
    data = "".join(parts + ["</body></html>"]).encode()
    noise = draw(st.binary(max_size=8))
    cut = draw(st.integers(1, 12))
    return data[: len(data) * cut // 12] + noise


@pytest.fixture(scope="module")
def fuzz_targets():
    project = load_project(Path(__file__).resolve().parent.parent / "examples" / "seed-9310")
    return resolve_targets(project).targets


def _check_page(page, targets) -> None:
    for artifact in page.artifacts:
        assert "/" not in artifact.filename and not artifact.filename.startswith("..")
        assert "secret" not in artifact.url  # credentials on a page never reach an artifact
    for target in targets:
        for strategy in IndexStrategy:
            select_candidates([page], target, strategy)


@FUZZ
@given(data=json_page())
def test_json_pages_parse_or_are_rejected(data: bytes, fuzz_targets) -> None:
    try:
        page = parse_json_page(data, PAGE_URL, "pypi", "torch")
    except IndexFormatError as exc:
        assert str(exc)
        return
    _check_page(page, fuzz_targets)


@FUZZ
@given(data=html_page())
def test_html_pages_parse_or_are_rejected(data: bytes, fuzz_targets) -> None:
    try:
        page = parse_html_page(data, PAGE_URL, "pypi", "torch")
    except IndexFormatError as exc:
        assert str(exc)
        return
    _check_page(page, fuzz_targets)


METADATA_LINES = st.one_of(
    st.sampled_from(["Metadata-Version: 2.1", "Metadata-Version: 2.4", "Metadata-Version: 9.0", "Metadata-Version: x",
                     "Name: torch", "Name: evil", "Name: ", "Version: 2.5.1", "Version: banana", "Version: 1!0.0",
                     "Requires-Python: >=3.9", "Requires-Python: >>3", "Provides-Extra: gpu", "Provides-Extra: g p u",
                     "Dynamic: Requires-Dist", "\tcontinued", ""]),
    requirement_text().map(lambda r: f"Requires-Dist: {r}"),
    st.text(max_size=30),
)


@FUZZ
@given(lines=st.lists(METADATA_LINES, max_size=10), fuzz_targets=st.just(None))
def test_core_metadata_parses_or_is_rejected(lines, fuzz_targets) -> None:
    from planner.targets.model import PythonVersion, marker_environment
    from planner.targets.platforms import PLATFORMS

    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    try:
        metadata = parse_core_metadata(data, expected_name="torch", expected_version="2.5.1")
    except MetadataError as exc:
        assert str(exc)
        return
    assert str(metadata.name) == "torch"
    for requirement in metadata.requires_dist:  # every marker that got through evaluates
        if requirement.marker is not None:
            for platform in PLATFORMS.values():
                environment = marker_environment(platform, PythonVersion(3, 12))
                for extra in ("", "gpu"):
                    requirement.marker.evaluate({**environment, "extra": extra})


# -- hostile index data, end to end ------------------------------------------------------------
def _compile_with(tmp_path: Path, extra_files: list[FixtureFile]):
    """Compile the service project with `extra_files` added to its default index."""
    with served_project(tmp_path, compiled=False) as served:
        fresh = tmp_path / "hostile-pypi"
        write_index(fresh, listed_files(served.server.roots["pypi"]) + extra_files)
        served.server.roots["pypi"] = fresh
        result = compile_cli(served.args(cache=False))
        return result, snapshot(served.output), served


def _plan(outputs: dict[str, bytes]) -> dict[str, dict[str, str]]:
    plan = json.loads(outputs["plan.json"])
    return {t["target"]["name"]: {p["name"]: p["version"] for p in t["packages"]} for t in plan["targets"]}


def _edit_page(root: Path, project: str, edit) -> None:
    page = root / project / "index.json"
    data = json.loads(page.read_text())
    edit(data)
    page.write_text(json.dumps(data))


def test_file_names_with_paths_are_skipped(tmp_path: Path) -> None:
    with served_project(tmp_path, compiled=False) as served:
        root = served.server.roots["pypi"]
        evil = build_wheel("alpha", "9.0", [])
        (root / "files" / "evil.whl").write_bytes(evil.content)
        digest = FixtureFile.from_content("alpha", "x", evil.content).sha256

        def add(data):
            for name in ("../../alpha-9.0-py3-none-any.whl", "sub/alpha-9.0-py3-none-any.whl", "..\\alpha-9.0-py3-none-any.whl",
                         "..alpha-9.0-py3-none-any.whl"):
                data["files"].append({"filename": name, "url": "../../files/evil.whl", "hashes": {"sha256": digest}})

        _edit_page(root, "alpha", add)
        result = compile_cli(served.args(cache=False, ))
        assert result.exit_code == 0, result.output
        assert {plan["alpha"] for plan in _plan(snapshot(served.output)).values()} == {"2.0"}
        written = [p for p in tmp_path.rglob("*alpha-9.0*")]
        assert written == [], written  # nothing was written under a name the index chose


def test_absurd_versions_do_not_break_the_plan(tmp_path: Path) -> None:
    absurd = [
        FixtureFile("beta", f"beta-{'1' + '0' * 40}-py3-none-any.whl", sha256="ab" * 32),  # listed, not served
        build_wheel("beta", ".".join(["1"] * 100), []).fixture_file(),
        FixtureFile("beta", "beta-2.0a1.dev99999999999999999999-py3-none-any.whl", sha256="cd" * 32),
    ]
    result, outputs, _ = _compile_with(tmp_path, absurd)
    # The newest beta (a 40-digit version without a fitting file or with one the plan can read)
    # is either chosen with its real metadata or the run names it; never a crash.
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    if result.exit_code == 0:
        assert all(plan["beta"] for plan in _plan(outputs).values())


def test_huge_dependency_list(tmp_path: Path) -> None:
    requires = [f"beta>=1.{n}" for n in range(1500)]
    requires += [f"missing-{n}; sys_platform == 'win32'" for n in range(1500)]
    requires += ["beta[extra-that-does-not-exist]"] * 100
    result, outputs, served = _compile_with(tmp_path, [build_wheel("alpha", "3.0", requires).fixture_file()])
    assert result.exit_code == 0, result.output
    assert {plan["alpha"] for plan in _plan(outputs).values()} == {"3.0"}
    assert not [r for r in served.server.log if "missing-" in r.path]  # false markers: never fetched


def test_dependency_cycle(tmp_path: Path) -> None:
    cycle = [build_wheel("alpha", "3.0", ["beta>=3"]).fixture_file(),
             build_wheel("beta", "3.0", ["alpha>=3", "gamma"]).fixture_file(),
             build_wheel("gamma", "1.0", ["alpha"]).fixture_file()]
    result, outputs, _ = _compile_with(tmp_path, cycle)
    assert result.exit_code == 0, result.output
    for plan in _plan(outputs).values():
        assert (plan["alpha"], plan["beta"], plan["gamma"]) == ("3.0", "3.0", "1.0")


@pytest.mark.parametrize("metadata, why", [
    (b"Metadata-Version: 2.1\nName: evil\nVersion: 3.0\nRequires-Dist: beta\n", "claims to be evil 3.0"),
    (b"Metadata-Version: 2.1\nName: alpha\nVersion: 3.1\nRequires-Dist: beta\n", "claims to be alpha 3.1"),
    (b"Metadata-Version: 2.1\nName: alpha\nVersion: 3.0\nRequires-Dist: beta; sys_platform ~= 'linux'\n", "cannot be evaluated"),
    (b"\xff\xfe garbage", ""),
], ids=["other-project", "other-version", "bad-marker", "garbage"])
def test_bad_metadata_makes_that_version_unusable(tmp_path: Path, metadata: bytes, why: str) -> None:
    """The newest alpha's metadata is wrong (its PEP 658 file matches its listed hash: the index
    itself lies). The plan falls back to alpha 2.0 and never uses what the bad file says."""
    wheel = build_wheel("alpha", "3.0", ["beta"])
    result, outputs, _ = _compile_with(tmp_path, [wheel.fixture_file(metadata=metadata)])
    assert result.exit_code == 0, result.output
    assert {plan["alpha"] for plan in _plan(outputs).values()} == {"2.0"}
    assert "evil" not in json.dumps(_plan(outputs))


def test_pinned_version_with_bad_metadata_is_explained(tmp_path: Path) -> None:
    with served_project(tmp_path, compiled=False) as served:
        root = served.server.roots["pypi"]
        files = listed_files(root) + [build_wheel("alpha", "3.0", ["beta"]).fixture_file(
            metadata=b"Metadata-Version: 2.1\nName: evil\nVersion: 3.0\n")]
        write_index(tmp_path / "bad", files)
        served.server.roots["pypi"] = tmp_path / "bad"
        pyproject = served.project / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('dependencies = ["alpha"]', 'dependencies = ["alpha==3.0"]'))
        result = compile_cli(served.args(cache=False))
        assert result.exit_code == 1, result.output  # no plan: said per target, nothing written
        assert "Traceback" not in result.output and "internal error" not in result.output
        assert not served.output.exists()
        assert "alpha 3.0 on pypi cannot be used" in result.stderr
        assert "metadata claims to be evil 3.0, expected alpha 3.0" in result.stderr
        assert "evil" not in result.stdout

