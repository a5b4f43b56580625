"""Domain <-> protobuf conversions (generated types stay at this edge)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from jaco.v1 import entities_pb2 as pb


def timestamp(ns: int) -> Timestamp:
    ts = Timestamp()
    if ns:
        ts.FromNanoseconds(ns)
    return ts


RAFT_ROLES = {
    "leader": pb.RAFT_ROLE_LEADER,
    "follower": pb.RAFT_ROLE_FOLLOWER,
    "candidate": pb.RAFT_ROLE_CANDIDATE,
}
