"""Domain errors. Servicers raise these; one interceptor (``jacod/api/errors.py``)
maps them to gRPC status codes. Messages are shown to operators verbatim, so
they say what was wrong and what to do — and never carry a secret."""

from __future__ import annotations


class JacoError(Exception):
    """Base of every error an RPC may answer with."""


class InvalidArgument(JacoError):
    pass


class NotFound(JacoError):
    pass


class AlreadyExists(JacoError):
    pass


class FailedPrecondition(JacoError):
    pass


class Unavailable(JacoError):
    pass


class Unauthenticated(JacoError):
    pass


class PermissionDenied(JacoError):
    pass


class Unimplemented(JacoError):
    pass


class DeadlineExceeded(JacoError):
    pass
