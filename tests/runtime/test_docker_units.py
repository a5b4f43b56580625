"""The docker runtime's pure parts: names, labels, the create body, inspect →
ContainerInfo, RFC 3339 stamps, and the multiplexed log stream → LogEntry."""

from __future__ import annotations

import calendar
import re
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jacod.runtime import ReplicaSpec
from jacod.runtime.docker_engine import PullProgress, _Progress
from jacod.runtime.docker_logs import (
    SECOND,
    Decoder,
    FrameParser,
    LineAssembler,
    RawLine,
    Stamper,
    Window,
    floor_second,
)
from jacod.runtime.docker_spec import (
    container_info,
    container_name,
    create_body,
    is_ours,
    parse_time,
    stop_timeout,
)

T0 = calendar.timegm((2026, 11, 27, 3, 29, 29, 0, 0, 0)) * SECOND
SPEC = ReplicaSpec(
    replica_id="shop/web/0", deployment="shop", service="web", revision=3,
    image="localhost/busybox:test", command=["sh", "-c", "echo hi"],
    env={"B": "2", "A": "1", "JACO_PORT_8080": "41000", "PORT": "41000"},
    ports=[8080], cpu=0.25, memory_bytes=64 << 20, workdir="/tmp",
)  # fmt: skip


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


# -- names, labels, create ----------------------------------------------------------


def test_container_names_are_valid_distinct_and_stable() -> None:
    ids = ["shop/web/0", "shop/web/1", "shop/we/b0", "a b/ü/0", "shop-web/0/x"]
    names = {container_name(n, r) for n in ("n1", "n2") for r in ids}
    assert len(names) == 2 * len(ids)
    for name in names:
        assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", name), name
    assert container_name("n1", "shop/web/0") == container_name("n1", "shop/web/0")
    assert container_name("n1", "shop/web/0").startswith("jaco-n1-shop-web-0-")


def test_create_body_carries_labels_env_limits_and_no_restart_policy() -> None:
    body = create_body(SPEC, "n1", "host")
    assert body["Labels"] == {
        "jaco.managed": "true", "jaco.node": "n1", "jaco.deployment": "shop",
        "jaco.service": "web", "jaco.replica_id": "shop/web/0", "jaco.revision": "3",
    }  # fmt: skip
    assert body["Env"] == ["A=1", "B=2", "JACO_PORT_8080=41000", "PORT=41000"]
    assert body["Cmd"] == ["sh", "-c", "echo hi"] and body["WorkingDir"] == "/tmp"
    host = body["HostConfig"]
    assert host["RestartPolicy"] == {"Name": "no"} and host["NetworkMode"] == "host"
    assert host["Memory"] == 64 << 20 and host["NanoCpus"] == 250_000_000
    assert "PortBindings" not in host


