"""What a replica sees: its environment variables and its ports.

Environment
    Every replica gets its service's ``env`` plus, set by the agent:

    - ``JACO_DEPLOYMENT``, ``JACO_SERVICE``: the names from the deployment file
    - ``JACO_REPLICA_ID``: ``<deployment>/<service>/<ordinal>``, stable across restarts
    - ``JACO_REPLICA_ORDINAL``: the ordinal (``0`` … ``replicas - 1``)
    - ``JACO_NODE``: the node running the replica
    - ``JACO_REVISION``: the deployment revision the replica runs
    - ``PORT`` and ``JACO_PORT_<P>``: see below
    - discovery (``jacod/discovery``): ``JACO_SERVICE_<S>_ADDRS`` and
      ``JACO_SERVICE_<S>_PORT_<P>_ADDRS`` for each service of the deployment,
      as of the moment the replica is created; ``JACO_DNS`` the node's DNS
      server for live answers (``<service>.<deployment>.jaco``)

    A variable set by the agent wins over the same name in the service's ``env``.

Ports (process runtime)
    Several replicas of one service may run on one machine, so a declared port
    ``P`` is never bound as is. For each declared port the agent allocates a
    free host port (it asks the kernel for a free port on 127.0.0.1 and
    releases it at once) and passes it as ``JACO_PORT_<P>``; ``PORT`` is the
    host port of the first declared port. The command must listen on ``$PORT``
    (or ``$JACO_PORT_<P>``), e.g. ``sh -c 'exec python3 -m http.server $PORT'``.
    Health checks and ingress reach the replica at ``127.0.0.1:<host port>``.

    A replica keeps its host ports for as long as it is assigned to the node:
    across restarts, across revisions (for ports still declared) and across
    jacod restarts (the mapping is stored in the agent's state dir). They are
    freed when the replica leaves the node. Host ports come from the kernel's
    ephemeral range, so while a replica is down another program may briefly
    take its port; the replica then fails to bind and is restarted with backoff.
"""

from __future__ import annotations

import socket
from collections.abc import Collection, Iterable

from jacod.runtime import ReplicaSpec
from jacod.state import ServiceSpec

_ALLOCATE_TRIES = 64


def free_port(taken: Collection[int] = ()) -> int:
    """A port nobody is bound to now and that is not in ``taken``."""
    for _ in range(_ALLOCATE_TRIES):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in taken:
            return port
    raise OSError("no free host port found for a replica")


def allocate(current: dict[int, int], declared: Iterable[int], taken: set[int]) -> dict[int, int]:
    """``current`` (container port → host port) extended to every declared port.

    Mappings of ports no longer declared are kept: a rollback finds them again."""
    out = dict(current)
    for port in declared:
        if port not in out:
            out[port] = free_port(taken)
            taken.add(out[port])
    return out


def replica_env(
    *,
    spec: ServiceSpec,
    deployment: str,
    replica_id: str,
    ordinal: int,
    revision: int,
    node: str,
    ports: dict[int, int],
    discovery: dict[str, str] | None = None,
) -> dict[str, str]:
    env = dict(spec.env)
    env.update(discovery or {})
    env.update(
        JACO_DEPLOYMENT=deployment,
        JACO_SERVICE=spec.name,
        JACO_REPLICA_ID=replica_id,
        JACO_REPLICA_ORDINAL=str(ordinal),
        JACO_NODE=node,
        JACO_REVISION=str(revision),
    )
    for port in spec.ports:
        env[f"JACO_PORT_{port}"] = str(ports[port])
    if spec.ports:
        env["PORT"] = str(ports[spec.ports[0]])
    return env


def replica_spec(
    *,
    spec: ServiceSpec,
    deployment: str,
    replica_id: str,
    ordinal: int,
    revision: int,
    node: str,
    ports: dict[int, int],
    discovery: dict[str, str] | None = None,
) -> ReplicaSpec:
    env = replica_env(
        spec=spec, deployment=deployment, replica_id=replica_id, ordinal=ordinal,
        revision=revision, node=node, ports=ports, discovery=discovery,
    )  # fmt: skip
    return ReplicaSpec(
        replica_id=replica_id, deployment=deployment, service=spec.name, revision=revision,
        command=list(spec.command), image=spec.image, env=env, workdir=spec.workdir,
        ports=list(spec.ports), cpu=spec.resources.cpu, memory_bytes=spec.resources.memory_bytes,
    )  # fmt: skip
