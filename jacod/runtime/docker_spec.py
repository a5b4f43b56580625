"""What the docker runtime sends to the engine and reads back (pure, no I/O).

A replica is one container named ``jaco-<node>-<deployment>-<service>-<ordinal>-<hash>``
(characters Docker refuses become ``_``; the hash of node and replica id keeps
names distinct after that). Its labels mark it as JACO's and carry what
re-adoption needs: ``jaco.managed=true``, ``jaco.node``, ``jaco.deployment``,
``jaco.service``, ``jaco.replica_id``, ``jaco.revision``. Several nodes may
share one engine (a laptop running a dev cluster): each sees only its own.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import re
from functools import lru_cache
from typing import Any

from jacod.runtime.base import ContainerInfo, ReplicaSpec, Status

MANAGED = "jaco.managed"
NODE = "jaco.node"
DEPLOYMENT = "jaco.deployment"
SERVICE = "jaco.service"
REPLICA_ID = "jaco.replica_id"
REVISION = "jaco.revision"

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_RUNNING = {"running", "paused", "restarting", "stopping"}
_CREATED = {"created", "configured", "initialized"}


def container_name(node: str, replica_id: str) -> str:
    digest = hashlib.sha256(f"{node}\0{replica_id}".encode()).hexdigest()[:10]
    readable = _UNSAFE.sub("_", f"{node}-{replica_id.replace('/', '-')}")[:80]
    return f"jaco-{readable}-{digest}"


def labels(spec: ReplicaSpec, node: str) -> dict[str, str]:
    return {
        MANAGED: "true",
        NODE: node,
        DEPLOYMENT: spec.deployment,
        SERVICE: spec.service,
        REPLICA_ID: spec.replica_id,
        REVISION: str(spec.revision),
    }


def node_filter(node: str) -> dict[str, list[str]]:
    """The ``filters`` of a container list: JACO's containers of ``node``."""
    return {"label": [f"{MANAGED}=true", f"{NODE}={node}"]}


def create_body(spec: ReplicaSpec, node: str, network: str) -> dict[str, Any]:
    """``POST /containers/create``: the engine restarts nothing (the agent does).

    With ``network="host"`` the replica listens on ``$PORT`` as a process
    replica would; on any other network each host port the agent allocated is
    published on 127.0.0.1 to the same port inside, so ``$PORT`` still works."""
    host: dict[str, Any] = {"RestartPolicy": {"Name": "no"}, "NetworkMode": network}
    if spec.memory_bytes > 0:
        host["Memory"] = spec.memory_bytes
    if spec.cpu > 0:
        host["NanoCpus"] = max(int(spec.cpu * 1e9), 1_000_000)
    body: dict[str, Any] = {
        "Image": spec.image,
        "Env": [f"{k}={v}" for k, v in sorted(spec.env.items())],
        "Labels": labels(spec, node),
        "Tty": False,
        "OpenStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "HostConfig": host,
    }
    if spec.command:
        body["Cmd"] = list(spec.command)
    if spec.workdir:
        body["WorkingDir"] = spec.workdir
    host_ports = sorted({int(v) for k, v in spec.env.items() if k.startswith("JACO_PORT_")})
    if network not in ("host", "none") and host_ports:
        body["ExposedPorts"] = {f"{p}/tcp": {} for p in host_ports}
        host["PortBindings"] = {
            f"{p}/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(p)}] for p in host_ports
        }
    return body


def is_ours(data: dict[str, Any], node: str, replica_id: str | None = None) -> bool:
    lab = container_labels(data)
    if lab.get(MANAGED) != "true" or lab.get(NODE) != node:
        return False
    return replica_id is None or lab.get(REPLICA_ID) == replica_id


def container_labels(data: dict[str, Any]) -> dict[str, str]:
    """Labels of an inspect (``Config.Labels``) or a list entry (``Labels``)."""
    lab = data.get("Labels")
    if lab is None:
        lab = (data.get("Config") or {}).get("Labels")
    return dict(lab or {})


