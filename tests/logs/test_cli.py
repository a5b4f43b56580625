"""`jaco logs` end to end: the real CLI (a subprocess) against a real grpc.aio
server on a unix socket, whose StreamLogs is LogService.stream on a real
cluster and process runtime."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from jaco.v1 import control_pb2, control_pb2_grpc
from jaco.v1 import entities_pb2 as pb
from jacod.api.interceptors import Authenticator, IdentityInterceptor
from jacod.api.logs import LogService
from tests.helpers import JACO, clean_env

from .harness import Harness


class Control(control_pb2_grpc.ControlServicer):
    """Just StreamLogs, the way ControlService will call it."""

    def __init__(self, logs: LogService) -> None:
        self.logs = logs

    async def StreamLogs(  # noqa: N802 - the gRPC method name
        self, request: control_pb2.LogsRequest, ctx: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.LogBatch]:
        async for batch in self.logs.stream(request):
            yield batch


async def serve(logs: LogService, sock: Path) -> grpc.aio.Server:
    # The real interceptor: domain errors become statuses as in jacod.
    server = grpc.aio.server(interceptors=[IdentityInterceptor(Authenticator())])
    # The generated servicer declares every RPC abstract; only StreamLogs is served here.
    control_pb2_grpc.add_ControlServicer_to_server(Control(logs), server)  # type: ignore[abstract]
    server.add_insecure_port(f"unix:{sock}")
    await server.start()
    return server


class Cli:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def line(self, timeout: float = 10) -> str:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        assert raw, "jaco logs closed its output"
        return raw.decode().rstrip("\n")

    async def until(self, text: str, timeout: float = 10) -> list[str]:
        seen: list[str] = []
        while not (seen and text in seen[-1]):
            seen.append(await self.line(timeout))
        return seen

    async def finish(self, timeout: float = 15) -> tuple[int, str, str]:
        out, err = await asyncio.wait_for(self.proc.communicate(), timeout)
        assert self.proc.returncode is not None
        return self.proc.returncode, out.decode(), err.decode()


async def jaco(sock: Path, *args: str) -> Cli:
    proc = await asyncio.create_subprocess_exec(
        *JACO, "--server", f"unix://{sock}", "logs", *args, env=clean_env({"NO_COLOR": None}),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    return Cli(proc)


def log_tasks() -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("logs")]


@pytest.fixture
async def served(harness: Harness, tmpdir_short: Path) -> AsyncIterator[tuple[Harness, Path]]:
    sock = tmpdir_short / "jacod.sock"
    server = await serve(harness.service(), sock)
    try:
        yield harness, sock
    finally:
        await server.stop(0)


async def test_tail_timestamps_and_json(served: tuple[Harness, Path]) -> None:
    h, sock = served
    await h.deploy("shop", {"web": 2})
    t0 = time.time() + 0.3
    await h.scheduled("shop/web/0", "a", t0, [1, 3])
    await h.scheduled("shop/web/1", "b", t0, [2], stderr="oops")
    for rid in ("shop/web/0", "shop/web/1"):
        await h.runtime.wait(rid)

    rc, out, err = await (await jaco(sock, "shop/web", "--tail", "4")).finish()
    assert (rc, err) == (0, "")
    assert out.splitlines() == ["web/1 ! oops", "web/1 * exited with code 0", "web/0 | a3",
                                "web/0 * exited with code 0"]  # fmt: skip

    rc, out, err = await (await jaco(sock, "shop/web", "--replica", "0", "--timestamps")).finish()
    assert rc == 0
    lines = out.splitlines()
    assert [ln[25:] for ln in lines] == ["web/0 * " + lines[0][33:], "web/0 | a1",
                                         "web/0 | a3", "web/0 * exited with code 0"]
    assert all(ln[10] == "T" and ln[23] == "Z" for ln in lines)  # 2026-11-27T10:00:00.123Z

    rc, out, err = await (await jaco(sock, "shop/web/1", "-o", "json")).finish()
    assert rc == 0
    rows = [json.loads(ln) for ln in out.splitlines()]
    assert [(r["replica_id"], r["stream"], r["line"]) for r in rows[1:]] == [
        ("shop/web/1", "stdout", "b2"), ("shop/web/1", "stderr", "oops"),
        ("shop/web/1", "system", "exited with code 0")]
    assert set(rows[0]) == {"ts", "replica_id", "node", "stream", "line"}
    assert rows[0]["node"] == "n1" and rows[0]["ts"].endswith("Z")


async def test_errors(served: tuple[Harness, Path]) -> None:
    h, sock = served
    await h.deploy("shop", {"web": 1})
    rc, out, err = await (await jaco(sock, "shop/wbe")).finish()
    assert (rc, out) == (1, "")
    assert err == ("jaco: error: deployment 'shop' has no service 'wbe'; services: web "
                   "[not_found]\n")  # fmt: skip
    rc, out, err = await (await jaco(sock, "nope/web", "-f")).finish()
    assert rc == 1 and "deployment 'nope' does not exist; deployments: shop" in err
    rc, out, err = await (await jaco(sock, "shop")).finish()
    assert rc == 2 and "expected DEPLOYMENT/SERVICE (e.g. shop/web), got 'shop'" in err
    rc, out, err = await (await jaco(sock, "shop/web", "--replica", "worker/1")).finish()
    assert rc == 2 and "--replica: expected a replica of shop/web" in err


async def test_follow_until_the_deployment_is_deleted(served: tuple[Harness, Path]) -> None:
    h, sock = served
    await h.deploy("shop", {"web": 2})
    await h.ticker("shop/web/0", "a")
    await h.ticker("shop/web/1", "b")
    cli = await jaco(sock, "shop/web", "-f", "--tail", "1")
    seen = await cli.until("a 3")
    assert any(ln.startswith("web/1 | b ") for ln in seen)
    await h.delete("shop")
    for rid in ("shop/web/0", "shop/web/1"):  # what the agents do
        await h.runtime.stop(rid, grace_s=2)
        await h.runtime.remove(rid)
    rc, out, err = await cli.finish()
    assert (rc, err) == (0, "")
    rest = out.splitlines()
    assert rest[-1] == "jaco  * deployment shop was deleted"
    assert "web/0 * exited with code 0" in rest or "web/0 * exited with code 143" in rest


async def test_follow_rides_out_a_jacod_restart(harness: Harness, tmpdir_short: Path) -> None:
    h = harness
    sock = tmpdir_short / "jacod.sock"
    logs = h.service()
    server = await serve(logs, sock)
    try:
        await h.deploy("shop", {"web": 1})
        await h.ticker("shop/web/0", "a", pause=0.02)
        cli = await jaco(sock, "shop/web", "-f")
        before = await cli.until("a 5")
        await server.stop(0.1)  # jacod stops...
        await asyncio.sleep(0.5)  # ...the replica keeps logging...
        server = await serve(logs, sock)  # ...and jacod is back
        after = await cli.until("a 60")
        cli.proc.send_signal(signal.SIGINT)
        rc, out, err = await cli.finish()
    finally:
        await server.stop(0)
    for _ in range(50):  # the server noticed the client left: nothing of it remains
        if h.cluster.bus.subscribers == 0 and not log_tasks():
            break
        await asyncio.sleep(0.02)
    assert h.cluster.bus.subscribers == 0 and not log_tasks()
    counted = [ln for ln in before + after + out.splitlines() if ln.startswith("web/0 | a ")]
    assert counted == [f"web/0 | a {i}" for i in range(len(counted))]  # no gap, nothing twice
    assert rc == 130 and len(counted) > 60
    assert err.startswith("jaco: lost the log stream (") and "reconnecting" in err
    assert err.endswith("jaco: reconnected; resuming\n") and "Traceback" not in err


async def test_a_reader_that_goes_away_is_not_an_error(served: tuple[Harness, Path]) -> None:
    h, sock = served
    await h.deploy("shop", {"web": 1})
    await h.run("shop/web/0", ["seq", "1", "50000"])
    await h.runtime.wait("shop/web/0")
    cmd = " ".join([*JACO, "--server", f"unix://{sock}", "logs", "shop/web"])
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", f"set -o pipefail; {cmd} | head -n 2", env=clean_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert (proc.returncode, err) == (0, b"")
    assert out.decode().splitlines()[1] == "web/0 | 1"


async def test_a_burst_prints_whole_and_in_order_and_a_lone_line_at_once(
    served: tuple[Harness, Path], tmp_path: Path
) -> None:
    h, sock = served
    await h.deploy("shop", {"web": 2})
    await h.run("shop/web/0", ["seq", "1", "20000"])  # tens of batches
    await h.runtime.wait("shop/web/0")
    rc, out, err = await (await jaco(sock, "shop/web")).finish()
    assert (rc, err) == (0, "")
    printed = [ln for ln in out.splitlines() if ln.startswith("web/0 | ")]
    assert printed == [f"web/0 | {i}" for i in range(1, 20001)]
    rc, out, err = await (await jaco(sock, "shop/web", "-o", "json")).finish()
    rows = [json.loads(ln) for ln in out.splitlines()]
    assert [r["line"] for r in rows if r["stream"] == "stdout"] == [str(i) for i in range(1, 20001)]

    gate = tmp_path / "gate"
    cli = await jaco(sock, "shop/web", "--replica", "1", "-f")
    await h.sh("shop/web/1", f"echo one; while [ ! -e {gate} ]; do sleep 0.01; done; echo two")
    # printed (and flushed through the pipe) while the replica writes nothing more
    assert (await cli.until("web/1 | one"))[-1] == "web/1 | one"
    gate.touch()
    await cli.until("web/1 | two")
    cli.proc.send_signal(signal.SIGINT)
    assert (await cli.finish())[0] == 130
