import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jaco.v1 import entities_pb2 as _entities_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetStatusRequest(_message.Message):
    __slots__ = ("consistent",)
    CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    consistent: bool
    def __init__(self, consistent: _Optional[bool] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("cluster", "node", "identity", "version", "deployments", "replicas", "nodes")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    cluster: _entities_pb2.ClusterInfo
    node: _entities_pb2.Node
    identity: str
    version: str
    deployments: _containers.RepeatedCompositeFieldContainer[_entities_pb2.Deployment]
    replicas: _containers.RepeatedCompositeFieldContainer[_entities_pb2.Replica]
    nodes: _containers.RepeatedCompositeFieldContainer[_entities_pb2.Node]
    def __init__(self, cluster: _Optional[_Union[_entities_pb2.ClusterInfo, _Mapping]] = ..., node: _Optional[_Union[_entities_pb2.Node, _Mapping]] = ..., identity: _Optional[str] = ..., version: _Optional[str] = ..., deployments: _Optional[_Iterable[_Union[_entities_pb2.Deployment, _Mapping]]] = ..., replicas: _Optional[_Iterable[_Union[_entities_pb2.Replica, _Mapping]]] = ..., nodes: _Optional[_Iterable[_Union[_entities_pb2.Node, _Mapping]]] = ...) -> None: ...

class WatchStatusRequest(_message.Message):
    __slots__ = ("consistent",)
    CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    consistent: bool
    def __init__(self, consistent: _Optional[bool] = ...) -> None: ...

class StatusEvent(_message.Message):
    __slots__ = ("snapshot", "deployment_changed", "deployment_removed", "replica_changed", "replica_removed", "node_changed", "node_removed", "cluster_changed")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_CHANGED_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_REMOVED_FIELD_NUMBER: _ClassVar[int]
    REPLICA_CHANGED_FIELD_NUMBER: _ClassVar[int]
    REPLICA_REMOVED_FIELD_NUMBER: _ClassVar[int]
    NODE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    NODE_REMOVED_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_CHANGED_FIELD_NUMBER: _ClassVar[int]
    snapshot: GetStatusResponse
    deployment_changed: _entities_pb2.Deployment
    deployment_removed: str
    replica_changed: _entities_pb2.Replica
    replica_removed: str
    node_changed: _entities_pb2.Node
    node_removed: str
    cluster_changed: _entities_pb2.ClusterInfo
    def __init__(self, snapshot: _Optional[_Union[GetStatusResponse, _Mapping]] = ..., deployment_changed: _Optional[_Union[_entities_pb2.Deployment, _Mapping]] = ..., deployment_removed: _Optional[str] = ..., replica_changed: _Optional[_Union[_entities_pb2.Replica, _Mapping]] = ..., replica_removed: _Optional[str] = ..., node_changed: _Optional[_Union[_entities_pb2.Node, _Mapping]] = ..., node_removed: _Optional[str] = ..., cluster_changed: _Optional[_Union[_entities_pb2.ClusterInfo, _Mapping]] = ...) -> None: ...

class ApplyRequest(_message.Message):
    __slots__ = ("spec", "format", "dry_run")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    spec: bytes
    format: str
    dry_run: bool
    def __init__(self, spec: _Optional[bytes] = ..., format: _Optional[str] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class ApplyResponse(_message.Message):
    __slots__ = ("deployment", "changed", "diff", "audit_id")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    AUDIT_ID_FIELD_NUMBER: _ClassVar[int]
    deployment: _entities_pb2.Deployment
    changed: bool
    diff: str
    audit_id: int
    def __init__(self, deployment: _Optional[_Union[_entities_pb2.Deployment, _Mapping]] = ..., changed: _Optional[bool] = ..., diff: _Optional[str] = ..., audit_id: _Optional[int] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ("deployment", "to_revision")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    TO_REVISION_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    to_revision: int
    def __init__(self, deployment: _Optional[str] = ..., to_revision: _Optional[int] = ...) -> None: ...

class RollbackResponse(_message.Message):
    __slots__ = ("deployment", "audit_id")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    AUDIT_ID_FIELD_NUMBER: _ClassVar[int]
    deployment: _entities_pb2.Deployment
    audit_id: int
    def __init__(self, deployment: _Optional[_Union[_entities_pb2.Deployment, _Mapping]] = ..., audit_id: _Optional[int] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    def __init__(self, deployment: _Optional[str] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("audit_id", "already_deleting", "replicas_stopping")
    AUDIT_ID_FIELD_NUMBER: _ClassVar[int]
    ALREADY_DELETING_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_STOPPING_FIELD_NUMBER: _ClassVar[int]
    audit_id: int
    already_deleting: bool
    replicas_stopping: int
    def __init__(self, audit_id: _Optional[int] = ..., already_deleting: _Optional[bool] = ..., replicas_stopping: _Optional[int] = ...) -> None: ...

class ListRevisionsRequest(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    def __init__(self, deployment: _Optional[str] = ...) -> None: ...

class ListRevisionsResponse(_message.Message):
    __slots__ = ("revisions",)
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    revisions: _containers.RepeatedCompositeFieldContainer[_entities_pb2.Deployment]
    def __init__(self, revisions: _Optional[_Iterable[_Union[_entities_pb2.Deployment, _Mapping]]] = ...) -> None: ...

class LogsRequest(_message.Message):
    __slots__ = ("deployment", "service", "replica_id", "follow", "since", "tail", "previous")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    service: str
    replica_id: str
    follow: bool
    since: _timestamp_pb2.Timestamp
    tail: int
    previous: bool
    def __init__(self, deployment: _Optional[str] = ..., service: _Optional[str] = ..., replica_id: _Optional[str] = ..., follow: _Optional[bool] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tail: _Optional[int] = ..., previous: _Optional[bool] = ...) -> None: ...

class AuditQuery(_message.Message):
    __slots__ = ("since", "until", "types", "identity", "deployment", "after_id", "limit")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    types: _containers.RepeatedScalarFieldContainer[_entities_pb2.AuditEventType]
    identity: str
    deployment: str
    after_id: int
    limit: int
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., types: _Optional[_Iterable[_Union[_entities_pb2.AuditEventType, str]]] = ..., identity: _Optional[str] = ..., deployment: _Optional[str] = ..., after_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class AuditQueryResponse(_message.Message):
    __slots__ = ("events", "last_id")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ID_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_entities_pb2.AuditEvent]
    last_id: int
    def __init__(self, events: _Optional[_Iterable[_Union[_entities_pb2.AuditEvent, _Mapping]]] = ..., last_id: _Optional[int] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ("identity", "role", "ttl_seconds")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    identity: str
    role: _entities_pb2.Role
    ttl_seconds: int
    def __init__(self, identity: _Optional[str] = ..., role: _Optional[_Union[_entities_pb2.Role, str]] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class CreateTokenResponse(_message.Message):
    __slots__ = ("info", "token")
    INFO_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    info: _entities_pb2.TokenInfo
    token: str
    def __init__(self, info: _Optional[_Union[_entities_pb2.TokenInfo, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[_entities_pb2.TokenInfo]
    def __init__(self, tokens: _Optional[_Iterable[_Union[_entities_pb2.TokenInfo, _Mapping]]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: _entities_pb2.TokenInfo
    def __init__(self, info: _Optional[_Union[_entities_pb2.TokenInfo, _Mapping]] = ...) -> None: ...

class ListNodesRequest(_message.Message):
    __slots__ = ("consistent",)
    CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    consistent: bool
    def __init__(self, consistent: _Optional[bool] = ...) -> None: ...

class ListNodesResponse(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[_entities_pb2.Node]
    def __init__(self, nodes: _Optional[_Iterable[_Union[_entities_pb2.Node, _Mapping]]] = ...) -> None: ...

class CreateJoinTokenRequest(_message.Message):
    __slots__ = ("ttl_seconds",)
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ttl_seconds: int
    def __init__(self, ttl_seconds: _Optional[int] = ...) -> None: ...

class CreateJoinTokenResponse(_message.Message):
    __slots__ = ("join_token", "expires_at")
    JOIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    join_token: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, join_token: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RemoveNodeRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RemoveNodeResponse(_message.Message):
    __slots__ = ("audit_id",)
    AUDIT_ID_FIELD_NUMBER: _ClassVar[int]
    audit_id: int
    def __init__(self, audit_id: _Optional[int] = ...) -> None: ...

class BackupRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BackupChunk(_message.Message):
    __slots__ = ("data", "audit_id")
    DATA_FIELD_NUMBER: _ClassVar[int]
    AUDIT_ID_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    audit_id: int
    def __init__(self, data: _Optional[bytes] = ..., audit_id: _Optional[int] = ...) -> None: ...
