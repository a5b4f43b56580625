"""`jacod`'s contract as a process: flags and config errors, the socket, one
daemon per data dir, SIGTERM, sd_notify."""

from __future__ import annotations

import json
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    Jacod,
    clean_env,
    remove_tree,
    run_jaco,
    run_jacod,
    short_tmpdir,
    text_records,
)

pytestmark = pytest.mark.timeout(120)


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("jacod: error:")]
    assert len(lines) == 1, f"expected exactly one `jacod: error:` line:\n{err}"
    assert "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- usage errors (exit 2)


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--listen", "nonsense", "listen"),
        ("--listen", "127.0.0.1:notaport", "listen"),
        ("--listen", "127.0.0.1:70000", "listen"),
        ("--raft-listen", "10.0.0.1", "raft_listen"),
        ("--advertise", ":7400", "advertise"),
        ("--ingress-listen", "8480", "ingress_listen"),
        ("--dns-listen", "localhost", "dns_listen"),
    ],
)
def test_bad_hostport_exits_2_naming_the_field(
    tmpdir_short: Path, flag: str, value: str, field: str
) -> None:
    rc, _, err = run_jacod("--dev", "--data-dir", str(tmpdir_short / "d"), flag, value)
    assert rc == 2, err
    line = error_line(err)
    assert line.startswith(f"jacod: error: {field}:") or flag in line, line
    assert "HOST:PORT" in line  # says what is expected
    assert not (tmpdir_short / "d" / "jacod.sock").exists()


def test_config_unknown_key_exits_2_naming_it(tmpdir_short: Path) -> None:
    conf = tmpdir_short / "jacod.toml"
    conf.write_text('node_name = "n1"\nno_such_option = 1\n')
    rc, _, err = run_jacod("--dev", "--data-dir", str(tmpdir_short / "d"), "--config", str(conf))
    assert rc == 2, err
    assert "no_such_option" in error_line(err)


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "no such file"), ("this is = = not toml", "TOML"), ('listen = "nope"\n', "listen")],
)
def test_config_file_errors_exit_2(tmpdir_short: Path, content: str | None, needle: str) -> None:
    conf = tmpdir_short / "jacod.toml"
    if content is not None:
        conf.write_text(content)
    rc, _, err = run_jacod("--dev", "--data-dir", str(tmpdir_short / "d"), "--config", str(conf))
    assert rc == 2, err
    assert needle in error_line(err)


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--log-level", "loud"], {}), ([], {"JACO_LOG": "loud"})],
)
def test_invalid_daemon_level_exits_2(
    tmpdir_short: Path, args: list[str], env: dict[str, str]
) -> None:
    rc, _, err = run_jacod("--dev", "--data-dir", str(tmpdir_short / "d"), *args,
                           env=clean_env(env))
    assert rc == 2, err
    line = error_line(err)
    for level in ("debug", "info", "warn", "error"):
        assert level in line


def test_invalid_log_level_in_config_exits_2(tmpdir_short: Path) -> None:
    conf = tmpdir_short / "jacod.toml"
    conf.write_text('log_level = "loud"\n')
    daemon = Jacod(tmpdir_short, args=["--config", str(conf)]).start()
    try:
        deadline = time.monotonic() + 30
        while daemon.proc.poll() is None and not daemon.socket.exists():  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "jacod neither exited nor served"
            time.sleep(0.05)
        rc = daemon.proc.poll()  # type: ignore[union-attr]
        assert rc == 2, (
            f"jacod accepted log_level = \"loud\" from --config (exit {rc}, socket "
            f"{'served' if daemon.socket.exists() else 'absent'}); stderr:\n{daemon.stderr()}"
        )
    finally:
        daemon.kill()


def test_help_has_examples() -> None:
    rc, out, _ = run_jacod("--help")
    assert rc == 0
    assert "examples:" in out and "jacod --dev" in out
    for flag in ("--config", "--node-name", "--socket", "--listen", "--raft-listen",
                 "--bootstrap", "--join", "--join-token", "--runtime", "--data-dir"):
        assert flag in out, flag


# ---------------------------------------------------------------- the shared daemon


def test_socket_mode_is_0660(shared_jacod: Jacod) -> None:
    st = shared_jacod.socket.stat()
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(stat.S_IMODE(st.st_mode))


def test_second_jacod_on_the_same_data_dir_exits_1(shared_jacod: Jacod) -> None:
    # Same data dir, default socket (== the running one's): must not disturb it.
    rc, out, err = run_jacod("--dev", "--data-dir", str(shared_jacod.data_dir),
                             env=clean_env({"XDG_STATE_HOME": str(shared_jacod.state_home)}))
    assert rc == 1, err
    [record] = [r for r in text_records(err) if r["level"] == "error"]
    assert record["subsystem"] == "daemon"
    assert "another jacod" in record["msg"] and str(shared_jacod.data_dir) in record["msg"]
    assert "--data-dir" in record["msg"]  # what to do
    assert shared_jacod.socket.exists()
    assert run_jaco("--server", shared_jacod.server, "status").rc == 0


