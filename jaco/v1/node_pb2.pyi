from jaco.v1 import control_pb2 as _control_pb2
from jaco.v1 import entities_pb2 as _entities_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JoinRequest(_message.Message):
    __slots__ = ("node_name", "address", "raft_address", "join_token", "csr_pem", "labels", "node_address")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    JOIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NODE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    address: str
    raft_address: str
    join_token: str
    csr_pem: bytes
    labels: _containers.ScalarMap[str, str]
    node_address: str
    def __init__(self, node_name: _Optional[str] = ..., address: _Optional[str] = ..., raft_address: _Optional[str] = ..., join_token: _Optional[str] = ..., csr_pem: _Optional[bytes] = ..., labels: _Optional[_Mapping[str, str]] = ..., node_address: _Optional[str] = ...) -> None: ...

class JoinResponse(_message.Message):
    __slots__ = ("cluster_id", "peers", "certificate_pem", "ca_pem", "cluster_secret", "ca_key_sealed")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    CA_PEM_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SECRET_FIELD_NUMBER: _ClassVar[int]
    CA_KEY_SEALED_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    peers: _containers.RepeatedCompositeFieldContainer[_entities_pb2.Node]
    certificate_pem: bytes
    ca_pem: bytes
    cluster_secret: bytes
    ca_key_sealed: bytes
    def __init__(self, cluster_id: _Optional[str] = ..., peers: _Optional[_Iterable[_Union[_entities_pb2.Node, _Mapping]]] = ..., certificate_pem: _Optional[bytes] = ..., ca_pem: _Optional[bytes] = ..., cluster_secret: _Optional[bytes] = ..., ca_key_sealed: _Optional[bytes] = ...) -> None: ...

class LeaveRequest(_message.Message):
    __slots__ = ("node_name",)
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    def __init__(self, node_name: _Optional[str] = ...) -> None: ...

class LeaveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProposeRequest(_message.Message):
    __slots__ = ("command",)
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    command: bytes
    def __init__(self, command: _Optional[bytes] = ...) -> None: ...

class ProposeResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bytes
    def __init__(self, result: _Optional[bytes] = ...) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PingResponse(_message.Message):
    __slots__ = ("node", "cluster")
    NODE_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    node: _entities_pb2.Node
    cluster: _entities_pb2.ClusterInfo
    def __init__(self, node: _Optional[_Union[_entities_pb2.Node, _Mapping]] = ..., cluster: _Optional[_Union[_entities_pb2.ClusterInfo, _Mapping]] = ...) -> None: ...
