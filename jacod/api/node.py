"""The node service (node <-> node)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from jaco import __version__
from jaco.v1 import control_pb2, entities_pb2, node_pb2, node_pb2_grpc
from jacod.api.logs import LogService
from jacod.api.unimplemented import fill_unimplemented
from jacod.api.views import Views
from jacod.cluster import membership
from jacod.cluster.clusterfile import ClusterFile


class NodeService(node_pb2_grpc.NodeServiceServicer):
    def __init__(self, views: Views, cf: ClusterFile, logs: LogService):
        self._views = views
        self._cluster = views.cluster
        self._cf = cf
        self._logs = logs

    async def NodeLogs(
        self, request: control_pb2.LogsRequest, ctx: grpc.aio.ServicerContext
    ) -> AsyncIterator[entities_pb2.LogBatch]:
        async for batch in self._logs.node_stream(request):
            yield batch

    async def Join(
        self, request: node_pb2.JoinRequest, ctx: grpc.aio.ServicerContext
    ) -> node_pb2.JoinResponse:
        leader = await self._cluster.wait_for_leader(timeout=10)
        if leader != self._cluster.raft_address:
            # The leader admits: it proposes and changes membership first hand.
            address = self._cluster.read(
                lambda s: next(
                    (n.address for n in s.nodes.values() if n.raft_address == leader), ""
                )
            )
            if address:  # over the leader's node port (mutual TLS), like any node call
                return await self._cluster.peers.join(address, request, timeout=30)
        return await membership.admit(self._cluster, self._cf, request)

    async def Propose(
        self, request: node_pb2.ProposeRequest, ctx: grpc.aio.ServicerContext
    ) -> node_pb2.ProposeResponse:
        import msgspec

        remaining = ctx.time_remaining()
        outcome = await self._cluster.propose_bytes(
            bytes(request.command), remaining if remaining else 10.0
        )
        return node_pb2.ProposeResponse(result=msgspec.msgpack.encode(outcome))

    async def Ping(
        self, request: node_pb2.PingRequest, ctx: grpc.aio.ServicerContext
    ) -> node_pb2.PingResponse:
        node = self._views.self_node()
        node.version = __version__
        return node_pb2.PingResponse(node=node, cluster=self._views.cluster_info())


fill_unimplemented(NodeService, node_pb2.DESCRIPTOR.services_by_name["NodeService"])
