"""The node service (node <-> node)."""

from __future__ import annotations

from jaco.v1 import node_pb2, node_pb2_grpc
from jacod.api.unimplemented import fill_unimplemented


class NodeService(node_pb2_grpc.NodeServiceServicer):
    pass


fill_unimplemented(NodeService, node_pb2.DESCRIPTOR.services_by_name["NodeService"])