def test_create_body_publishes_host_ports_off_the_host_network() -> None:
    host = create_body(SPEC, "n1", "bridge")["HostConfig"]
    assert host["PortBindings"] == {"41000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "41000"}]}


def test_image_default_command_and_no_limits() -> None:
    bare = ReplicaSpec(replica_id="d/s/0", deployment="d", service="s", revision=1, image="x")
    body = create_body(bare, "n", "host")
    assert "Cmd" not in body and "WorkingDir" not in body
    assert "Memory" not in body["HostConfig"] and "NanoCpus" not in body["HostConfig"]


def test_ownership_needs_managed_label_node_and_replica() -> None:
    labels = create_body(SPEC, "n1", "host")["Labels"]
    assert is_ours({"Config": {"Labels": labels}}, "n1", "shop/web/0")
    assert is_ours({"Labels": labels}, "n1")
    assert not is_ours({"Labels": labels}, "n2")
    assert not is_ours({"Labels": labels}, "n1", "shop/web/1")
    assert not is_ours({"Labels": {**labels, "jaco.managed": "false"}}, "n1")
    assert not is_ours({"Config": {"Labels": None}}, "n1")


@pytest.mark.parametrize(("grace", "t"), [(0, 0), (0.5, 1), (1, 1), (10, 10), (2.01, 3)])
def test_stop_timeout_never_shorter_than_asked(grace: float, t: int) -> None:
    assert stop_timeout(grace) == t


# -- inspect → ContainerInfo ---------------------------------------------------------


def inspect(status: str, **state: object) -> dict[str, object]:
    base = {"Status": status, "Running": status == "running", "Pid": 0, "ExitCode": 0,
            "Error": "", "OOMKilled": False, "StartedAt": "0001-01-01T00:00:00Z",
            "FinishedAt": "0001-01-01T00:00:00Z"}  # fmt: skip
    base.update(state)
    return {
        "Id": "c1",
        "State": base,
        "Config": {"Labels": create_body(SPEC, "n1", "host")["Labels"]},
    }


def test_info_created_running_exited() -> None:
    created = container_info(inspect("created"))
    assert (created.status, created.pid, created.exit_code, created.started_at_ns) == (
        "created", None, None, 0,
    )  # fmt: skip
    assert (created.replica_id, created.deployment, created.service, created.revision) == (
        "shop/web/0", "shop", "web", 3,
    )  # fmt: skip
    running = container_info(inspect("running", Pid=42, StartedAt="2026-11-27T03:29:29.5Z",
                                     FinishedAt="2026-11-27T03:29:20Z"))  # fmt: skip
    assert (running.status, running.pid, running.started_at_ns) == ("running", 42, T0 + SECOND // 2)
    assert running.finished_at_ns == 0  # the previous run's exit, not this one's
    exited = container_info(inspect("exited", ExitCode=137, StartedAt="2026-11-27T03:29:29Z",
                                    FinishedAt="2026-11-27T03:29:31Z"))  # fmt: skip
    assert (exited.status, exited.exit_code, exited.finished_at_ns) == (
        "exited",
        137,
        T0 + 2 * SECOND,
    )


def test_info_failed_start_is_an_exit_with_the_reason() -> None:
    # podman leaves a plain `created` container: the runtime passes what start said.
    info = container_info(inspect("created"), start_error='exec: "nope": executable file not found')
    assert (info.status, info.exit_code) == ("exited", 127)
    assert info.error == 'exec failed: exec: "nope": executable file not found'
    # Docker records it in the container itself.
    info = container_info(inspect("created", ExitCode=126, Error="permission denied"))
    assert (info.status, info.exit_code, info.error) == ("exited", 126, "permission denied")


def test_info_oom_killed_says_so() -> None:
    info = container_info(inspect("exited", ExitCode=137, OOMKilled=True))
    assert "out of memory" in info.error


# -- RFC 3339 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2026-11-27T03:29:29Z", (T0, False)),
        ("2026-11-27T03:29:29.985881664Z", (T0 + 985_881_664, True)),
        ("2026-11-27T03:29:29.5Z", (T0 + 500_000_000, True)),
        ("2026-11-27T03:29:29.1234567891Z", (T0 + 123_456_789, True)),
        ("2026-11-27T04:29:29+01:00", (T0, False)),
        ("2026-11-27T02:59:29.25-00:30", (T0 + 250_000_000, True)),
        ("0001-01-01T00:00:00Z", (0, False)),
        ("", (0, False)),
        ("garbage-but-long-enough-text", (0, False)),
        ("2026-11-27T03:29:29", (0, False)),
    ],
)
def test_parse_time(text: str, want: tuple[int, bool]) -> None:
    assert parse_time(text) == want


# -- frames and lines -------------------------------------------------------------------


def test_frames_survive_any_chunking() -> None:
    data = frame(1, b"2026-11-27T03:29:29Z a\n") + frame(2, b"2026-11-27T03:29:29Z b\n")
    data += frame(0, b"ignored") + frame(1, b"")
    for size in (1, 3, 8, 9, len(data)):
        p = FrameParser()
        got = [f for i in range(0, len(data), size) for f in p.feed(data[i : i + size])]
        assert got == [("stdout", b"2026-11-27T03:29:29Z a\n"),
                       ("stderr", b"2026-11-27T03:29:29Z b\n"), ("stdout", b"")]  # fmt: skip


def test_tty_stream_is_raw_stdout() -> None:
    assert FrameParser(raw=True).feed(b"2026-11-27T03:29:29Z x\n") == [
        ("stdout", b"2026-11-27T03:29:29Z x\n")
    ]


