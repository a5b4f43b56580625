"""Runtime-neutral types: what the agent asks of any runtime (process, docker).

Every runtime method does its work inside ``with self.observe(op, replica_id):``
where ``op`` is one of :data:`OPS`; telemetry later makes each a ``runtime.<op>``
span. Errors are :class:`RuntimeErrorBase` subclasses whose messages are shown
to operators as they are.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from jacod.errors import FailedPrecondition, InvalidArgument, JacoError, NotFound, Unavailable

OPS = (
    "image_pull",
    "container_create",
    "container_start",
    "container_stop",
    "container_remove",
    "container_inspect",
    "container_list",
    "container_logs",
    "container_wait",
)

Status = Literal["created", "running", "exited"]
Stream = Literal["stdout", "stderr", "system"]
Observe = Callable[[str, str], AbstractContextManager[Any]]


def no_observe(op: str, replica_id: str) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


class ReplicaSpec(msgspec.Struct, kw_only=True, frozen=True):
    replica_id: str  # "<deployment>/<service>/<index>", stable across revisions
    deployment: str
    service: str
    revision: int
    command: builtins.list[str] = []
    image: str = ""
    env: dict[str, str] = {}
    workdir: str = ""
    ports: builtins.list[int] = []
    cpu: float = 0.0  # cores; 0 = unlimited
    memory_bytes: int = 0  # 0 = unlimited


class ContainerInfo(msgspec.Struct, kw_only=True, frozen=True):
    replica_id: str
    deployment: str
    service: str
    revision: int
    status: Status
    pid: int | None = None
    exit_code: int | None = None  # 128+N when killed by signal N; None if unknown
    started_at_ns: int = 0
    finished_at_ns: int = 0
    error: str = ""


class LogEntry(msgspec.Struct, frozen=True, gc=False):
    ts_ns: int
    replica_id: str
    stream: Stream
    line: str


class RuntimeErrorBase(JacoError):
    """Base of every runtime error."""


class ContainerNotFound(RuntimeErrorBase, NotFound):
    def __init__(self, replica_id: str) -> None:
        self.replica_id = replica_id
        super().__init__(f"replica {replica_id} not found in this runtime")


class ContainerConflict(RuntimeErrorBase, FailedPrecondition):
    """The operation needs the replica in another state (e.g. re-create while running)."""


class InvalidSpec(RuntimeErrorBase, InvalidArgument):
    """The spec cannot be run by this runtime (e.g. no command for the process runtime)."""


class RuntimeUnavailable(RuntimeErrorBase, Unavailable):
    """The runtime itself cannot be reached (docker engine down, state dir unusable)."""


class StartFailed(RuntimeErrorBase, FailedPrecondition):
    """The replica could not be started; the message says why."""


class LinesFromBatches:
    """``logs`` for a runtime that implements ``log_batches``: the same lines, one by one."""

    def log_batches(
        self, replica_id: str, *, since_ns: int = 0, tail: int = 0, follow: bool = False,
        previous: bool = False,
    ) -> AsyncIterator[builtins.list[LogEntry]]:  # fmt: skip
        raise NotImplementedError

    async def logs(
        self, replica_id: str, *, since_ns: int = 0, tail: int = 0, follow: bool = False,
        previous: bool = False,
    ) -> AsyncIterator[LogEntry]:  # fmt: skip
        batches = self.log_batches(
            replica_id, since_ns=since_ns, tail=tail, follow=follow, previous=previous
        )
        async for batch in batches:
            for entry in batch:
                yield entry


@runtime_checkable
class Runtime(Protocol):
    name: str
    observe: Observe

    async def pull(self, spec: ReplicaSpec) -> None: ...

    async def create(self, spec: ReplicaSpec) -> ContainerInfo: ...

    async def start(self, replica_id: str) -> ContainerInfo: ...

    async def stop(self, replica_id: str, grace_s: float = 10) -> ContainerInfo: ...

    async def remove(self, replica_id: str) -> None: ...

    async def inspect(self, replica_id: str) -> ContainerInfo | None: ...

    async def list(self) -> builtins.list[ContainerInfo]: ...

    def logs(
        self,
        replica_id: str,
        *,
        since_ns: int = 0,
        tail: int = 0,
        follow: bool = False,
        previous: bool = False,
    ) -> AsyncIterator[LogEntry]: ...

    def log_batches(
        self,
        replica_id: str,
        *,
        since_ns: int = 0,
        tail: int = 0,
        follow: bool = False,
        previous: bool = False,
    ) -> AsyncIterator[builtins.list[LogEntry]]:
        """``logs`` in the chunks they were read in (never empty): a backlog or
        a busy replica costs the reader one step per chunk, not per line."""
        ...

    async def wait(self, replica_id: str) -> int: ...
