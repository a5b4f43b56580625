"""First pass: the file's shape against the schema, every error collected.

msgspec stops at the first error of a value, so each field (and, when a list
or table is wrong, each of its items) is converted on its own. Unknown fields
are named with the closest valid one.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from typing import Any, TypeVar

import msgspec

from .errors import Errors, join, show

S = TypeVar("S", bound=msgspec.Struct)

_BAD = object()


def _strip(tp: Any) -> Any:
    """`X | None` -> `X`; Annotated is kept (it carries the expected form)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _bare(tp: Any) -> Any:
    """The type under any Annotated and `| None`."""
    tp = _strip(tp)
    while typing.get_origin(tp) is typing.Annotated:
        tp = _strip(typing.get_args(tp)[0])
    return tp


def form(tp: Any) -> str:
    """The expected form of values of `tp`, from its Meta description."""
    tp = _strip(tp)
    if typing.get_origin(tp) is typing.Annotated:
        for meta in typing.get_args(tp)[1:]:
            if isinstance(meta, msgspec.Meta) and meta.description:
                return meta.description
    return "has the wrong type"


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> dict[str, Any]:
    return {f.name: f.type for f in msgspec.structs.fields(cls)}


@functools.cache
def _struct(tp: Any) -> type[msgspec.Struct] | None:
    bare = _bare(tp)
    return bare if isinstance(bare, type) and issubclass(bare, msgspec.Struct) else None


@functools.cache
def _containers(tp: Any) -> dict[type, tuple[Any, ...]]:
    """{list: (item,), dict: (key, value)} for the list and dict types `tp` accepts."""
    bare = _bare(tp)
    options = (
        typing.get_args(bare)
        if typing.get_origin(bare) in (typing.Union, types.UnionType)
        else (bare,)
    )
    return {
        origin: typing.get_args(opt)
        for opt in options
        if (origin := typing.get_origin(opt)) in (list, dict)
    }


def _container(tp: Any, value: object) -> tuple[Any, ...] | None:
    """The item types of `tp` for a list or table `value`; None if `tp` has none."""
    kind = list if isinstance(value, list) else dict if isinstance(value, dict) else None
    return _containers(tp).get(kind) if kind is not None else None


def unknown_field(key: object, valid: list[str]) -> str:
    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
    hint = f"did you mean {show(close[0])}? " if close else ""
    return f"unknown field; {hint}valid fields: {', '.join(valid)}"


def check_table(raw: object, cls: type[S], path: str, errs: Errors) -> S | None:
    """`raw` as a `cls`, with the fields that failed left unset; None if `raw`
    is not a table at all."""
    if not isinstance(raw, dict):
        what = (
            "the file must be a table with name and [services.<name>]"
            if not path
            else "expected a table"
        )
        errs.add(path, f"{what}, got {show(raw)}")
        return None
    fields = _fields(cls)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        sub = join(path, key)
        if key not in fields:
            errs.add(sub, unknown_field(key, list(fields)))
        elif value is not None:  # YAML/JSON null: the same as not set
            out = check_value(value, fields[key], sub, errs)
            if out is not _BAD:
                values[key] = out
    return cls(**values)


def check_value(value: object, tp: Any, path: str, errs: Errors) -> Any:
    """`value` converted to `tp`, or _BAD after recording why not."""
    struct = _struct(tp)
    if struct is not None:
        out = check_table(value, struct, path, errs)
        return _BAD if out is None else out
    parts = _container(tp, value)
    if parts is not None and _struct(parts[-1]) is not None:
        # A table of tables (services): keep the good ones so that each is
        # still checked for meaning, and report the bad ones.
        items = _check_items(value, parts, path, errs)
        return {k: v for k, v in items.items() if v is not _BAD}
    try:
        return msgspec.convert(value, tp)
    except msgspec.ValidationError:
        pass
    before = len(errs.items)
    if parts is not None:
        _check_items(value, parts, path, errs)
    if len(errs.items) == before:  # no single item to blame: the value as a whole
        errs.add(path, f"{form(tp)}, got {show(value)}")
    return _BAD


def _check_items(value: Any, parts: tuple[Any, ...], path: str, errs: Errors) -> Any:
    """Each item of a list or table checked on its own: the list (or table) of
    results, _BAD for the items that failed."""
    if isinstance(value, list):
        return [check_value(item, parts[0], f"{path}[{i}]", errs) for i, item in enumerate(value)]
    key_tp, item_tp = parts
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = join(path, key)
        if not isinstance(key, str):
            errs.add(sub, f"keys must be strings, got {show(key)}")
            continue
        try:
            msgspec.convert(key, key_tp)
        except msgspec.ValidationError:
            errs.add(sub, f"{form(key_tp)}, got {show(key)}")
            check_value(item, item_tp, sub, errs)  # still report what is inside
            continue
        out[key] = check_value(item, item_tp, sub, errs)
    return out
