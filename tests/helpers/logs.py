"""Parsers for what jacod/jaco write to stderr, strict about the spec:
every log line carries a subsystem."""

from __future__ import annotations

import json
import re
from typing import Any

from obs.logging.subsystems import SUBSYSTEMS

# `2026-11-27T02:40:01.123Z info  [raft] leader elected term=5`
TEXT_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) "
    r"(?P<level>debug|info|warn|error|critical) +"
    r"\[(?P<subsystem>[^\]]+)\] (?P<msg>.*)$"
)


def text_records(stderr: str) -> list[dict[str, str]]:
    """Parse text-mode stderr into records; fail on any line that is neither a
    record with a known ``[subsystem]`` nor part of a record's traceback."""
    records: list[dict[str, str]] = []
    in_traceback = False
    for n, line in enumerate(stderr.splitlines(), 1):
        m = TEXT_LINE.match(line)
        if m:
            sub = m["subsystem"]
            assert sub in SUBSYSTEMS, f"line {n} has unknown subsystem {sub!r}: {line!r}"
            records.append(m.groupdict())
            in_traceback = False
            continue
        if records and (in_traceback or line == "Traceback (most recent call last):"):
            # A record's exception: the lines following its header belong to it.
            in_traceback = True
            records[-1]["exc"] = records[-1].get("exc", "") + line + "\n"
            continue
        raise AssertionError(
            f"stderr line {n} is not a log line with a [subsystem]: {line!r}\n--- stderr:\n{stderr}"
        )
    return records


def json_records(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line is one JSON object with a known ``subsystem``."""
    records = []
    for n, line in enumerate(stderr.splitlines(), 1):
        try:
            obj = json.loads(line)
        except ValueError:
            raise AssertionError(
                f"stderr line {n} is not JSON: {line!r}\n--- stderr:\n{stderr}"
            ) from None
        assert isinstance(obj, dict), f"line {n} is not a JSON object: {line!r}"
        assert obj.get("subsystem") in SUBSYSTEMS, f"line {n} lacks a known subsystem: {line!r}"
        records.append(obj)
    return records


def messages(records: list[dict[str, Any]], key: str = "msg") -> list[str]:
    return [str(r.get(key, "")) for r in records]
