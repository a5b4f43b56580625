import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_EVENT_TYPE_UNSPECIFIED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_APPLY: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_ROLLBACK: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_DELETE: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_TOKEN_CREATE: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_TOKEN_REVOKE: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_NODE_JOIN: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_NODE_LEAVE: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_BACKUP_TAKEN: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_CERTIFICATE_RENEWED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_CERTIFICATE_RENEWAL_FAILED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_ISOLATION_RULESET_RECONCILED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_ISOLATION_DRIFT_DETECTED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_AUTH_DENIED: _ClassVar[AuditEventType]

class ReplicaState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPLICA_STATE_UNSPECIFIED: _ClassVar[ReplicaState]
    REPLICA_STATE_PENDING: _ClassVar[ReplicaState]
    REPLICA_STATE_PULLING: _ClassVar[ReplicaState]
    REPLICA_STATE_STARTING: _ClassVar[ReplicaState]
    REPLICA_STATE_RUNNING: _ClassVar[ReplicaState]
    REPLICA_STATE_UNHEALTHY: _ClassVar[ReplicaState]
    REPLICA_STATE_EXITED: _ClassVar[ReplicaState]
    REPLICA_STATE_FAILED: _ClassVar[ReplicaState]
    REPLICA_STATE_STOPPED: _ClassVar[ReplicaState]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_VIEWER: _ClassVar[Role]
    ROLE_OPERATOR: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]

class RaftRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RAFT_ROLE_UNSPECIFIED: _ClassVar[RaftRole]
    RAFT_ROLE_LEADER: _ClassVar[RaftRole]
    RAFT_ROLE_FOLLOWER: _ClassVar[RaftRole]
    RAFT_ROLE_CANDIDATE: _ClassVar[RaftRole]
AUDIT_EVENT_TYPE_UNSPECIFIED: AuditEventType
AUDIT_EVENT_TYPE_APPLY: AuditEventType
AUDIT_EVENT_TYPE_ROLLBACK: AuditEventType
AUDIT_EVENT_TYPE_DELETE: AuditEventType
AUDIT_EVENT_TYPE_TOKEN_CREATE: AuditEventType
AUDIT_EVENT_TYPE_TOKEN_REVOKE: AuditEventType
AUDIT_EVENT_TYPE_NODE_JOIN: AuditEventType
AUDIT_EVENT_TYPE_NODE_LEAVE: AuditEventType
AUDIT_EVENT_TYPE_BACKUP_TAKEN: AuditEventType
AUDIT_EVENT_TYPE_CERTIFICATE_RENEWED: AuditEventType
AUDIT_EVENT_TYPE_CERTIFICATE_RENEWAL_FAILED: AuditEventType
AUDIT_EVENT_TYPE_ISOLATION_RULESET_RECONCILED: AuditEventType
AUDIT_EVENT_TYPE_ISOLATION_DRIFT_DETECTED: AuditEventType
AUDIT_EVENT_TYPE_AUTH_DENIED: AuditEventType
REPLICA_STATE_UNSPECIFIED: ReplicaState
REPLICA_STATE_PENDING: ReplicaState
REPLICA_STATE_PULLING: ReplicaState
REPLICA_STATE_STARTING: ReplicaState
REPLICA_STATE_RUNNING: ReplicaState
REPLICA_STATE_UNHEALTHY: ReplicaState
REPLICA_STATE_EXITED: ReplicaState
REPLICA_STATE_FAILED: ReplicaState
REPLICA_STATE_STOPPED: ReplicaState
ROLE_UNSPECIFIED: Role
ROLE_VIEWER: Role
ROLE_OPERATOR: Role
ROLE_ADMIN: Role
RAFT_ROLE_UNSPECIFIED: RaftRole
RAFT_ROLE_LEADER: RaftRole
RAFT_ROLE_FOLLOWER: RaftRole
RAFT_ROLE_CANDIDATE: RaftRole

class AuditEvent(_message.Message):
    __slots__ = ("id", "ts", "type", "identity", "payload", "deployment", "node", "trace_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    TS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    ts: _timestamp_pb2.Timestamp
    type: AuditEventType
    identity: str
    payload: str
    deployment: str
    node: str
    trace_id: str
    def __init__(self, id: _Optional[int] = ..., ts: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[AuditEventType, str]] = ..., identity: _Optional[str] = ..., payload: _Optional[str] = ..., deployment: _Optional[str] = ..., node: _Optional[str] = ..., trace_id: _Optional[str] = ...) -> None: ...