@lru_cache(maxsize=64)
def _day_seconds(date: str) -> int:
    d = datetime.date(int(date[0:4]), int(date[5:7]), int(date[8:10]))
    return (d.toordinal() - 719163) * 86400  # 719163: 1970-01-01


def parse_time(text: str) -> tuple[int, bool]:
    """RFC 3339 (``2026-11-27T03:29:29.985881664Z``, any offset) → (ns since the
    epoch, True when the text had sub-second digits). ``0001-01-01…`` and
    anything unparseable → (0, False)."""
    try:
        if len(text) < 20 or text[4] != "-" or text[10] != "T":
            return 0, False
        secs = _day_seconds(text[:10]) + int(text[11:13]) * 3600 + int(text[14:16]) * 60
        secs += int(text[17:19])
        rest, frac_ns, fine = text[19:], 0, False
        if rest.startswith("."):
            end = 1
            while end < len(rest) and rest[end].isdigit():
                end += 1
            digits = rest[1:end]
            frac_ns, fine = int(digits[:9].ljust(9, "0")), bool(digits)
            rest = rest[end:]
        if rest[:1] in ("+", "-") and len(rest) >= 6:
            offset = int(rest[1:3]) * 3600 + int(rest[4:6]) * 60
            secs -= offset if rest[0] == "+" else -offset
        elif rest not in ("Z", "z"):
            return 0, False
    except (ValueError, IndexError):
        return 0, False
    if secs <= 0:
        return 0, False
    return secs * 1_000_000_000 + frac_ns, fine


def _status(state: dict[str, Any]) -> Status:
    raw = str(state.get("Status", "")).lower()
    if raw in _RUNNING or state.get("Running"):
        return "running"
    if raw in _CREATED:
        return "created"
    return "exited"


def describe_state(state: dict[str, Any]) -> str:
    if state.get("OOMKilled"):
        return "killed: out of memory (the memory limit was reached)"
    return str(state.get("Error") or "")


def container_info(data: dict[str, Any], start_error: str = "") -> ContainerInfo:
    """ContainerInfo from ``GET /containers/{id}/json``.

    A start that failed (the command does not exist…) leaves Docker's
    container ``created`` with an ``Error`` and exit code, podman's with
    neither; ``start_error`` is what the failed start said. Either way the
    replica is reported ``exited`` so the agent applies its restart policy."""
    lab = container_labels(data)
    state = data.get("State") or {}
    status = _status(state)
    started, _ = parse_time(str(state.get("StartedAt", "")))
    finished, _ = parse_time(str(state.get("FinishedAt", "")))
    error = describe_state(state)
    try:
        revision = int(lab.get(REVISION, "0"))
    except ValueError:
        revision = 0
    exit_code: int | None = None
    pid: int | None = None
    if status == "created" and (error or start_error):
        status, error = "exited", error or f"exec failed: {start_error}"
        code = int(state.get("ExitCode") or 0)
        exit_code = code or (127 if "not found" in error else 126)
    elif status == "exited":
        exit_code = int(state.get("ExitCode", 0))
        if finished < started:
            finished = 0  # an engine that keeps the previous run's exit time
    elif status == "running":
        pid = int(state.get("Pid") or 0) or None
        finished = 0  # the previous run's, while this one runs
    return ContainerInfo(
        replica_id=lab.get(REPLICA_ID, ""),
        deployment=lab.get(DEPLOYMENT, ""),
        service=lab.get(SERVICE, ""),
        revision=revision,
        status=status,
        pid=pid,
        exit_code=exit_code,
        started_at_ns=started,
        finished_at_ns=finished,
        error=error,
    )


def stop_timeout(grace_s: float) -> int:
    """Docker's ``t`` is whole seconds: never shorter than asked."""
    return max(0, math.ceil(grace_s)) if math.isfinite(grace_s) else 10
