"""Outputs stay inside the output folder, whatever an earlier run (or a repository) left there.

The output folder's contents are not trusted: a cloned repository can commit `output/plan.json`
with any manifest and `output/<target>` as a symbolic link to anywhere. `planner compile` must
never delete or write through such a link, never touch a path outside the folder, and delete an
earlier output only when it is still the file planner wrote (its bytes match the manifest).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.fixtures.hostile import Served, assert_one_clear_error, compile_cli, served_project, snapshot


@pytest.fixture
def served(tmp_path: Path):
    with served_project(tmp_path) as served:
        yield served


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _drop_the_mac_target(served: Served) -> None:
    """A new plan without the `mac` target: its folder's files become an earlier run's leftovers."""
    pyproject = served.project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text[: text.index("[tool.planner.targets.mac]")])


def _victim(tmp_path: Path) -> dict[Path, bytes]:
    """Files outside the output folder that a hostile manifest names; their bytes are public."""
    folder = tmp_path / "victim"
    folder.mkdir()
    files = {folder / "requirements.txt": b"my precious\n", folder / "Dockerfile": b"FROM scratch\n",
             folder / "secret.txt": b"private key\n"}
    for path, data in files.items():
        path.write_bytes(data)
    return files


def _edit_manifest(served: Served, entries: dict[str, str]) -> None:
    plan = served.output / "plan.json"
    document = json.loads(plan.read_text())
    document["outputs"].update(entries)
    plan.write_text(json.dumps(document, indent=2))


def test_a_hostile_manifest_cannot_delete_outside_the_output_folder(served: Served, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    (served.output / "evil").symlink_to(tmp_path / "victim", target_is_directory=True)
    (served.output / "nested").mkdir()
    (served.output / "nested" / "up").symlink_to(tmp_path, target_is_directory=True)
    digests = {path.name: _sha256(data) for path, data in victim.items()}
    _edit_manifest(served, {
        "evil/requirements.txt": digests["requirements.txt"],  # through a link to a folder outside
        "evil/Dockerfile": digests["Dockerfile"],
        "../victim/secret.txt": digests["secret.txt"],
        str(tmp_path / "victim" / "secret.txt"): digests["secret.txt"],
        "nested/up/victim/secret.txt": digests["secret.txt"],
        "evil/../../victim/secret.txt": digests["secret.txt"],
    })
    _drop_the_mac_target(served)
    result = compile_cli(served.args())
    assert result.exit_code == 0, result.output
    for path, data in victim.items():
        assert path.read_bytes() == data, f"{path} was touched"
    assert (served.output / "evil").is_symlink()  # not planner's: left alone
    assert not (served.output / "mac").exists()  # planner's own leftovers still go


def test_an_edited_leftover_is_kept(served: Served) -> None:
    """An earlier output the user changed since is no longer planner's file: never deleted."""
    edited = served.output / "mac" / "requirements.txt"
    edited.write_text(edited.read_text() + "# pinned by hand\n")
    _drop_the_mac_target(served)
    result = compile_cli(served.args())
    assert result.exit_code == 0, result.output
    assert edited.read_text().endswith("# pinned by hand\n")


@pytest.mark.parametrize("where", ["target-folder", "output-file", "output-file-same-bytes", "output-folder"])
def test_links_in_the_way_are_refused(served: Served, tmp_path: Path, where: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    # A link to a file that already holds the new bytes is refused too (never read, never "current").
    theirs = (served.output / "pylock.toml").read_bytes() if where == "output-file-same-bytes" else b"theirs\n"
    (outside / "pylock.toml").write_bytes(theirs)
    if where == "target-folder":
        link = served.output / "linux-gpu"
        for child in link.iterdir():
            child.unlink()
        link.rmdir()
        link.symlink_to(outside, target_is_directory=True)
        args, shown = served.args(), str(link)
    elif where.startswith("output-file"):
        link = served.output / "pylock.toml"
        link.unlink()
        link.symlink_to(outside / "pylock.toml")
        args, shown = served.args(), str(link)
    else:
        real = tmp_path / "real-output"
        real.mkdir()
        link = tmp_path / "linked-output"
        link.symlink_to(real, target_is_directory=True)
        args, shown = served.args("-o", str(link)), str(link)
    before = snapshot(served.output)
    result = compile_cli(args)
    assert_one_clear_error(result, shown, "symbolic link", "fix:")
    assert snapshot(served.output) == before
    assert sorted(p.name for p in outside.iterdir()) == ["pylock.toml"]
    assert (outside / "pylock.toml").read_bytes() == theirs
    assert not [p for p in tmp_path.rglob(".*") if p.is_file() and p.parent != tmp_path]


def test_check_does_not_follow_a_manifest_out_of_the_folder(served: Served, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    (served.output / "evil").symlink_to(tmp_path / "victim", target_is_directory=True)
    _edit_manifest(served, {"evil/requirements.txt": _sha256(victim[tmp_path / "victim" / "requirements.txt"])})
    result = compile_cli(served.args("--check"))
    assert result.exit_code == 1, result.output
    assert "evil/requirements.txt is missing" in " ".join(result.stderr.split())
    assert all(path.read_bytes() == data for path, data in victim.items())


def test_outputs_are_written_without_following_links_made_during_the_run(served: Served, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder swapped for a link between planner's check and its write is refused too: every
    write goes through descriptors of folders opened without following links."""
    import planner.generate.files as files

    outside = tmp_path / "outside"
    outside.mkdir()
    real_check = files._check_destination

    def swap_then_check(fd: int, name: str, destination: Path) -> None:
        target = served.output / "linux-cpu"
        if destination.parent == target and target.is_dir() and not target.is_symlink():
            for child in target.iterdir():
                child.unlink()
            target.rmdir()
            target.symlink_to(outside, target_is_directory=True)
        real_check(fd, name, destination)

    monkeypatch.setattr(files, "_check_destination", swap_then_check)
    _drop_the_mac_target(served)
    compile_cli(served.args())
    assert list(outside.iterdir()) == []
