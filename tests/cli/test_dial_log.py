"""The CLI's only dial log: transport and target, never a token."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.helpers import Jacod, clean_env, run_jaco, text_records


@pytest.fixture
def secret() -> str:
    return "jaco_" + secrets.token_urlsafe(32)


def dial_records(err: str) -> list[dict[str, str]]:
    # The final `jaco: error: ...` line is the CLI's answer, not a log line.
    logs = "\n".join(line for line in err.splitlines() if not line.startswith("jaco: error:"))
    return [r for r in text_records(logs) if r["msg"].startswith("dialing jacod")]


def test_unix_dial_log(shared_jacod: Jacod, secret: str) -> None:
    env = clean_env({"JACO_LOG": "info", "JACO_TOKEN": secret})
    rc, out, err = run_jaco("--server", shared_jacod.server, "status", env=env)
    assert rc == 0, err
    [dial] = dial_records(err)
    assert dial["subsystem"] == "cli" and dial["level"] == "info"
    assert "transport=unix" in dial["msg"]
    assert f"target={shared_jacod.socket}" in dial["msg"]
    assert secret not in out + err


def test_tcp_dial_log(shared_jacod: Jacod, secret: str) -> None:
    env = clean_env({"JACO_LOG": "info", "JACO_TOKEN": secret})
    rc, out, err = run_jaco("--server", shared_jacod.listen, "status", env=env)
    assert rc in (0, 1), err  # TCP control calls need a token support this build may lack
    [dial] = dial_records(err)
    assert "transport=tcp" in dial["msg"]
    assert f"target={shared_jacod.listen}" in dial["msg"]
    assert secret not in out + err


@pytest.mark.parametrize("how", ["env", "debug"])
def test_token_never_appears_even_at_debug(shared_jacod: Jacod, secret: str, how: str) -> None:
    env = clean_env({"JACO_TOKEN": secret, "JACO_SERVER": shared_jacod.listen})
    args = ["-v"] if how == "debug" else ["--log-level", "info"]
    for server in (shared_jacod.server, shared_jacod.listen):
        rc, out, err = run_jaco(*args, "--server", server, "status", "-o", "json", env=env)
        assert rc in (0, 1), err
        assert secret not in out + err
        assert len(dial_records(err)) == 1


def test_dial_log_when_unreachable(tmpdir_short: Path, secret: str) -> None:
    target = f"unix://{tmpdir_short}/none.sock"
    env = clean_env({"JACO_LOG": "info", "JACO_TOKEN": secret})
    rc, out, err = run_jaco("--server", target, "status", env=env)
    assert rc == 3
    [dial] = dial_records(err)  # logged before the dial fails
    assert "transport=unix" in dial["msg"]
    assert secret not in out + err