def test_second_jacod_on_the_same_socket_exits_1(
    shared_jacod: Jacod, tmpdir_short: Path
) -> None:
    rc, _, err = run_jacod("--dev", "--data-dir", str(tmpdir_short / "other"),
                           "--socket", str(shared_jacod.socket))
    assert rc == 1, err
    [record] = [r for r in text_records(err) if r["level"] == "error"]
    assert "already serving" in record["msg"] and str(shared_jacod.socket) in record["msg"]
    assert shared_jacod.socket.exists()
    assert run_jaco("--server", shared_jacod.server, "status").rc == 0


@pytest.mark.parametrize(("flag", "field"), [("--ingress-listen", "ingress_listen"),
                                             ("--dns-listen", "dns_listen")])  # fmt: skip
def test_taken_traffic_port_exits_1_naming_it(tmpdir_short: Path, flag: str, field: str) -> None:
    kind = socket.SOCK_STREAM if flag == "--ingress-listen" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            taken.listen()
        addr = f"127.0.0.1:{taken.getsockname()[1]}"
        other = "--dns-listen" if flag == "--ingress-listen" else "--ingress-listen"
        others = [other, "off"]
        rc, _, err = run_jacod("--dev", "--data-dir", str(tmpdir_short / "d"), flag, addr, *others)
    assert rc == 1, err
    [record] = [r for r in text_records(err) if r["level"] == "error"]
    assert record["msg"].startswith(f"{field}: cannot listen on {addr}"), record
    assert flag in record["msg"] and "off" in record["msg"]  # what to do instead
    assert "Traceback" not in err


def test_dns_listen_must_be_an_ip(tmpdir_short: Path) -> None:
    rc, _, err = run_jacod("--dev", "--data-dir", str(tmpdir_short / "d"), "--ingress-listen",
                           "off", "--dns-listen", "localhost:8600")  # fmt: skip
    assert rc != 0, err
    assert "dns_listen" in err and "must be an IP" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda d: None, "join_token_file: cannot read"),
        (lambda d: (d / "tok").write_text("\n"), "join_token_file:"),
    ],
    ids=["missing", "empty"],
)
def test_bad_join_token_file_exits_2_naming_it(
    tmpdir_short: Path, setup: Callable[[Path], object], needle: str
) -> None:
    setup(tmpdir_short)
    rc, _, err = run_jacod("--data-dir", str(tmpdir_short / "d"), "--join", "127.0.0.1:1",
                           "--join-token-file", str(tmpdir_short / "tok"))  # fmt: skip
    assert rc == 2, err
    assert needle in error_line(err)


def test_join_token_file_and_token_together_exit_2(tmpdir_short: Path) -> None:
    (tmpdir_short / "tok").write_text("jt1.SECRETSECRET\n")
    rc, _, err = run_jacod("--data-dir", str(tmpdir_short / "d"), "--join", "127.0.0.1:1",
                           "--join-token-file", str(tmpdir_short / "tok"),
                           "--join-token", "jt1.OTHER")  # fmt: skip
    assert rc == 2, err
    assert "either a token or a token file" in error_line(err)
    assert "SECRETSECRET" not in err and "OTHER" not in err


def test_join_token_from_the_environment_counts(tmpdir_short: Path) -> None:
    # No token anywhere: refused before anything starts. With JACO_JOIN_TOKEN
    # the token is used (and found malformed), never echoed.
    args = ["--data-dir", str(tmpdir_short / "d"), "--join", "127.0.0.1:1",
            "--listen", "127.0.0.1:0", "--raft-listen", "127.0.0.1:0",
            "--ingress-listen", "off", "--dns-listen", "off"]  # fmt: skip
    rc, _, err = run_jacod(*args)
    assert rc == 2 and "join_token: required with --join" in error_line(err)
    env = clean_env({"JACO_JOIN_TOKEN": "jt1.ENVSECRET"})
    rc, _, err = run_jacod(*args, env=env, timeout=60)
    assert rc == 1, err
    assert "join token: malformed" in err and "ENVSECRET" not in err


def test_join_token_on_the_command_line_is_warned_about(tmpdir_short: Path) -> None:
    rc, _, err = run_jacod("--data-dir", str(tmpdir_short / "d"), "--join", "127.0.0.1:1",
                           "--listen", "127.0.0.1:0", "--raft-listen", "127.0.0.1:0",
                           "--ingress-listen", "off", "--dns-listen", "off",
                           "--join-token", "jt1.CLISECRET")  # fmt: skip
    assert rc == 1, err
    assert "use --join-token-file or JACO_JOIN_TOKEN" in err
    assert "CLISECRET" not in err


