"""Real multi-node `jacod` clusters on loopback, for the end-to-end cluster tests.

- :class:`Node`: one `jacod` with its own data dir, unix socket (in a short
  /tmp dir: socket paths are limited to 107 bytes), gRPC and raft ports; its
  stderr is appended to ``<base>/<name>.stderr`` across restarts so that every
  line a node ever logged can be inspected (and scanned for secrets).
- :class:`Cluster`: bootstrap, join, find the leader, teardown (kills every
  process it started).
- :func:`wait_for`: bounded polling; every wait in these tests goes through it.

Reads use the raw gRPC stubs on the unix socket (fast, no process per poll);
the operator-facing verbs (`node ls`, `node join-token`, `backup`,
`node remove`) go through the real `jaco` CLI.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import grpc

from jaco.v1 import control_pb2, control_pb2_grpc
from jaco.v1 import entities_pb2 as pb
from tests.helpers import JACOD, Result, clean_env, free_port, run_jaco

T = TypeVar("T")

RPC_TIMEOUT = 5.0
READY_TIMEOUT = 30.0
LEADER_TIMEOUT = 15.0

_used_ports: set[int] = set()


def unique_port() -> int:
    """A free loopback port not handed out before in this process (two
    ``free_port()`` calls may otherwise return the same released port)."""
    for _ in range(100):
        port = free_port()
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise RuntimeError("no unused free port found")


def wait_for(
    fn: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.1,
    describe: Callable[[], str] | None = None,
) -> T:
    """Call ``fn`` until it returns something truthy (returned) or ``timeout``
    passes (AssertionError naming ``what``, the last exception and
    ``describe()``). Exceptions from ``fn`` count as "not yet"."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    last_value: object = None
    while True:
        try:
            value = fn()
        except (grpc.RpcError, OSError, AssertionError, ValueError, KeyError) as exc:
            last_exc, value = exc, None
        if value:
            return value
        last_value = value
        if time.monotonic() >= deadline:
            extra = describe() if describe else ""
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}; last value: {last_value!r}; "
                f"last error: {last_exc!r}\n{extra}"
            )
        time.sleep(interval)


# ---------------------------------------------------------------- audit events


class AuditKey(NamedTuple):
    """Everything an audit event carries, comparable and printable."""

    id: int
    ts_ns: int
    type: str
    identity: str
    payload: str
    deployment: str
    node: str
    trace_id: str


def event_key(e: pb.AuditEvent) -> AuditKey:
    return AuditKey(
        e.id,
        e.ts.ToNanoseconds(),
        pb.AuditEventType.Name(e.type),
        e.identity,
        e.payload,
        e.deployment,
        e.node,
        e.trace_id,
    )


def type_name(e: pb.AuditEvent) -> str:
    return pb.AuditEventType.Name(e.type).removeprefix("AUDIT_EVENT_TYPE_").lower()


def payload(e: pb.AuditEvent) -> dict[str, Any]:
    return json.loads(e.payload) if e.payload else {}


# ---------------------------------------------------------------- one node


