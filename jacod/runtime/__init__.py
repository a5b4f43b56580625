"""Runtimes: how a node runs replicas. ``base`` is the protocol every runtime
implements; ``process`` (default) runs each replica as a supervised local
process group; ``docker`` (later) talks to a Docker-compatible engine."""

from jacod.runtime.base import (
    OPS,
    ContainerConflict,
    ContainerInfo,
    ContainerNotFound,
    InvalidSpec,
    LogEntry,
    Observe,
    ReplicaSpec,
    Runtime,
    RuntimeErrorBase,
    RuntimeUnavailable,
    StartFailed,
    no_observe,
)
from jacod.runtime.process import ProcessRuntime

__all__ = [
    "OPS",
    "ContainerConflict",
    "ContainerInfo",
    "ContainerNotFound",
    "InvalidSpec",
    "LogEntry",
    "Observe",
    "ProcessRuntime",
    "ReplicaSpec",
    "Runtime",
    "RuntimeErrorBase",
    "RuntimeUnavailable",
    "StartFailed",
    "no_observe",
]