# ---------------------------------------------------------------- lifecycle


@pytest.fixture(scope="module")
def lifecycle() -> Iterator[dict[str, Any]]:
    """One daemon under a fake systemd notify socket, stopped with SIGTERM."""
    base = short_tmpdir()
    notify_path = base / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(30)
    daemon = Jacod(base, env=clean_env({"NOTIFY_SOCKET": str(notify_path)}),
                   node_name="lifecycle")
    try:
        daemon.start()
        ready_msg = notify.recv(4096).decode()
        answered_after_ready = run_jaco("--server", daemon.server, "status").rc
        rc = daemon.stop()
        notify.settimeout(5)
        try:
            stopping_msg = notify.recv(4096).decode()
        except TimeoutError:
            stopping_msg = ""
        yield {
            "daemon": daemon,
            "ready": ready_msg,
            "answered_after_ready": answered_after_ready,
            "rc": rc,
            "stopping": stopping_msg,
            "socket_left": daemon.socket.exists(),
            "stderr": daemon.stderr(),
        }
    finally:
        daemon.kill()
        notify.close()
        remove_tree(base)


def test_sd_notify_ready_when_serving(lifecycle: dict[str, Any]) -> None:
    assert "READY=1" in lifecycle["ready"].split("\n")
    assert lifecycle["answered_after_ready"] == 0


def test_sd_notify_stopping_on_sigterm(lifecycle: dict[str, Any]) -> None:
    assert "STOPPING=1" in lifecycle["stopping"].split("\n")


def test_sigterm_exits_0_and_removes_the_socket(lifecycle: dict[str, Any]) -> None:
    assert lifecycle["rc"] == 0, lifecycle["stderr"]
    assert not lifecycle["socket_left"]
    msgs = [r["msg"] for r in text_records(lifecycle["stderr"])]
    assert any(m.startswith("jacod ready") for m in msgs)
    assert msgs[-1] == "jacod stopped", msgs


@pytest.fixture(scope="module")
def from_config() -> Iterator[Jacod]:
    """A daemon configured by a TOML file (defaults < file < flags)."""
    base = short_tmpdir()
    conf = base / "jacod.toml"
    conf.write_text('node-name = "from-toml"\nlog_level = "debug"\nruntime = "process"\n')
    daemon = Jacod(base, args=["--config", str(conf)])
    try:
        daemon.start().wait_ready()
        yield daemon
    finally:
        daemon.stop()
        remove_tree(base)


def test_config_file_values_apply(from_config: Jacod) -> None:
    rc, out, err = run_jaco("--server", from_config.server, "status", "-o", "json")
    assert rc == 0, err
    assert json.loads(out)["node"]["name"] == "from-toml"


def test_config_file_log_level_applies(from_config: Jacod) -> None:
    levels = {r["level"] for r in text_records(from_config.stderr())}
    assert "debug" in levels, (
        "log_level = \"debug\" in --config had no effect; stderr:\n" + from_config.stderr())


def test_flags_override_the_config_file(jacod_factory: Callable[..., Jacod],
                                        tmpdir_short: Path) -> None:
    conf = tmpdir_short / "jacod.toml"
    conf.write_text('node_name = "from-toml"\n')
    daemon = jacod_factory(node_name="from-flag", args=["--config", str(conf)])
    rc, out, err = run_jaco("--server", daemon.server, "status", "-o", "json")
    assert rc == 0, err
    assert json.loads(out)["node"]["name"] == "from-flag"


def test_dev_defaults_under_xdg_state_home(tmpdir_short: Path) -> None:
    """`jacod --dev` alone: socket in $XDG_STATE_HOME/jaco, found by `jaco`
    without --server; JACO_LOG=warn silences the info lines."""
    assert not Path("/run/jaco/jacod.sock").exists(), "needs no system jacod socket"
    sock = tmpdir_short / "jaco" / "jacod.sock"
    daemon = Jacod(tmpdir_short / "logs", env=clean_env({"JACO_LOG": "warn"}),
                   state_home=tmpdir_short, dev_defaults=True)
    assert daemon.socket == sock
    daemon.start()
    try:
        daemon.wait_ready()
        rc, out, err = run_jaco("status", "-o", "json", env=clean_env(
            {"XDG_STATE_HOME": str(tmpdir_short)}))
        assert rc == 0, err
        assert json.loads(out)["identity"] == "local"
        assert daemon.stop() == 0
        assert not sock.exists()
        assert [r for r in text_records(daemon.stderr()) if r["level"] in ("debug", "info")] == []
    finally:
        daemon.kill()
