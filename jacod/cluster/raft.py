"""PySyncObj underneath: the replicated state machine and the raft settings.

PySyncObj calls ``apply_command`` on its tick thread, on every node, in log
order. The state is read from the asyncio thread too, so both sides hold
``lock``; applies are microseconds, reads copy what they need and let go.
Snapshots (log compaction, catch-up of a lagging node) are ``dump_state``
bytes: our versioned msgspec encoding, never a pickle of our objects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from pysyncobj import SyncObj, SyncObjConf, SyncObjConsumer, replicated

from jacod.state import (
    ApplyDeployment,
    Command,
    DeleteDeployment,
    Outcome,
    Rejected,
    Result,
    Rollback,
    State,
    apply,
    decode_command,
    dump_state,
    load_state,
)
from jacod.state.enums import RejectCode
from obs import telemetry
from obs.logging import get_logger
from obs.telemetry import names

log = get_logger("raft")

# Called on the raft thread after each apply: (command or None for a restore,
# outcome, apply seconds). Must only hand off (call_soon_threadsafe).
AppliedHook = Callable[[Command | None, Outcome, float], None]


_STARTED_NS = time.time_ns()


def deployment_of(cmd: Command) -> str:
    """The deployment a command is about, for span attributes ("" if none)."""
    if isinstance(cmd, ApplyDeployment | Rollback | DeleteDeployment):
        return cmd.name
    return str(getattr(cmd, "deployment", "") or "")


class RaftTimings(msgspec.Struct, kw_only=True, frozen=True):
    """Raft settings (docs/cluster.md explains the choices).

    appendEntriesPeriod is also the batching delay of a commit: the default
    0.1 s made every apply ~100-200 ms; 0.02 s gives ~20-40 ms at a few
    percent of one core for heartbeats on a 3-node cluster.
    """

    append_entries_period: float = 0.02
    # PySyncObj's tick thread picks queued commands up once per tick (its poll
    # timeout): the default 0.05 s put a floor of ~50 ms under every commit.
    auto_tick_period: float = 0.005
    raft_min_timeout: float = 0.4
    raft_max_timeout: float = 1.2
    connection_timeout: float = 3.0
    connection_retry_time: float = 1.0
    leader_fallback_timeout: float = 10.0
    log_compaction_min_entries: int = 5000
    log_compaction_min_time: int = 300


class StateMachine(SyncObjConsumer):
    def __init__(self, on_applied: AppliedHook):
        super().__init__()
        self.lock = threading.RLock()
        self.state = State()
        self._on_applied = on_applied

    @replicated
    def apply_command(self, data: bytes) -> bytes:
        t0 = time.perf_counter()
        try:
            cmd: Command | None = decode_command(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            cmd, outcome = (
                None,
                Rejected(code=RejectCode.INVALID, message=f"undecodable command: {exc}"),
            )
            self._on_applied(cmd, outcome, time.perf_counter() - t0)
            return msgspec.msgpack.encode(outcome)
        # raft.apply joins the proposer's trace on every node; commands older
        # than this process are journal replays and are not traced again.
        traceparent = cmd.traceparent if cmd.ts_ns >= _STARTED_NS else ""
        with telemetry.span(names.RAFT_APPLY, only_in_trace=True, traceparent=traceparent,
                            identity=cmd.identity, deployment=deployment_of(cmd)) as sp:
            with self.lock:
                outcome = apply(self.state, cmd)
            if isinstance(outcome, Rejected):
                sp.set_error(outcome.message)
            self._on_applied(cmd, outcome, time.perf_counter() - t0)
        return msgspec.msgpack.encode(outcome)

    @replicated
    def restore_snapshot(self, data: bytes) -> bytes:
        """Replace the whole state (``jacod --restore``); goes through the log
        so that every node, and every replay of the journal, does the same."""
        state = load_state(data)
        with self.lock:
            self.state = state
        outcome: Outcome = Result(changed=True)
        self._on_applied(None, outcome, 0.0)
        return msgspec.msgpack.encode(outcome)

    def _serialize(self) -> bytes:  # PySyncObj: log compaction / catch-up snapshot
        with self.lock:
            return dump_state(self.state)

    def _deserialize(self, data: bytes) -> None:
        state = load_state(data)
        with self.lock:
            self.state = state


def decode_outcome(data: bytes) -> Outcome:
    return msgspec.msgpack.decode(data, type=Outcome)  # type: ignore[arg-type]


def start(
    fsm: StateMachine,
    self_address: str,
    peers: list[str],
    secret: str,
    data_dir: Path,
    timings: RaftTimings,
    on_state_changed: Callable[[int, int], None] | None = None,
) -> SyncObj:
    conf = SyncObjConf(
        password=secret,
        useFork=False,  # its compaction fork clashes with grpc's threads
        dynamicMembershipChange=True,
        journalFile=str(data_dir / "raft.journal"),
        fullDumpFile=str(data_dir / "raft.dump"),
        appendEntriesPeriod=timings.append_entries_period,
        autoTickPeriod=timings.auto_tick_period,
        raftMinTimeout=timings.raft_min_timeout,
        raftMaxTimeout=timings.raft_max_timeout,
        connectionTimeout=timings.connection_timeout,
        connectionRetryTime=timings.connection_retry_time,
        leaderFallbackTimeout=timings.leader_fallback_timeout,
        logCompactionMinEntries=timings.log_compaction_min_entries,
        logCompactionMinTime=timings.log_compaction_min_time,
        # Fail fast without a leader: the adapter answers UNAVAILABLE itself.
        commandsWaitLeader=False,
        onStateChanged=on_state_changed,
    )
    log.info("starting raft", extra={"raft_address": self_address, "peers": ",".join(peers)})
    return SyncObj(self_address, peers, conf=conf, consumers=[fsm])