class Resources(_message.Message):
    __slots__ = ("cpu", "memory_bytes")
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    cpu: float
    memory_bytes: int
    def __init__(self, cpu: _Optional[float] = ..., memory_bytes: _Optional[int] = ...) -> None: ...

class HealthCheck(_message.Message):
    __slots__ = ("kind", "target", "port", "command", "interval_seconds", "timeout_seconds", "retries")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    kind: str
    target: str
    port: int
    command: _containers.RepeatedScalarFieldContainer[str]
    interval_seconds: float
    timeout_seconds: float
    retries: int
    def __init__(self, kind: _Optional[str] = ..., target: _Optional[str] = ..., port: _Optional[int] = ..., command: _Optional[_Iterable[str]] = ..., interval_seconds: _Optional[float] = ..., timeout_seconds: _Optional[float] = ..., retries: _Optional[int] = ...) -> None: ...

class Ingress(_message.Message):
    __slots__ = ("host", "path", "port")
    HOST_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    host: str
    path: str
    port: int
    def __init__(self, host: _Optional[str] = ..., path: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class ServiceSpec(_message.Message):
    __slots__ = ("name", "image", "command", "replicas", "env", "ports", "resources", "health", "restart", "placement", "ingress", "workdir")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PlacementEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    RESTART_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    INGRESS_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    name: str
    image: str
    command: _containers.RepeatedScalarFieldContainer[str]
    replicas: int
    env: _containers.ScalarMap[str, str]
    ports: _containers.RepeatedScalarFieldContainer[int]
    resources: Resources
    health: HealthCheck
    restart: str
    placement: _containers.ScalarMap[str, str]
    ingress: Ingress
    workdir: str
    def __init__(self, name: _Optional[str] = ..., image: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., replicas: _Optional[int] = ..., env: _Optional[_Mapping[str, str]] = ..., ports: _Optional[_Iterable[int]] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ..., health: _Optional[_Union[HealthCheck, _Mapping]] = ..., restart: _Optional[str] = ..., placement: _Optional[_Mapping[str, str]] = ..., ingress: _Optional[_Union[Ingress, _Mapping]] = ..., workdir: _Optional[str] = ...) -> None: ...

class Deployment(_message.Message):
    __slots__ = ("name", "revision", "services", "created_at", "updated_at", "updated_by", "source", "deleting", "deleted_at", "deleted_by")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DELETING_FIELD_NUMBER: _ClassVar[int]
    DELETED_AT_FIELD_NUMBER: _ClassVar[int]
    DELETED_BY_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: int
    services: _containers.RepeatedCompositeFieldContainer[ServiceSpec]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    source: str
    deleting: bool
    deleted_at: _timestamp_pb2.Timestamp
    deleted_by: str
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[int] = ..., services: _Optional[_Iterable[_Union[ServiceSpec, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ..., source: _Optional[str] = ..., deleting: _Optional[bool] = ..., deleted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deleted_by: _Optional[str] = ...) -> None: ...

class Replica(_message.Message):
    __slots__ = ("id", "deployment", "service", "revision", "node", "state", "restarts", "last_error", "started_at", "updated_at", "exit_code", "ports", "removing")
    class PortsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: int
        def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    REMOVING_FIELD_NUMBER: _ClassVar[int]
    id: str
    deployment: str
    service: str
    revision: int
    node: str
    state: ReplicaState
    restarts: int
    last_error: str
    started_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    exit_code: int
    ports: _containers.ScalarMap[int, int]
    removing: bool
    def __init__(self, id: _Optional[str] = ..., deployment: _Optional[str] = ..., service: _Optional[str] = ..., revision: _Optional[int] = ..., node: _Optional[str] = ..., state: _Optional[_Union[ReplicaState, str]] = ..., restarts: _Optional[int] = ..., last_error: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exit_code: _Optional[int] = ..., ports: _Optional[_Mapping[int, int]] = ..., removing: _Optional[bool] = ...) -> None: ...

class NodePressure(_message.Message):
    __slots__ = ("available", "cpu_some_avg10", "memory_some_avg10", "memory_full_avg10", "io_some_avg10", "io_full_avg10", "sampled_at")
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    CPU_SOME_AVG10_FIELD_NUMBER: _ClassVar[int]
    MEMORY_SOME_AVG10_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FULL_AVG10_FIELD_NUMBER: _ClassVar[int]
    IO_SOME_AVG10_FIELD_NUMBER: _ClassVar[int]
    IO_FULL_AVG10_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_AT_FIELD_NUMBER: _ClassVar[int]
    available: bool
    cpu_some_avg10: float
    memory_some_avg10: float
    memory_full_avg10: float
    io_some_avg10: float
    io_full_avg10: float
    sampled_at: _timestamp_pb2.Timestamp
    def __init__(self, available: _Optional[bool] = ..., cpu_some_avg10: _Optional[float] = ..., memory_some_avg10: _Optional[float] = ..., memory_full_avg10: _Optional[float] = ..., io_some_avg10: _Optional[float] = ..., io_full_avg10: _Optional[float] = ..., sampled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ("name", "address", "raft_address", "role", "labels", "capacity", "pressure", "healthy", "last_contact", "raft_term", "raft_commit_index", "version", "joined_at", "runtime")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    PRESSURE_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    LAST_CONTACT_FIELD_NUMBER: _ClassVar[int]
    RAFT_TERM_FIELD_NUMBER: _ClassVar[int]
    RAFT_COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    JOINED_AT_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    raft_address: str
    role: RaftRole
    labels: _containers.ScalarMap[str, str]
    capacity: Resources
    pressure: NodePressure
    healthy: bool
    last_contact: _timestamp_pb2.Timestamp
    raft_term: int
    raft_commit_index: int
    version: str
    joined_at: _timestamp_pb2.Timestamp
    runtime: str
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., raft_address: _Optional[str] = ..., role: _Optional[_Union[RaftRole, str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., capacity: _Optional[_Union[Resources, _Mapping]] = ..., pressure: _Optional[_Union[NodePressure, _Mapping]] = ..., healthy: _Optional[bool] = ..., last_contact: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., raft_term: _Optional[int] = ..., raft_commit_index: _Optional[int] = ..., version: _Optional[str] = ..., joined_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., runtime: _Optional[str] = ...) -> None: ...

class NodeStatusUpdate(_message.Message):
    __slots__ = ("node", "include_pressure", "pressure", "replicas")
    NODE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    PRESSURE_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    node: str
    include_pressure: bool
    pressure: NodePressure
    replicas: _containers.RepeatedCompositeFieldContainer[Replica]
    def __init__(self, node: _Optional[str] = ..., include_pressure: _Optional[bool] = ..., pressure: _Optional[_Union[NodePressure, _Mapping]] = ..., replicas: _Optional[_Iterable[_Union[Replica, _Mapping]]] = ...) -> None: ...

class TokenInfo(_message.Message):
    __slots__ = ("id", "identity", "role", "created_at", "expires_at", "revoked", "revoked_at", "created_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    identity: str
    role: Role
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    revoked: bool
    revoked_at: _timestamp_pb2.Timestamp
    created_by: str
    def __init__(self, id: _Optional[str] = ..., identity: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked: _Optional[bool] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ...) -> None: ...

class ClusterInfo(_message.Message):
    __slots__ = ("cluster_id", "leader", "raft_term", "raft_commit_index", "node_count", "has_quorum")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    RAFT_TERM_FIELD_NUMBER: _ClassVar[int]
    RAFT_COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    NODE_COUNT_FIELD_NUMBER: _ClassVar[int]
    HAS_QUORUM_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    leader: str
    raft_term: int
    raft_commit_index: int
    node_count: int
    has_quorum: bool
    def __init__(self, cluster_id: _Optional[str] = ..., leader: _Optional[str] = ..., raft_term: _Optional[int] = ..., raft_commit_index: _Optional[int] = ..., node_count: _Optional[int] = ..., has_quorum: _Optional[bool] = ...) -> None: ...

class LogBatch(_message.Message):
    __slots__ = ("ts_ns", "replica_id", "node", "stream", "line", "caught_up")
    TS_NS_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    ts_ns: _containers.RepeatedScalarFieldContainer[int]
    replica_id: _containers.RepeatedScalarFieldContainer[str]
    node: _containers.RepeatedScalarFieldContainer[str]
    stream: _containers.RepeatedScalarFieldContainer[str]
    line: _containers.RepeatedScalarFieldContainer[str]
    caught_up: bool
    def __init__(self, ts_ns: _Optional[_Iterable[int]] = ..., replica_id: _Optional[_Iterable[str]] = ..., node: _Optional[_Iterable[str]] = ..., stream: _Optional[_Iterable[str]] = ..., line: _Optional[_Iterable[str]] = ..., caught_up: _Optional[bool] = ...) -> None: ...
