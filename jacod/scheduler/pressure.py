"""``scheduler/pressure`` (every node): cgroup-v2 PSI sampled and published through raft.

Every ``interval_s`` the sampler reads ``<source>/{cpu,memory,io}`` (default
``/proc/pressure``; tests point it at a directory of files) and, where a
``replica_cgroups`` callable says where replicas' cgroups are, their
``{cpu,memory,io}.pressure``. The node's figures go to raft as
``NodeStatusUpdate(include_pressure=True)`` only when they matter: the first
sample, any avg10 moved by ``min_change`` points since the last publication,
availability changed, or ``heartbeat_s`` passed (so the leader can tell a
quiet node from a silent one). Where PSI cannot be read the sampler says so
once (a warning naming why) and publishes ``Pressure(available=False)`` once.

The parser is lenient about shapes seen in the wild: ``cpu`` without a
``full`` line (kernels before 5.13), extra fields, fields in another order,
and it ignores lines it does not understand; a file with no usable ``some``
line counts as unreadable.
"""

from __future__ import annotations

import asyncio
import errno
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from jacod.cluster.cluster import Cluster
from jacod.state import NodeStatusUpdate
from jacod.state.model import Pressure
from obs.logging import get_logger

log = get_logger("scheduler/pressure")

RESOURCES = ("cpu", "memory", "io")
PROC_PRESSURE = Path("/proc/pressure")
PROPOSE_TIMEOUT_S = 5.0
FIELDS = ("cpu_some_avg10", "memory_some_avg10", "memory_full_avg10",
          "io_some_avg10", "io_full_avg10")  # fmt: skip


@dataclass(frozen=True)
class Psi:
    """One PSI file: avg10 of ``some`` and (when the kernel has it) ``full``."""

    some_avg10: float
    full_avg10: float | None = None
    some_avg60: float | None = None


def _avg(fields: list[str], key: str) -> float | None:
    for field in fields:
        name, sep, value = field.partition("=")
        if sep and name == key:
            try:
                number = float(value)
            except ValueError:
                return None
            return min(number, 100.0) if math.isfinite(number) and number >= 0 else None
    return None


def parse_psi(text: str) -> Psi | None:
    """``some avg10=1.00 avg60=… total=…`` [+ ``full …``] → Psi; None without a usable ``some``."""
    some: list[str] | None = None
    full: list[str] | None = None
    for line in text.splitlines():
        kind, _, rest = line.strip().partition(" ")
        if kind == "some" and some is None:
            some = rest.split()
        elif kind == "full" and full is None:
            full = rest.split()
    if some is None or (some_avg10 := _avg(some, "avg10")) is None:
        return None
    return Psi(some_avg10, _avg(full, "avg10") if full is not None else None, _avg(some, "avg60"))


