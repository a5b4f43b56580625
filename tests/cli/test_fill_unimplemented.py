"""The UNIMPLEMENTED mechanism on a real grpc.aio server: every RPC of both
services answers with a message naming it (not grpc's bare default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from jaco.v1 import control_pb2, control_pb2_grpc, node_pb2, node_pb2_grpc
from jacod.api.interceptors import Authenticator, IdentityInterceptor
from jacod.api.unimplemented import fill_unimplemented
from tests.helpers import remove_tree, short_tmpdir


class BareControl(control_pb2_grpc.ControlServicer):
    pass


class BareNode(node_pb2_grpc.NodeServiceServicer):
    pass


fill_unimplemented(BareControl, control_pb2.DESCRIPTOR.services_by_name["Control"])
fill_unimplemented(BareNode, node_pb2.DESCRIPTOR.services_by_name["NodeService"])

METHODS = [
    (service, method)
    for service in (control_pb2.DESCRIPTOR.services_by_name["Control"],
                    node_pb2.DESCRIPTOR.services_by_name["NodeService"])
    for method in service.methods
]


@pytest.fixture
async def server_socket() -> AsyncIterator[Path]:
    """jacod's own interceptor (which maps domain errors to statuses) in front
    of servicers that implement nothing."""
    base = short_tmpdir()
    path = base / "s.sock"
    server = grpc.aio.server(interceptors=[IdentityInterceptor(Authenticator())])
    control_pb2_grpc.add_ControlServicer_to_server(BareControl(), server)
    node_pb2_grpc.add_NodeServiceServicer_to_server(BareNode(), server)
    server.add_insecure_port(f"unix:{path}")
    await server.start()
    yield path
    await server.stop(None)
    remove_tree(base)


async def test_every_rpc_answers_unimplemented_naming_itself(server_socket: Path) -> None:
    assert METHODS
    async with grpc.aio.insecure_channel(f"unix://{server_socket}") as channel:
        for service, method in METHODS:
            path = f"/{service.full_name}/{method.name}"
            with pytest.raises(grpc.aio.AioRpcError) as info:
                if method.server_streaming:
                    stream = channel.unary_stream(path)
                    async for _ in stream(b"", timeout=5):
                        pass
                else:
                    await channel.unary_unary(path)(b"", timeout=5)
            assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED, path
            details = info.value.details() or ""
            assert f"{service.full_name}/{method.name}" in details, details
            assert "not implemented" in details, details
