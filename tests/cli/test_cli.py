"""`jaco`'s contract: global flags anywhere, target selection, exit codes with
one-line errors that say what to do, help with examples."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import grpc
import pytest

from jaco.v1 import control_pb2, node_pb2
from tests.helpers import Jacod, clean_env, free_port, run_jaco
from tests.helpers.rpc import call

pytestmark = pytest.mark.timeout(120)


def one_error_line(err: str) -> str:
    """The single `jaco: error:` line (argparse may print usage above it)."""
    lines = [line for line in err.splitlines() if line.startswith("jaco: error:")]
    assert len(lines) == 1, f"expected exactly one error line:\n{err}"
    assert "Traceback" not in err, err
    return lines[0]


def status_json(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    rc, out, err = run_jaco(*args, env=env)
    assert rc == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


# Fields that legitimately change between two calls a moment apart.
VOLATILE = {"last_contact", "sampled_at", "raft_commit_index", "raft_term", "pressure"}


def stable(value: object) -> object:
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


# ---------------------------------------------------------------- global flags


def test_global_flags_before_or_after_the_verb(shared_jacod: Jacod) -> None:
    s = shared_jacod.server
    variants = [
        ["-o", "json", "--server", s, "status"],
        ["status", "-o", "json", "--server", s],
        ["--server", s, "status", "-o", "json"],
        ["--output", "json", "status", "--server", s],
    ]
    answers = [stable(status_json(*v)) for v in variants]
    assert all(a == answers[0] for a in answers[1:])
    assert answers[0]["identity"] == "local"  # type: ignore[index]


def test_flag_after_the_verb_wins_over_the_same_flag_before(shared_jacod: Jacod) -> None:
    rc, out, err = run_jaco("-o", "json", "--server", shared_jacod.server, "status", "-o", "text")
    assert rc == 0, err
    assert out.startswith("cluster ")
    with pytest.raises(ValueError):
        json.loads(out)


def test_status_json_identity(shared_jacod: Jacod) -> None:
    doc = status_json("--server", shared_jacod.server, "status", "-o", "json")
    cluster, node = doc["cluster"], doc["node"]
    assert isinstance(cluster, dict) and isinstance(node, dict)
    assert cluster["cluster_id"]
    assert str(cluster["cluster_id"]) in shared_jacod.stderr()  # the id "jacod ready" logged
    assert node["name"] == "shared-node"
    assert doc["identity"] == "local"


def test_status_text(shared_jacod: Jacod) -> None:
    rc, out, err = run_jaco("--server", shared_jacod.server, "status")
    assert rc == 0, err
    assert "shared-node" in out
    assert "local" in out  # the resolved identity
    assert not out.lstrip().startswith("{")


# ---------------------------------------------------------------- target selection


def test_jaco_server_env_is_used_without_flag(shared_jacod: Jacod) -> None:
    doc = status_json("status", "-o", "json",
                      env=clean_env({"JACO_SERVER": shared_jacod.server}))
    assert doc["node"]["name"] == "shared-node"  # type: ignore[index]


def test_server_flag_overrides_jaco_server(shared_jacod: Jacod) -> None:
    env = clean_env({"JACO_SERVER": "unix:///nonexistent/jacod.sock"})
    doc = status_json("--server", shared_jacod.server, "status", "-o", "json", env=env)
    assert doc["node"]["name"] == "shared-node"  # type: ignore[index]
    # ...and the other way round: a bad --server is not rescued by a good env.
    env = clean_env({"JACO_SERVER": shared_jacod.server})
    rc, _, err = run_jaco("--server", "unix:///nonexistent/jacod.sock", "status", env=env)
    assert rc == 3, err


def test_without_flag_or_env_the_local_dev_socket_is_found(shared_jacod: Jacod) -> None:
    assert not Path("/run/jaco/jacod.sock").exists(), (
        "a system jacod socket exists on this machine; this test needs it absent")
    env = clean_env({"XDG_STATE_HOME": str(shared_jacod.state_home)})
    doc = status_json("status", "-o", "json", env=env)
    assert doc["node"]["name"] == "shared-node"  # type: ignore[index]


def test_no_local_socket_says_where_it_looked(tmpdir_short: Path) -> None:
    assert not Path("/run/jaco/jacod.sock").exists(), (
        "a system jacod socket exists on this machine; this test needs it absent")
    rc, _, err = run_jaco("status", env=clean_env({"XDG_STATE_HOME": str(tmpdir_short)}))
    assert rc == 3, err
    line = one_error_line(err)
    # Both places the CLI tried, so the operator knows what is missing.
    assert "/run/jaco/jacod.sock" in line, line
    assert str(tmpdir_short / "jaco" / "jacod.sock") in line, line
    assert "jacod --dev" in line


# ---------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    ("argv", "env", "needle"),
    [
        (["--bogus", "status"], {}, "--bogus"),
        (["status", "--bogus"], {}, "--bogus"),
        (["-o", "yaml", "status"], {}, "yaml"),
        (["nosuchverb"], {}, "nosuchverb"),
        (["--server", "nonsense", "status"], {}, "e.g. --server"),
        (["--server", "host:port", "status"], {}, "HOST:PORT"),
        (["--server", "unix:relative.sock", "status"], {}, "absolute"),
        (["status"], {"JACO_SERVER": "nonsense"}, "JACO_SERVER"),
        (["--log-level", "loud", "status"], {}, "debug, info, warn, error"),
        (["status"], {"JACO_LOG": "loud"}, "debug, info, warn, error"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], env: dict[str, str], needle: str) -> None:
    rc, out, err = run_jaco(*argv, env=clean_env(env))
    assert rc == 2, (rc, out, err)
    assert needle in one_error_line(err)


def test_unreachable_socket_exits_3(tmpdir_short: Path) -> None:
    path = tmpdir_short / "missing.sock"
    rc, out, err = run_jaco("--server", f"unix://{path}", "status")
    assert rc == 3, (rc, out, err)
    line = one_error_line(err)
    assert str(path) in line
    assert "jacod --dev" in line and "--server" in line  # what to do


def test_stale_socket_nobody_listens_exits_3(tmpdir_short: Path) -> None:
    path = tmpdir_short / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))  # bound, never listening, then closed: connect is refused
    rc, out, err = run_jaco("--server", f"unix://{path}", "status")
    assert rc == 3, (rc, out, err)
    assert "jacod --dev" in one_error_line(err)


def test_refused_tcp_port_exits_3() -> None:
    target = f"127.0.0.1:{free_port()}"
    rc, out, err = run_jaco("--server", target, "status", timeout=60)
    assert rc == 3, (rc, out, err)
    line = one_error_line(err)
    assert target in line
    assert "jacod --dev" in line and "--server" in line


def test_refused_operation_exits_1(shared_jacod: Jacod) -> None:
    # The control API over plain TCP refuses callers without a token.
    rc, out, err = run_jaco("--server", shared_jacod.listen, "status")
    assert rc == 1, (rc, out, err)
    line = one_error_line(err)
    assert "[unauthenticated]" in line
    assert "unix socket" in line or "local socket" in line  # what to do


# ---------------------------------------------------------------- help


def test_top_level_help_teaches_with_examples() -> None:
    rc, out, err = run_jaco("--help")
    assert rc == 0, err
    assert "examples:" in out
    assert "jaco status" in out
    assert "exit codes" in out


def test_verb_help_teaches_with_examples() -> None:
    rc, out, err = run_jaco("status", "--help")
    assert rc == 0, err
    assert "examples:" in out
    assert "jaco status -o json" in out
    assert "--server" in out  # global flags are documented on the verb too


def test_no_verb_without_a_terminal_prints_help() -> None:
    rc, out, err = run_jaco()  # stdin is /dev/null, stdout a pipe
    assert rc == 0, err
    assert out.startswith("usage: jaco")
    assert "examples:" in out


def test_version() -> None:
    from jaco import __version__

    rc, out, _ = run_jaco("--version")
    assert rc == 0 and out.strip() == f"jaco {__version__}"


# ---------------------------------------------------------------- the API surface


def _unimplemented_methods() -> list[tuple[str, bool]]:
    """RPCs jacod answers with its own UNIMPLEMENTED (filled by
    ``jacod.api.unimplemented.fill_unimplemented``)."""
    from jacod.api.control import ControlService
    from jacod.api.node import NodeService

    found = []
    for cls, service in ((ControlService, control_pb2.DESCRIPTOR.services_by_name["Control"]),
                         (NodeService, node_pb2.DESCRIPTOR.services_by_name["NodeService"])):
        for method in service.methods:
            handler = getattr(cls, method.name, None)
            assert handler is not None, f"{service.full_name}/{method.name} has no handler"
            if handler.__qualname__.startswith("fill_unimplemented."):
                found.append((f"/{service.full_name}/{method.name}", method.server_streaming))
    return found


def test_apply_is_answered_unimplemented_naming_the_rpc(shared_jacod: Jacod) -> None:
    answer = call(shared_jacod.socket, "/jaco.v1.Control/Apply", b"")
    if ("/jaco.v1.Control/Apply", False) not in _unimplemented_methods():
        # Apply has landed: it must answer an empty request with a real status.
        assert not isinstance(answer, grpc.RpcError) or answer.code() not in (
            grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)
        return
    assert isinstance(answer, grpc.RpcError)
    assert answer.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "jaco.v1.Control/Apply" in (answer.details() or "")
    assert "not implemented" in (answer.details() or "")


def test_every_unimplemented_rpc_names_itself(shared_jacod: Jacod) -> None:
    methods = _unimplemented_methods()
    for path, streaming in methods:
        answer = call(shared_jacod.socket, path, b"", streaming=streaming)
        assert isinstance(answer, grpc.RpcError), (path, answer)
        assert answer.code() == grpc.StatusCode.UNIMPLEMENTED, (path, answer)
        details = answer.details() or ""
        assert path.lstrip("/") in details and "not implemented" in details, (path, details)


def test_an_rpc_outside_the_api_gets_grpc_unimplemented(shared_jacod: Jacod) -> None:
    answer = call(shared_jacod.socket, "/jaco.v1.Control/NoSuchMethod", b"")
    assert isinstance(answer, grpc.RpcError)
    assert answer.code() == grpc.StatusCode.UNIMPLEMENTED
