"""Bytes to a tree of plain values (TOML, YAML or JSON), with syntax errors
located by line and column."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import PurePath
from typing import Any

from .errors import AdmissionError, FieldError, show

FORMATS = ("toml", "yaml", "json")
MAX_BYTES = 1 << 20  # the source is kept with every revision in the raft log

_SUFFIXES = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
_TOML_AT = re.compile(
    r"^(?P<msg>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$", re.S
)


def format_for_filename(name: str) -> str:
    """The format a file name implies ("toml", "yaml", "json"), or "" to sniff."""
    return _SUFFIXES.get(PurePath(name).suffix.lower(), "")


def sniff(text: str) -> str:
    # YAML is a superset of JSON and close enough to TOML to mis-parse it quietly,
    # so it is never guessed: only an explicit format or a .yaml name selects it.
    return "json" if text.lstrip().startswith("{") else "toml"


def decode_text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise AdmissionError(
            [
                FieldError(
                    "",
                    f"the file is {len(data)} bytes; deployment files are limited to {MAX_BYTES}",
                )
            ]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise AdmissionError(
            [FieldError(f"line {line}", f"not UTF-8 text (byte 0x{data[e.start]:02x})")]
        ) from None


def _sentence(msg: str) -> str:
    # "Invalid value" -> "invalid value", but keep "TOML …" / "JSON …" as they are.
    return msg[:1].lower() + msg[1:] if msg[1:2].islower() else msg


def _located(line: int | None, col: int | None, msg: str) -> AdmissionError:
    where = f"line {line}, column {col}" if line is not None else "end of file"
    return AdmissionError([FieldError(where, _sentence(msg))])


def load(text: str, fmt: str) -> Any:
    """Parse `text` as `fmt`; raises AdmissionError for syntax errors."""
    text = text.removeprefix("\ufeff")
    if fmt == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            m = _TOML_AT.match(str(e))
            if m is None:
                raise AdmissionError([FieldError("", _sentence(str(e)))]) from None
            line, col = m["line"], m["col"]
            raise _located(
                int(line) if line else None, int(col) if col else None, m["msg"]
            ) from None
    if fmt == "json":
        return _load_json(text)
    if fmt == "yaml":
        return _load_yaml(text)
    raise AdmissionError(
        [FieldError("format", f"expected one of {', '.join(FORMATS)}, got {show(fmt)}")]
    )


def _load_json(text: str) -> Any:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates.append(key)
            out[key] = value
        return out

    try:
        tree = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as e:
        raise _located(e.lineno, e.colno, e.msg) from None
    if duplicates:
        raise AdmissionError(
            [
                FieldError("", f"duplicate key {show(k)}: each key may appear once per object")
                for k in duplicates
            ]
        )
    return tree


def _load_yaml(text: str) -> Any:
    try:
        import yaml
    except ImportError:  # optional: TOML and JSON need nothing beyond the stdlib
        raise AdmissionError(
            [
                FieldError(
                    "format",
                    "YAML needs PyYAML, which is not installed here; use TOML or JSON",
                )
            ]
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        msg = e.problem or "invalid YAML"
        if e.context:
            msg += f" ({e.context})"
        if mark is None:
            raise AdmissionError([FieldError("", msg)]) from None
        raise _located(mark.line + 1, mark.column + 1, msg) from None
    except yaml.reader.ReaderError as e:  # a control character: located by offset only
        line = text.count("\n", 0, e.position) + 1
        col = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        code = e.character if isinstance(e.character, int) else ord(e.character[:1] or "\0")
        raise _located(line, col, f"{e.reason} (U+{code:04X})") from None
    except yaml.YAMLError as e:
        raise AdmissionError(
            [FieldError("", "invalid YAML: " + " ".join(str(e).split()))]
        ) from None
