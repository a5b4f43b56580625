"""The raft adapter: propose commands from asyncio, read state, publish changes.

- ``propose(cmd)`` on the leader goes straight into PySyncObj and resolves when
  the command is applied; on a follower it is forwarded to the leader over the
  node gRPC service and the caller gets the leader's answer.
- No leader within the deadline -> ``Unavailable`` saying so; never a hang.
- Every applied command is handed to the asyncio loop (``call_soon_threadsafe``)
  and published on the event bus.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import TypeVar

import grpc
import msgspec
from pysyncobj import FAIL_REASON, SyncObj

from jacod import config, errors
from jacod.cluster import raft
from jacod.cluster.bus import Applied, EventBus, LeaderChanged
from jacod.cluster.peers import Peers
from jacod.cluster.raft import deployment_of
from jacod.state import Command, Outcome, Rejected, Result, State, encode_command
from jacod.state.enums import RejectCode
from obs import telemetry
from obs.logging import get_logger
from obs.telemetry import names

log = get_logger("raft")
T = TypeVar("T")

REJECTED = {
    RejectCode.NOT_FOUND: errors.NotFound,
    RejectCode.ALREADY_EXISTS: errors.AlreadyExists,
    RejectCode.INVALID: errors.InvalidArgument,
    RejectCode.FAILED_PRECONDITION: errors.FailedPrecondition,
}

# Failures after which the command certainly did not commit: safe to retry.
_RETRYABLE = {
    FAIL_REASON.MISSING_LEADER,
    FAIL_REASON.NOT_LEADER,
    FAIL_REASON.QUEUE_FULL,
    FAIL_REASON.DISCARDED,
}


# The leader we forwarded to was unreachable or too slow: not committed by it.
_FORWARD_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


def raise_rejected(outcome: Outcome) -> Result:
    if isinstance(outcome, Rejected):
        raise REJECTED.get(outcome.code, errors.FailedPrecondition)(outcome.message)
    return outcome


class Cluster:
    def __init__(self, node_name: str, raft_address: str, secret: str):
        self.node_name = node_name
        self.raft_address = raft_address
        self.bus = EventBus()
        self.fsm = raft.StateMachine(self._applied_on_raft_thread)
        self.peers = Peers(node_name, secret, locate=self.node_address_of)
        self.sync: SyncObj | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_leader: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Observers for the metrics issue: seconds from propose to applied.
        self.commit_observers: list[Callable[[float], None]] = []
        self.apply_observers: list[Callable[[float], None]] = []
        # The unix-socket caller's uid in the proposing context (set by the
        # wiring from jacod/api/context); stamped on commands as peer_uid.
        self.caller_uid: Callable[[], int | None] = lambda: None

    # -- lifecycle ---------------------------------------------------------

    def start_raft(self, sync_factory: Callable[[raft.StateMachine], SyncObj]) -> None:
        self._loop = asyncio.get_running_loop()
        self.sync = sync_factory(self.fsm)

    def spawn(self, coro: Coroutine[object, object, None], name: str) -> None:
        """A background task owned by the cluster: cancelled by ``stop``."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.peers.close()
        if self.sync is not None:
            sync, self.sync = self.sync, None
            await asyncio.to_thread(sync.destroy_synchronous)

    # -- raft thread -> loop --------------------------------------------------

    def _applied_on_raft_thread(
        self, cmd: Command | None, outcome: Outcome, seconds: float
    ) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        tp = telemetry.current_traceparent()  # the raft.apply span, if traced
        loop.call_soon_threadsafe(self._publish, cmd, outcome, seconds, tp)

    def _publish(self, cmd: Command | None, outcome: Outcome, seconds: float, tp: str) -> None:
        for observe in self.apply_observers:
            observe(seconds)
        self.bus.publish(Applied(cmd, outcome, tp))
        leader = self.leader_raft_address()
        if leader != self._last_leader:
            self._last_leader = leader
            self.bus.publish(LeaderChanged(leader or ""))

    # -- reads -----------------------------------------------------------------

    def read(self, fn: Callable[[State], T]) -> T:
        """Run ``fn`` on the state under the apply lock; copy what you keep."""
        with self.fsm.lock:
            return fn(self.fsm.state)

    def raft_status(self) -> dict[str, object]:
        return self.sync.getStatus() if self.sync is not None else {}

    def catching_up(self) -> bool:
        """True until this node has synced with the cluster after (re)starting."""
        return self.sync is None or not self.sync.isReady()

    def is_leader(self) -> bool:
        return self.sync is not None and self.sync._isLeader()

    def leader_raft_address(self) -> str | None:
        """The leader this node can reach, or None. A follower cut off from
        everyone keeps its last leader in PySyncObj (it cannot even start an
        election), so an unconnected leader counts as none."""
        if self.sync is None:
            return None
        leader = self.sync._getLeader()
        if leader is None:
            return None
        if str(leader.id) != self.raft_address and not self.sync.isNodeConnected(leader):
            return None
        return str(leader.id)

    def leader_name(self) -> str:
        addr = self.leader_raft_address()
        if addr is None:
            return ""
        return self.read(
            lambda s: next((n.name for n in s.nodes.values() if n.raft_address == addr), addr)
        )

    def node_address_of(self, address: str) -> str:
        """The node port (mutual TLS) of the member whose API address is ``address``."""
        recorded = self.read(
            lambda s: next((n.node_address for n in s.nodes.values() if n.address == address), "")
        )
        # Not recorded: a node that joined before node ports were advertised
        # listens on the default one.
        return recorded or config.default_node_listen(address)

    def _leader_grpc_address(self, raft_addr: str) -> str:
        addr = self.read(
            lambda s: next(
                (n.address for n in s.nodes.values() if n.raft_address == raft_addr), None
            )
        )
        if not addr:
            raise errors.Unavailable(
                f"the leader ({raft_addr}) has no gRPC address to forward to; "
                "start every node of a multi-node cluster with --listen"
            )
        return addr

    async def wait_for_leader(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            leader = self.leader_raft_address()
            if leader is not None:
                return leader
            if time.monotonic() >= deadline:
                raise errors.Unavailable(self._no_leader_message())
            await asyncio.sleep(0.05)

    def _no_leader_message(self) -> str:
        st = self.raft_status()
        peers = int(st.get("partner_nodes_count", 0) or 0)  # type: ignore[call-overload]
        connected = sum(
            1 for k, v in st.items() if k.startswith("partner_node_status_server_") and v == 2
        )
        return (
            f"the cluster has no leader (no quorum?): this node reaches {connected} of its "
            f"{peers} peers; check `jaco node ls` on other nodes"
        )

    async def barrier(self, timeout: float = 5.0) -> None:
        """Wait until this node has applied everything the leader had committed
        when we asked: what `--consistent` reads use."""
        leader = await self.wait_for_leader(timeout)
        if leader == self.raft_address:
            target = int(self.raft_status().get("commit_idx", 0))  # type: ignore[call-overload]
        else:
            try:
                ping = await self.peers.ping(self._leader_grpc_address(leader), timeout)
            except grpc.aio.AioRpcError as err:
                raise errors.Unavailable(
                    f"cannot reach the leader ({err.code().name.lower()}): "
                    + self._no_leader_message()
                ) from None
            target = ping.cluster.raft_commit_index
        deadline = time.monotonic() + timeout
        while int(self.raft_status().get("last_applied", 0)) < target:  # type: ignore[call-overload]
            if time.monotonic() >= deadline:
                raise errors.Unavailable("this node is not catching up with the leader")
            await asyncio.sleep(0.01)

    # -- writes ------------------------------------------------------------------

    async def propose(self, cmd: Command, timeout: float = 10.0) -> Result:
        """Commit ``cmd`` through the leader; raise the domain error of a rejection.
        Traced as ``raft.commit``; the command carries its traceparent so that
        ``raft.apply`` on every node joins the caller's trace."""
        with telemetry.span(names.RAFT_COMMIT, only_in_trace=True, deployment=deployment_of(cmd)):
            if tp := telemetry.current_traceparent():
                cmd = msgspec.structs.replace(cmd, traceparent=tp)
            if cmd.peer_uid is None and (uid := self.caller_uid()) is not None:
                cmd = msgspec.structs.replace(cmd, peer_uid=uid)
            return raise_rejected(await self.propose_bytes(encode_command(cmd), timeout))

    async def propose_bytes(self, data: bytes, timeout: float) -> Outcome:
        t0 = time.perf_counter()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            leader = await self.wait_for_leader(max(remaining, 0))
            if leader == self.raft_address:
                outcome = await self.propose_local(data, deadline - time.monotonic())
            else:
                try:
                    reply = await self.peers.propose(
                        self._leader_grpc_address(leader),
                        data,
                        max(deadline - time.monotonic(), 0.1),
                    )
                except grpc.aio.AioRpcError as err:
                    if err.code() not in _FORWARD_RETRYABLE:
                        raise
                    outcome = None  # leader unreachable (failover under way): retry
                else:
                    outcome = raft.decode_outcome(reply)
            if outcome is not None:
                for observe in self.commit_observers:
                    observe(time.perf_counter() - t0)
                return outcome
            if time.monotonic() >= deadline:
                raise errors.Unavailable(self._no_leader_message())
            await asyncio.sleep(0.05)

    async def restore(self, state: bytes, timeout: float = 30.0) -> None:
        """Replace the replicated state wholesale (``jacod --restore``)."""
        await self.wait_for_leader(timeout)
        if await self.propose_local(state, timeout, self.fsm.restore_snapshot) is None:
            raise errors.Unavailable("restore was not committed: " + self._no_leader_message())

    async def propose_local(
        self, data: bytes, timeout: float, method: Callable[..., object] | None = None
    ) -> Outcome | None:
        """On the leader: None means "not committed, retry" (leadership moved)."""
        assert self._loop is not None
        fut: asyncio.Future[tuple[bytes | None, int]] = self._loop.create_future()

        def done(result: bytes | None, err: int) -> None:
            self._loop.call_soon_threadsafe(  # type: ignore[union-attr]
                lambda: fut.done() or fut.set_result((result, err))
            )

        (method or self.fsm.apply_command)(data, callback=done)
        try:
            result, err = await asyncio.wait_for(fut, max(timeout, 0.01))
        except TimeoutError:
            raise errors.Unavailable(
                "the command was not committed in time: " + self._no_leader_message()
            ) from None
        if err == FAIL_REASON.SUCCESS and result is not None:
            return raft.decode_outcome(result)
        if err in _RETRYABLE:
            return None
        raise errors.Unavailable(
            "leadership changed while committing; the change may or may not have been applied: "
            "check with `jaco status` before retrying"
        )

    async def membership(
        self, op: str, raft_address: str, timeout: float = 10.0, wait: bool = True
    ) -> None:
        """Add or remove a raft member (PySyncObj dynamic membership).

        An added node counts towards the majority at once, so its addition can
        only commit once it runs raft: a join must not wait for it (the joiner
        starts raft only after its Join call returns)."""
        assert self.sync is not None and self._loop is not None
        fut: asyncio.Future[int] = self._loop.create_future()

        def done(result: object, err: int) -> None:
            if err != FAIL_REASON.SUCCESS:
                log.warning(
                    "raft membership change failed",
                    extra={"op": op, "raft_address": raft_address, "reason": int(err)},
                )
            self._loop.call_soon_threadsafe(  # type: ignore[union-attr]
                lambda: fut.done() or fut.set_result(err)
            )

        change = self.sync.addNodeToCluster if op == "add" else self.sync.removeNodeFromCluster
        change(raft_address, callback=done)
        if not wait:
            return
        try:
            err = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise errors.Unavailable(
                f"raft membership change ({op} {raft_address}) timed out"
            ) from None
        if err == FAIL_REASON.REQUEST_DENIED:
            # Already a member (add) / not a member (remove): nothing to change.
            log.info(
                "membership change not needed",
                extra={"op": op, "raft_address": raft_address},
            )
        elif err != FAIL_REASON.SUCCESS:
            raise errors.Unavailable(
                f"raft membership change ({op} {raft_address}) failed (reason {int(err)}); "
                "check `jaco node ls` and retry"
            )
