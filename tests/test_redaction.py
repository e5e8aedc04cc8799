"""Credentials never print, whatever characters they hold.

Tokens and passwords often hold `/`, `+`, `=`, and people paste them into URLs unencoded. A `/`,
`?` or `#` in the password then hides the user info from every URL parser (`https://u:pa/ss@host`
parses as host `u`, port `pa`), and an `@` or `:` in it confuses naive splitting. Redaction works
on the text: everything between `scheme://` and the last `@` is hidden (version-control URLs keep
their `@revision`). Checked as a property over arbitrary passwords, and end to end on every
message that quotes a URL, URL parse errors included.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.urls import redact_text, redact_url
from tests.fixtures.hostile import assert_one_clear_error, compile_cli

# Printable ASCII without whitespace and the characters that end a URL quoted in text.
SECRET_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="'\"<>`")
SECRETS = st.text(SECRET_CHARS, min_size=1, max_size=24)
USERS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="'\"<>`@/?#"), max_size=12)
PROPERTY = settings(max_examples=300, deadline=None)
SECRET = "s3cr/t?x#y@z:w"
PIECES = ["s3cr", "t?x", "x#y", "y@z", "z:w", "s3cr%2F"]


@PROPERTY
@given(user=USERS, password=SECRETS)
def test_any_password_is_hidden_in_a_url(user: str, password: str) -> None:
    url = f"https://{user}:{password}@pkgs.example.com/simple/torch/"
    assert redact_url(url) == "https://***@pkgs.example.com/simple/torch/"
    assert redact_text(f"index 'private': HTTP 503 ({url}), then '{url}'") == (
        "index 'private': HTTP 503 (https://***@pkgs.example.com/simple/torch/), "
        "then 'https://***@pkgs.example.com/simple/torch/'")


@PROPERTY
@given(token=SECRETS)
def test_any_token_is_hidden_in_a_version_control_url(token: str) -> None:
    text = f"invalid requirement 'lib @ git+https://{token}@github.com/org/lib@v1.0'"
    assert redact_text(text) == "invalid requirement 'lib @ git+https://***@github.com/org/lib@v1.0'"


def test_a_token_that_looks_like_a_fragment_is_hidden_in_a_version_control_url() -> None:
    for token in ("#A=", "ab#egg=cd"):
        assert redact_text(f"'lib @ git+https://{token}@github.com/org/lib@v1.0#subdirectory=libs/sub'") == \
            "'lib @ git+https://***@github.com/org/lib@v1.0#subdirectory=libs/sub'"


def test_urls_without_credentials_are_unchanged() -> None:
    for text in ("https://pypi.org/simple/torch/", "git+https://github.com/org/lib@v1.0",
                 "git+https://github.com/org/lib@1a2b3c4#subdirectory=libs/sub",
                 "lib @ https://files.example.com/lib-1.0-py3-none-any.whl", "no URL here: a@b"):
        assert redact_text(text) == text
    assert redact_url("user:secret@pkgs.example.com/simple") == "***@pkgs.example.com/simple"


def _project(tmp_path: Path, body: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\nrequires-python = ">=3.11"\n' + body)
    return project


def _assert_hidden(result, *texts: str) -> None:
    assert_one_clear_error(result, *texts)
    for piece in PIECES:
        assert piece not in result.output, f"{piece!r} leaked:\n{result.output}"


def test_unencoded_password_in_an_index_url_is_an_error_that_hides_it(tmp_path: Path) -> None:
    project = _project(tmp_path, 'dependencies = []\n[[tool.uv.index]]\nname = "private"\n'
                                 f'url = "https://deploy:{SECRET}@pkgs.example.com/simple"\n')
    for command in (["targets", str(project)], ["compile", str(project), "--offline"]):
        result = compile_cli(["-v", *command])
        _assert_hidden(result, "tool.uv.index[0].url", "'https://***@pkgs.example.com/simple'",
                       "percent-encoded (%2F, %3F, %23, %40)")


def test_unencoded_password_on_the_command_line_is_hidden(tmp_path: Path) -> None:
    project = _project(tmp_path, 'dependencies = []\n[[tool.uv.index]]\nname = "private"\n'
                                 'url = "https://pkgs.example.com/simple"\n')
    runs = {
        "--index": ["--index", f"private=https://deploy:{SECRET}@pkgs.example.com/simple"],
        "--default-index": ["--default-index", f"https://deploy:{SECRET}@mirror.example.com/simple"],
        "bad port": ["--default-index", f"https://deploy:{SECRET}@mirror.example.com:99999/simple"],
        "no scheme": ["--default-index", f"deploy:{SECRET}@mirror.example.com/simple"],
        "not NAME=URL": ["--index", f"https://deploy:{SECRET}@mirror.example.com/simple"],
    }
    for name, option in runs.items():
        result = compile_cli(["targets", str(project), *option])
        _assert_hidden(result, "***@")
        assert result.exit_code == 2, name


def test_parse_error_of_a_url_with_a_secret_in_its_port_position(tmp_path: Path) -> None:
    """`https://user:pa/ss@host`: the parser takes `pa` for a port; its error message would quote it."""
    project = _project(tmp_path, 'dependencies = []\n[[tool.uv.index]]\nname = "private"\n'
                                 'url = "https://deploy:hunter2/x@pkgs.example.com/simple"\n')
    result = compile_cli(["targets", str(project)])
    assert_one_clear_error(result, "https://***@pkgs.example.com/simple")
    assert "hunter2" not in result.output


def test_direct_url_requirement_with_an_unencoded_token(tmp_path: Path) -> None:
    project = _project(tmp_path, f'dependencies = ["lib @ https://deploy:{SECRET}@files.example.com/lib-1.0.whl"]\n')
    result = compile_cli(["targets", str(project)])
    _assert_hidden(result, "https://***@files.example.com/lib-1.0.whl")