def test_long_lines_are_joined_and_keep_the_first_stamp() -> None:
    a = LineAssembler()
    assert list(a.feed("stdout", b"2026-11-27T03:29:29Z part one ")) == []
    assert list(a.feed("stderr", b"2026-11-27T03:29:30Z err\n")) == [
        RawLine(T0 + SECOND, False, "stderr", "err")
    ]
    assert list(a.feed("stdout", b"2026-11-27T03:29:31Z and two\n")) == [
        RawLine(T0, False, "stdout", "part one and two")
    ]
    assert list(a.feed("stdout", b"2026-11-27T03:29:31Z no newline")) == []
    assert list(a.flush()) == [RawLine(T0 + 2 * SECOND, False, "stdout", "no newline")]


def test_unstamped_payload_and_bad_utf8_are_kept() -> None:
    (line,) = LineAssembler().feed("stdout", b"\xff\xfe weird\n")
    assert line.stamp_ns == 0 and "weird" in line.text


# -- stamps ---------------------------------------------------------------------------------


def payloads(n_per_second: list[int]) -> list[bytes]:
    out = []
    for s, n in enumerate(n_per_second):
        for i in range(n):
            out.append(frame(1 + i % 2, f"2026-11-27T03:29:{29 + s:02d}Z l{s}.{i}\n".encode()))
    return out


def decode(frames: list[bytes], window: Window) -> list[tuple[int, str]]:
    d = Decoder("r", window)
    got = d.feed(b"".join(frames)) + d.finish()
    return [(e.ts_ns, e.line) for e in got]


def test_stamps_strictly_increase_and_rereads_from_a_second_agree() -> None:
    frames = payloads([3, 2, 4])
    full = decode(frames, Window())
    stamps = [ts for ts, _ in full]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert stamps[:3] == [T0, T0 + 1, T0 + 2] and stamps[3] == T0 + SECOND
    # Resuming after the 5th line: the engine sends from that line's whole second on.
    after = full[4][0]
    resumed = decode(frames[3:], Window(after=after))
    assert resumed == full[5:]


def test_window_by_run_boundary_and_since() -> None:
    frames = payloads([2, 2, 2])
    # Coarse stamps are compared by their second: a boundary inside second 1 keeps all of it.
    run = decode(frames, Window(lo=T0 + SECOND + 400_000_000))
    assert [line for _, line in run] == ["l1.0", "l1.1", "l2.0", "l2.1"]
    prev = decode(frames, Window(hi=T0 + SECOND + 400_000_000))
    assert [line for _, line in prev] == ["l0.0", "l0.1"]
    since = decode(frames, Window(after=T0 + SECOND))  # since_ns = T0 + 1 s + 1
    assert [line for _, line in since] == ["l1.1", "l2.0", "l2.1"]
    assert Window(lo=T0 + 5, after=T0 + SECOND + 3).since_param() == (T0 + SECOND) // SECOND


def test_fine_stamps_use_the_exact_boundary() -> None:
    d = Decoder("r", Window(lo=T0 + 500))
    got = d.feed(frame(1, b"2026-11-27T03:29:29.000000400Z old\n")
                 + frame(1, b"2026-11-27T03:29:29.000000600Z new\n"))  # fmt: skip
    assert [e.line for e in got] == ["new"]


def test_equal_or_backwards_stamps_are_bumped() -> None:
    s = Stamper()
    lines = [RawLine(t, True, "stdout", "") for t in (10, 10, 5, 11, 20)]
    assert [s.stamp(x) for x in lines] == [10, 11, 12, 13, 20]


@given(st.lists(st.integers(0, 5), min_size=1, max_size=6), st.integers(0, 30))
def test_resuming_anywhere_never_duplicates_or_loses(per_second: list[int], cut: int) -> None:
    frames = payloads(per_second)
    full = decode(frames, Window())
    if not full:
        return
    cut %= len(full)
    after = full[cut][0]
    second = floor_second(after)
    start = next(i for i, f in enumerate(frames) if parse_time(f[8:28].decode())[0] >= second)
    assert decode(frames[start:], Window(after=after)) == full[cut + 1 :]


# -- pull progress ----------------------------------------------------------------------------


def test_pull_progress_sums_layers() -> None:
    p = _Progress("img")
    p.update({"status": "Pulling fs layer", "id": "a"})
    p.update({"status": "Downloading", "id": "a", "progressDetail": {"current": 5, "total": 10}})
    p.update({"status": "Downloading", "id": "b", "progressDetail": {"current": 1, "total": 4}})
    last = p.update({"status": "Pull complete", "id": "a"})
    assert last == PullProgress(image="img", status="Pull complete", current_bytes=6,
                                total_bytes=14, layers_done=1, layers=2)  # fmt: skip