def _read(path: Path) -> tuple[Psi | None, str]:
    """(the parsed file, "") or (None, why it cannot be used)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return None, f"{path} does not exist (kernel without PSI, or not cgroup v2)"
    except OSError as exc:
        if exc.errno == errno.EOPNOTSUPP:
            return None, f"{path}: PSI is disabled in this kernel (boot with psi=1)"
        return None, f"{path}: {exc.strerror or exc}"
    psi = parse_psi(text)
    return (psi, "") if psi is not None else (None, f"{path}: no PSI figures in it")


@dataclass(frozen=True)
class Sample:
    pressure: Pressure
    problems: Mapping[str, str]  # resource -> why it could not be read


def read_pressure(source: Path, now_ns: int, suffix: str = "") -> Sample:
    """The PSI files under ``source`` (``cpu`` … or ``cpu.pressure`` … with ``suffix``)."""
    got: dict[str, Psi] = {}
    problems: dict[str, str] = {}
    for res in RESOURCES:
        psi, why = _read(source / f"{res}{suffix}")
        if psi is None:
            problems[res] = why
        else:
            got[res] = psi
    if not got:
        return Sample(Pressure(available=False, sampled_at_ns=now_ns), problems)
    cpu, mem, io = got.get("cpu"), got.get("memory"), got.get("io")
    pressure = Pressure(
        available=True,
        cpu_some_avg10=cpu.some_avg10 if cpu else 0.0,
        memory_some_avg10=mem.some_avg10 if mem else 0.0,
        memory_full_avg10=(mem.full_avg10 or 0.0) if mem else 0.0,
        io_some_avg10=io.some_avg10 if io else 0.0,
        io_full_avg10=(io.full_avg10 or 0.0) if io else 0.0,
        sampled_at_ns=now_ns,
    )
    return Sample(pressure, problems)


def meaningful(
    last: Pressure | None, new: Pressure, *, min_change: float, heartbeat_ns: int
) -> str | None:
    """Why ``new`` should be published after ``last`` (the last published), or None."""
    if last is None:
        return "first sample"
    if last.available != new.available:
        return "availability changed"
    if not new.available:
        return None  # said once is enough
    moved = max(abs(getattr(new, f) - getattr(last, f)) for f in FIELDS)
    if moved >= min_change:
        return f"moved {moved:.1f} points"
    if new.sampled_at_ns - last.sampled_at_ns >= heartbeat_ns:
        return "heartbeat"
    return None


class PressureSampler:
    def __init__(
        self,
        cluster: Cluster,
        node_name: str,
        *,
        source: Path = PROC_PRESSURE,
        interval_s: float = 5.0,
        min_change: float = 5.0,
        heartbeat_s: float = 60.0,
        replica_cgroups: Callable[[], Mapping[str, Path]] | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.cluster, self.node = cluster, node_name
        self.source, self.interval_s = Path(source), interval_s
        self.min_change, self.heartbeat_ns = min_change, int(heartbeat_s * 1e9)
        self.replica_cgroups, self.clock = replica_cgroups, clock
        self.published: Pressure | None = None  # the last one raft accepted
        self.latest: Pressure | None = None
        self.replicas: dict[str, Pressure] = {}  # replica id -> its cgroup's PSI (local only)
        self.proposals = 0
        self._said: dict[str, str] = {}  # resource -> problem already logged
        self._failing = False

    def sample(self) -> Pressure:
        """Read the node's PSI (and the replicas'); log problems once each."""
        s = read_pressure(self.source, self.clock())
        if not s.pressure.available and self._said.get("*") is None:
            log.warning("PSI is not available on this node; no pressure will be reported",
                        extra={"source": str(self.source),
                               "reason": "; ".join(s.problems.values())})  # fmt: skip
            self._said["*"] = "unavailable"
        elif s.pressure.available:
            if self._said.pop("*", None) is not None:
                log.info("PSI is available again", extra={"source": str(self.source)})
            for res, why in s.problems.items():
                if self._said.get(res) != why:
                    log.info("a PSI file is unreadable; reporting 0 for it",
                             extra={"resource": res, "reason": why})  # fmt: skip
                    self._said[res] = why
            for res in [r for r in self._said if r != "*" and r not in s.problems]:
                del self._said[res]
        self.latest = s.pressure
        if self.replica_cgroups is not None:
            self.replicas = self._replicas(self.replica_cgroups())
        return s.pressure

    def _replicas(self, cgroups: Mapping[str, Path]) -> dict[str, Pressure]:
        out = {}
        for rid, path in cgroups.items():
            s = read_pressure(path, self.clock(), suffix=".pressure")
            if s.pressure.available:
                out[rid] = s.pressure
        return out

    async def tick(self) -> bool:
        """Sample once and publish if it matters; True if something was committed."""
        new = await asyncio.to_thread(self.sample)
        why = meaningful(self.published, new, min_change=self.min_change,
                         heartbeat_ns=self.heartbeat_ns)  # fmt: skip
        if why is None:
            return False
        update = NodeStatusUpdate(
            ts_ns=self.clock(), identity="system", node=self.node, node_name=self.node,
            include_pressure=True, pressure=new,
        )  # fmt: skip
        try:
            await self.cluster.propose(update, timeout=PROPOSE_TIMEOUT_S)
        except Exception as exc:  # not a member yet, no leader: the next tick retries
            if not self._failing:
                log.warning("cannot publish node pressure yet; retrying",
                            extra={"error": str(exc)})  # fmt: skip
            self._failing = True
            return False
        if self._failing:
            log.info("node pressure published again")
        self._failing = False
        self.published = new
        self.proposals += 1
        log.debug("node pressure published", extra={"why": why, **_figures(new)})
        return True

    async def run(self) -> None:
        log.info("sampling node pressure", extra={"source": str(self.source),
                 "interval_s": self.interval_s, "min_change": self.min_change})  # fmt: skip
        while True:
            try:
                await self.tick()
            except Exception as exc:  # a bad sample must never end the sampler
                log.error("pressure sample failed", extra={"error": repr(exc)})
            await asyncio.sleep(self.interval_s)


def _figures(p: Pressure) -> dict[str, float | bool]:
    return {"available": p.available, **{f: round(getattr(p, f), 2) for f in FIELDS}}


def process_replica_cgroups(
    cgroup_root: Path = Path("/sys/fs/cgroup"), parent: str = "jaco.slice"
) -> Callable[[], dict[str, Path]]:
    """Where the process runtime puts replicas (``<root>/<parent>/<replica key>``)."""
    base = cgroup_root / parent

    def find() -> dict[str, Path]:
        try:
            entries = list(base.iterdir())
        except OSError:
            return {}
        return {unkey(p.name): p for p in entries if p.is_dir() and not p.name.startswith("@")}

    return find


def unkey(key: str) -> str:
    """The inverse of ``jacod.runtime.layout.replica_key``."""
    raw = bytearray()
    i = 0
    while i < len(key):
        ch = key[i]
        if ch == "%" and i + 3 <= len(key):
            try:
                raw += bytes.fromhex(key[i + 1 : i + 3])
                i += 3
                continue
            except ValueError:
                pass
        raw += b"/" if ch == "~" else ch.encode()
        i += 1
    return raw.decode("utf-8", "replace")
