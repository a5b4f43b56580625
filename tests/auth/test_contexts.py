"""The CLI's contexts file and how a target, its CA and its token are chosen."""

from __future__ import annotations

import argparse
import stat
import tomllib
from pathlib import Path

import pytest

from jaco import contexts
from jaco.commands import context as context_cmd
from jaco.targets import Target, UsageError, resolve

SERVER = "10.0.0.5:7400"


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "prod.token").write_text("jacotoken1.prodprodprod.secret\n")
    (tmp_path / "other.token").write_text("other-token")
    (tmp_path / "ca.crt").write_text("CA")
    return {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "HOME": str(tmp_path)}


def add(env: dict[str, str], name: str, server: str, use: bool = False, **files: str) -> None:
    found = contexts.load(contexts.config_path(env))
    ctx = contexts.Context(name, server, **files)
    contexts.save(contexts.with_context(found, ctx, use))


def test_config_path_respects_xdg(tmp_path: Path) -> None:
    assert contexts.config_path({"XDG_CONFIG_HOME": "/x"}) == "/x/jaco/config.toml"
    assert contexts.config_path({"HOME": "/home/me"}) == "/home/me/.config/jaco/config.toml"


def test_round_trip_mode_and_quoting(home: dict[str, str]) -> None:
    tricky = 'C:\\ca "quoted"\tfile'
    add(home, "prod", SERVER, ca_file=tricky, token_file="/t")
    add(home, "local", "unix:///run/jaco/jacod.sock")
    path = contexts.config_path(home)
    assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(path).parent.stat().st_mode) == 0o700
    found = contexts.load(path)
    assert found.current == "prod"  # the first one added becomes current
    assert found.get("prod") == contexts.Context("prod", SERVER, tricky, "/t")
    assert tomllib.loads(Path(path).read_text())["contexts"]["local"]["server"].startswith("unix")
    assert contexts.load(path) == contexts.load(path)


def test_missing_file_is_no_contexts(tmp_path: Path) -> None:
    found = contexts.load(str(tmp_path / "nope.toml"))
    assert found.contexts == {} and found.current_context() is None
    with pytest.raises(UsageError, match="no context named 'prod'"):
        found.get("prod")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("current = ", "cannot read it as TOML"),
        ('current = "prod"\n', r"names no \[contexts.prod\]"),
        ("[contexts.prod]\nserver = 7\n", "must be a string"),
        ('[contexts.prod]\nserver = "x:1"\ntoken = "leak"\n', "unknown key 'token'"),
        ("contexts = 3\n", "expected"),
    ],
)
def test_bad_files_are_usage_errors_naming_the_problem(
    tmp_path: Path, text: str, complaint: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=complaint):
        contexts.load(str(path))


@pytest.mark.parametrize("name", ["", "a.b", "a b", "x" * 65, "ü"])
def test_context_names(name: str) -> None:
    with pytest.raises(UsageError):
        contexts.check_name(name)


def test_precedence_flags_env_context_socket(home: dict[str, str], tmp_path: Path) -> None:
    prod_token, other_token = str(tmp_path / "prod.token"), str(tmp_path / "other.token")
    ca = str(tmp_path / "ca.crt")
    add(home, "prod", SERVER, use=True, ca_file=ca, token_file=prod_token)
    add(home, "staging", "10.0.0.9:7400", ca_file="/staging-ca.crt")

    # The current context supplies everything.
    t = resolve(None, home)
    assert (t.transport, t.address, t.ca_file) == ("tcp", SERVER, ca)
    assert t.token is not None and t.token.reveal() == "jacotoken1.prodprodprod.secret"
    # Environment beats the context.
    t = resolve(None, {**home, "JACO_TOKEN": "env-token", "JACO_CA_FILE": "/env-ca"})
    assert t.token is not None and t.token.reveal() == "env-token" and t.ca_file == "/env-ca"
    # Flags beat the environment.
    t = resolve(None, {**home, "JACO_TOKEN": "env-token"}, token_file=other_token, ca_file="/f")
    assert t.token is not None and t.token.reveal() == "other-token" and t.ca_file == "/f"
    # --server to the current context's server: still its credentials.
    assert resolve(SERVER, home).ca_file == ca
    # --server elsewhere: the current context's token does not travel there.
    t = resolve("10.1.1.1:7400", home)
    assert t.address == "10.1.1.1:7400" and t.token is None and t.ca_file == ""
    # JACO_SERVER beats the context's server.
    assert resolve(None, {**home, "JACO_SERVER": "10.2.2.2:1"}).address == "10.2.2.2:1"
    # An explicit --context applies even with --server.
    t = resolve("10.3.3.3:7400", home, context="staging")
    assert t.address == "10.3.3.3:7400" and t.ca_file == "/staging-ca.crt"
    assert resolve(None, home, context="staging").address == "10.0.0.9:7400"
    with pytest.raises(UsageError, match="no context named 'nope'"):
        resolve(None, home, context="nope")


def test_unix_targets_carry_no_token(home: dict[str, str]) -> None:
    t = resolve("unix:///tmp/x.sock", {**home, "JACO_TOKEN": "t"})
    assert t == Target("unix", "/tmp/x.sock", "--server")


def test_without_anything_the_local_socket(home: dict[str, str]) -> None:
    t = resolve(None, home)
    assert t.transport == "unix" and t.source.startswith("local socket")


def test_token_repr_and_unreadable_token_file(home: dict[str, str], tmp_path: Path) -> None:
    t = resolve(SERVER, {**home, "JACO_TOKEN": "s3cret-value"})
    assert "s3cret-value" not in repr(t) and "s3cret-value" not in str(t.token)
    with pytest.raises(UsageError, match="cannot read token file"):
        resolve(SERVER, home, token_file=str(tmp_path / "missing"))
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(UsageError, match="is empty"):
        resolve(SERVER, home, token_file=str(tmp_path / "empty"))


def ns(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"output": "text", "server": None, "ca_file": None,
                                 "token_file": None, "use": False, **kw})  # fmt: skip


def test_context_verb(home: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    for k, v in home.items():
        monkeypatch.setenv(k, v)
    ca, tok = str(tmp_path / "ca.crt"), str(tmp_path / "prod.token")
    with pytest.raises(UsageError, match="needs --ca-file"):
        context_cmd.run_local(ns(context_verb="add", name="prod", server=SERVER))
    with pytest.raises(UsageError, match="no such file"):
        context_cmd.run_local(ns(context_verb="add", name="prod", server=SERVER, ca_file="/nope"))
    assert context_cmd.run_local(
        ns(context_verb="add", name="prod", server=SERVER, ca_file=ca, token_file=tok)
    ) == 0  # fmt: skip
    assert context_cmd.run_local(
        ns(context_verb="add", name="dev", server="unix:///tmp/j.sock", use=True)
    ) == 0  # fmt: skip
    assert contexts.load(contexts.config_path(home)).current == "dev"
    assert context_cmd.run_local(ns(context_verb="use", name="prod")) == 0
    capsys.readouterr()
    assert context_cmd.run_local(ns(context_verb="ls")) == 0
    out = capsys.readouterr().out
    assert "* " in out and "prod" in out and "secret" not in out
    with pytest.raises(UsageError):
        context_cmd.run_local(ns(context_verb="use", name="nope"))