class Node:
    def __init__(self, base: Path, name: str):
        self.base = base
        self.name = name
        self.data_dir = base / name
        self.socket = base / f"{name}.sock"
        self.port = unique_port()
        self.raft_port = unique_port()
        self.node_port = unique_port()  # node-to-node, mutual TLS (--node-listen)
        self.ingress_port = unique_port()
        self.dns_port = unique_port()
        self.stderr_path = base / f"{name}.stderr"
        self.proc: subprocess.Popen[bytes] | None = None
        self.last_argv: list[str] = []

    def __repr__(self) -> str:
        return (
            f"Node({self.name}, {self.address}, raft {self.raft_address}, running={self.running})"
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def node_address(self) -> str:
        return f"127.0.0.1:{self.node_port}"

    @property
    def raft_address(self) -> str:
        return f"127.0.0.1:{self.raft_port}"

    @property
    def server(self) -> str:
        return f"unix://{self.socket}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- process -----------------------------------------------------------

    def argv(self, *extra: str) -> list[str]:
        return [
            *JACOD,
            "--node-name",
            self.name,
            "--data-dir",
            str(self.data_dir),
            "--socket",
            str(self.socket),
            "--listen",
            self.address,
            "--raft-listen",
            self.raft_address,
            # a --dev node has no PKI, so no node port
            *(() if "--dev" in extra else ("--node-listen", self.node_address)),
            "--ingress-listen",
            f"127.0.0.1:{self.ingress_port}",
            "--dns-listen",
            f"127.0.0.1:{self.dns_port}",
            *extra,
        ]

    def start(self, *extra: str) -> Node:
        """Start jacod (no wait). ``extra``: --bootstrap, --join ..., --restore ..."""
        assert not self.running, f"{self.name} is already running"
        self.base.mkdir(parents=True, exist_ok=True)
        self.last_argv = self.argv(*extra)
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                self.last_argv,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> Node:
        """Until GetStatus answers on the socket and this node knows its
        cluster (bootstrapped, or replicated from the leader) and a leader."""

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise _Exited(self.proc.returncode)
            if not self.socket.exists():
                return False
            st = self.status()
            return bool(st.cluster.cluster_id and st.cluster.leader) and any(
                n.name == self.name for n in st.nodes
            )

        try:
            # _Exited is not one of the errors wait_for retries on: it ends the wait.
            wait_for(ready, timeout, f"{self.name} to be ready", describe=self.describe)
        except _Exited as exc:
            raise AssertionError(
                f"{self.name} exited with {exc.rc} before it was ready\n{self.describe()}"
            ) from None
        return self

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait; the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.name} did not exit within {timeout}s of SIGTERM\n{self.describe()}"
            ) from None

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.name} was expected to exit within {timeout}s but kept running\n"
                + self.describe()
            ) from None

    # -- reading it ----------------------------------------------------------

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def describe(self, tail: int = 40) -> str:
        lines = self.stderr().splitlines()[-tail:]
        return f"--- {self!r} stderr (last {tail} lines):\n" + "\n".join(lines)

    def cluster_file(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "cluster.json").read_text())

    def _stub(self, channel: grpc.Channel) -> control_pb2_grpc.ControlStub:
        return control_pb2_grpc.ControlStub(channel)

    def status(self, timeout: float = RPC_TIMEOUT) -> control_pb2.GetStatusResponse:
        with grpc.insecure_channel(self.server) as ch:
            resp: control_pb2.GetStatusResponse = self._stub(ch).GetStatus(
                control_pb2.GetStatusRequest(), timeout=timeout
            )
            return resp

    def audit(self, timeout: float = RPC_TIMEOUT) -> list[pb.AuditEvent]:
        """The whole audit log as this node has applied it (paged)."""
        events: list[pb.AuditEvent] = []
        with grpc.insecure_channel(self.server) as ch:
            stub = self._stub(ch)
            after = 0
            while True:
                resp = stub.QueryAudit(control_pb2.AuditQuery(after_id=after), timeout=timeout)
                events.extend(resp.events)
                if not resp.events or resp.events[-1].id >= resp.last_id:
                    return events
                after = resp.events[-1].id

    def audit_keys(self) -> list[AuditKey]:
        return [event_key(e) for e in self.audit()]

    def jaco(self, *args: str, timeout: float = 30) -> Result:
        return run_jaco("--server", self.server, *args, env=clean_env(), timeout=timeout)

    def node_ls(self) -> list[dict[str, Any]]:
        r = self.jaco("-o", "json", "node", "ls")
        assert r.rc == 0, f"`jaco node ls` on {self.name} failed: {r}"
        nodes: list[dict[str, Any]] = json.loads(r.out)
        return nodes

    def join_token(self) -> str:
        r = self.jaco("node", "join-token")
        assert r.rc == 0, f"`jaco node join-token` on {self.name} failed: {r}"
        return r.out.strip()

    def backup(self, path: Path, timeout: float = 30) -> int:
        """`jaco backup FILE` through this node; the backup_taken audit id."""
        r = self.jaco("-o", "json", "backup", str(path), timeout=timeout)
        assert r.rc == 0, f"`jaco backup` via {self.name} failed: {r}\n{self.describe()}"
        audit_id: int = json.loads(r.out)["audit_id"]
        assert audit_id > 0, r
        return audit_id


class _Exited(Exception):
    def __init__(self, rc: int):
        self.rc = rc


