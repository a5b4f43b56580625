"""Raw gRPC calls on a jacod socket, below the CLI (no generated client)."""

from __future__ import annotations

from pathlib import Path

import grpc

MALFORMED = b"\xff\xff\xff\xff"  # not a valid protobuf encoding of anything


def call(
    socket_path: Path | str, method: str, payload: bytes = b"", *, streaming: bool = False
) -> grpc.RpcError | bytes | list[bytes]:
    """Call ``/pkg.Service/Method`` with raw request bytes; return the answer
    or the RpcError it failed with."""
    with grpc.insecure_channel(f"unix://{socket_path}") as channel:
        try:
            if streaming:
                stream = channel.unary_stream(
                    method, request_serializer=None, response_deserializer=None
                )
                return list(stream(payload, timeout=10))
            unary = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
            return unary(payload, timeout=10)  # type: ignore[no-any-return]
        except grpc.RpcError as err:
            return err


def send_malformed(socket_path: Path | str) -> grpc.RpcError:
    """A real client mistake that makes jacod log a controlplane error: a
    GetStatus request whose bytes do not decode."""
    answer = call(socket_path, "/jaco.v1.Control/GetStatus", MALFORMED)
    assert isinstance(answer, grpc.RpcError), f"malformed request was answered: {answer!r}"
    return answer
