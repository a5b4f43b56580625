"""The Control service (what `jaco` calls)."""

from __future__ import annotations

import grpc

from jaco import __version__
from jaco.v1 import control_pb2, control_pb2_grpc
from jaco.v1 import entities_pb2 as pb
from jacod.api import context
from jacod.api.unimplemented import fill_unimplemented
from jacod.identity import NodeIdentity


class ControlService(control_pb2_grpc.ControlServicer):
    def __init__(self, ident: NodeIdentity, address: str, runtime: str):
        self._ident = ident
        self._address = address
        self._runtime = runtime

    async def GetStatus(
        self, request: control_pb2.GetStatusRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.GetStatusResponse:
        node = pb.Node(
            name=self._ident.node_name,
            address=self._address,
            role=pb.RAFT_ROLE_LEADER,
            healthy=True,
            version=__version__,
            runtime=self._runtime,
        )
        cluster = pb.ClusterInfo(
            cluster_id=self._ident.cluster_id,
            leader=self._ident.node_name,
            node_count=1,
            has_quorum=True,
        )
        return control_pb2.GetStatusResponse(
            cluster=cluster,
            node=node,
            identity=context.identity.get(),
            version=__version__,
            nodes=[node],
        )


fill_unimplemented(ControlService, control_pb2.DESCRIPTOR.services_by_name["Control"])