# ---------------------------------------------------------------- a cluster


class Cluster:
    def __init__(self, base: Path):
        self.base = base
        self.nodes: dict[str, Node] = {}
        self.tokens: list[str] = []  # every join token handed out (must never be logged)
        self.extra_logs: list[Path] = []  # stderr of other processes of the test
        self.strays: list[Node] = []  # nodes that are not (or not meant to be) members

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def node(self, name: str) -> Node:
        if name not in self.nodes:
            self.nodes[name] = Node(self.base, name)
        return self.nodes[name]

    def outsider(self, name: str) -> Node:
        """A node that is not a member (e.g. a join meant to fail): not in
        ``nodes``, but killed at teardown and its log kept for inspection."""
        n = Node(self.base, name)
        self.strays.append(n)
        self.extra_logs.append(n.stderr_path)
        return n

    def running(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.running]

    def bootstrap(self, name: str, *extra: str) -> Node:
        return self.node(name).start("--bootstrap", *extra).wait_ready()

    def token(self, via: Node) -> str:
        token = via.join_token()
        self.tokens.append(token)
        return token

    def join(self, name: str, via: Node, token: str | None = None) -> Node:
        token = token or self.token(via)
        # As docs/cluster.md advises: a file, not the command line (ps, journal).
        token_file = self.base / f"{name}.join-token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        node = self.node(name).start("--join", via.address, "--join-token-file", str(token_file))
        return node.wait_ready()

    def describe(self) -> str:
        return "\n".join(n.describe() for n in self.nodes.values())

    def leader(self, among: Iterable[Node] | None = None, timeout: float = LEADER_TIMEOUT) -> Node:
        """Wait until every node of ``among`` (default: the running ones)
        names the same leader, that leader is one of them and reports itself
        leader; return it."""
        group = list(among) if among is not None else self.running()
        by_name = {n.name: n for n in group}

        def agreed() -> Node | None:
            leaders = {n.status(timeout=2).cluster.leader for n in group}
            if len(leaders) != 1:
                return None
            name = leaders.pop()
            if name not in by_name:
                return None
            me = by_name[name].status(timeout=2).node
            return by_name[name] if me.role == pb.RAFT_ROLE_LEADER else None

        return wait_for(
            agreed,
            timeout,
            f"one leader among {sorted(by_name)}",
            describe=lambda: self.describe_status(group),
        )

    def describe_status(self, group: Sequence[Node]) -> str:
        out = []
        for n in group:
            try:
                st = n.status(timeout=2)
                out.append(
                    f"{n.name}: leader={st.cluster.leader!r} term={st.cluster.raft_term} "
                    f"commit={st.cluster.raft_commit_index} role={st.node.role} "
                    f"nodes={[x.name for x in st.nodes]}"
                )
            except grpc.RpcError as err:
                out.append(f"{n.name}: GetStatus failed: {err.code()} {err.details()}")
        return "\n".join(out) + "\n" + "\n".join(n.describe(20) for n in group)

    def wait_same_audit(
        self, group: Iterable[Node], timeout: float = 10, min_last_id: int = 0
    ) -> list[AuditKey]:
        """Until every node of ``group`` has the same audit log (with at least
        ``min_last_id`` events); that log."""
        nodes = list(group)

        def same() -> list[AuditKey] | None:
            logs = [n.audit_keys() for n in nodes]
            first = logs[0]
            if not first or first[-1].id < min_last_id:
                return None
            return first if all(log == first for log in logs[1:]) else None

        def describe() -> str:
            out = []
            for n in nodes:
                try:
                    out.append(f"{n.name}: {[(k.id, k.type) for k in n.audit_keys()]}")
                except grpc.RpcError as err:
                    out.append(f"{n.name}: {err.code()}")
            return "\n".join(out)

        return wait_for(
            same, timeout, f"the same audit log on {[n.name for n in nodes]}", describe=describe
        )

    def all_logs(self) -> dict[str, str]:
        logs = {f"{n.name}.stderr": n.stderr() for n in self.nodes.values()}
        for path in self.extra_logs:
            if path.exists():
                logs[path.name] = path.read_text(errors="replace")
        return logs

    def kill_all(self) -> None:
        for n in [*self.nodes.values(), *self.strays]:
            n.kill()
