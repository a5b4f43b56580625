"""Rendering: text k=v, one JSON object per line, journald fields."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obs.logging.formats import journal_field, journal_fields, render_json, render_text
from obs.logging.handlers import JournaldHandler
from tests.obs.records import raised, record

# ------------------------------------------------------------------ text


def test_text_line_shape() -> None:
    line = render_text(record("leader elected", extra={"term": 5}))
    assert line == "2026-11-27T02:40:01.123Z info  [raft] leader elected term=5"


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("web", "web"),
        ("two words", '"two words"'),
        ("", '""'),
        ("a=b", '"a=b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("line1\nline2", '"line1\\nline2"'),
        ("tab\there", '"tab\\there"'),
        (5, "5"),
        (2.5, "2.5"),
        (True, "true"),
        (None, "null"),
        ([1, 2], '"[1, 2]"'),
    ],
)
def test_text_value_quoting(value: object, rendered: str) -> None:
    line = render_text(record("m", extra={"k": value}))
    assert line.endswith(f" m k={rendered}"), line


@pytest.mark.parametrize("value", ["a\rb", "esc\x1b[31mred"])
def test_text_value_control_characters_are_escaped(value: str) -> None:
    # A value comes from operators' input (service names, image refs); a raw
    # control character would let it rewrite the terminal line or split it.
    line = render_text(record("m", extra={"k": value}))
    assert not any(ord(c) < 0x20 or c == "\x7f" for c in line), repr(line)


def test_text_attributes_keep_call_order_and_message_args() -> None:
    line = render_text(record("applied %s", args=("web",), extra={"b": 1, "a": 2}))
    assert line.endswith("[raft] applied web b=1 a=2")


def test_text_levels() -> None:
    names = {
        logging.DEBUG: "debug",
        logging.INFO: "info ",
        logging.WARNING: "warn ",
        logging.ERROR: "error",
        logging.CRITICAL: "critical",
    }
    for level, name in names.items():
        assert f"Z {name} [raft] " in render_text(record("m", level=level))


def test_text_exception_follows_the_record() -> None:
    line = render_text(record("boom", level=logging.ERROR, exc=raised(ValueError("bad"))))
    head, _, tail = line.partition("\n")
    assert head.endswith("error [raft] boom")
    assert tail.startswith("Traceback (most recent call last):")
    assert tail.rstrip().endswith("ValueError: bad")


# ------------------------------------------------------------------ JSON


def test_json_one_object_per_line_with_subsystem() -> None:
    rec = record("a\nmulti-line message", extra={"deployment": "web", "replicas": 3},
                 exc=raised(RuntimeError("x\ny")))
    line = render_json(rec)
    assert "\n" not in line
    obj = json.loads(line)
    assert obj["subsystem"] == "raft"
    assert obj["level"] == "info"
    assert obj["msg"] == "a\nmulti-line message"
    assert obj["logger"] == "jaco.raft"
    assert obj["ts"] == "2026-11-27T02:40:01.123Z"
    assert obj["deployment"] == "web" and obj["replicas"] == 3
    assert "RuntimeError: x" in obj["exc"]


def test_json_attributes_never_overwrite_the_base_keys() -> None:
    # (`msg`/`message` cannot be passed in extra=: logging itself refuses them.)
    obj = json.loads(render_json(record("real", extra={
        "level": "fake", "ts": "fake", "logger": "fake"})))
    assert obj["msg"] == "real" and obj["level"] == "info" and obj["logger"] == "jaco.raft"
    assert obj["ts"] == "2026-11-27T02:40:01.123Z"
    assert {obj["attr_level"], obj["attr_ts"], obj["attr_logger"]} == {"fake"}


def test_json_subsystem_attribute_cannot_hide_the_real_one() -> None:
    # `subsystem` is stamped by the queue, never taken from an unknown value.
    obj = json.loads(render_json(record("m", name="grpc._cython.cygrpc",
                                        extra={"subsystem": "bogus"})))
    assert obj["subsystem"] == "controlplane"


def test_json_unserialisable_values_and_unicode() -> None:
    obj = json.loads(render_json(record("héllo ✓", extra={"obj": object(), "set": {1}})))
    assert obj["msg"] == "héllo ✓"
    assert obj["obj"].startswith("<object object")
    assert obj["set"] == "{1}"


@pytest.mark.parametrize(
    ("level", "name"),
    [(logging.DEBUG, "debug"), (logging.INFO, "info"), (logging.WARNING, "warn"),
     (logging.ERROR, "error"), (logging.CRITICAL, "critical")],
)
def test_json_level_names(level: int, name: str) -> None:
    assert json.loads(render_json(record("m", level=level)))["level"] == name


# ------------------------------------------------------------------ journald


@pytest.mark.parametrize(
    ("level", "priority"),
    [
        (logging.DEBUG, "7"),
        (logging.INFO, "6"),
        (logging.WARNING, "4"),
        (logging.ERROR, "3"),
        (logging.CRITICAL, "2"),
        (5, "7"),  # below debug
        (25, "6"),  # between info and warn
    ],
)
def test_journal_priority(level: int, priority: str) -> None:
    assert journal_fields(record("m", level=level), "jacod")["PRIORITY"] == priority


def test_journal_fields_core_and_attributes() -> None:
    fields = journal_fields(
        record("applied web", name="jaco.scheduler/rebalance",
               extra={"deployment": "web", "replicas": 3, "labels": {"a": "b"}, "none": None}),
        "jacod",
    )
    assert fields["MESSAGE"] == "applied web"
    assert fields["SYSLOG_IDENTIFIER"] == "jacod"
    assert fields["SUBSYSTEM"] == "scheduler/rebalance"
    assert fields["PRIORITY"] == "6"
    assert fields["DEPLOYMENT"] == "web"
    assert fields["REPLICAS"] == "3"
    assert json.loads(fields["LABELS"]) == {"a": "b"}
    assert fields["NONE"] == "null"
    assert all(isinstance(v, str) for v in fields.values())


def _valid_field(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Z0-9_]{1,64}", name)) and not name.startswith("_") \
        and not name[0].isdigit()


@pytest.mark.parametrize(
    ("attr", "field"),
    [
        ("deployment", "DEPLOYMENT"),
        ("grace_s", "GRACE_S"),
        ("cluster-id", "CLUSTER_ID"),
        ("a.b c", "A_B_C"),
        ("-leading", "LEADING"),
        ("9lives", "X_9LIVES"),
        ("ünïcode", "N_CODE"),
        ("x" * 100, "X" * 64),
    ],
)
def test_journal_field_names_are_sanitised(attr: str, field: str) -> None:
    fields = journal_fields(record("m", extra={attr: "v"}), "jacod")
    assert fields.get(field) == "v", fields
    assert all(_valid_field(name) for name in fields), sorted(fields)


@given(st.text(min_size=1, max_size=200))
def test_journal_field_name_property(name: str) -> None:
    field = journal_field(name)
    assert _valid_field(field), (name, field)


@pytest.mark.parametrize(
    "attr",
    ["priority", "syslog_identifier", "logger", "code_file", "code_line",
     "code_func", "exception", "message_id", "MESSAGE", "Priority"],
)
def test_journal_reserved_field_collisions(attr: str) -> None:
    fields = journal_fields(record("real message", extra={attr: "caller value"}), "jacod")
    assert fields["MESSAGE"] == "real message"
    assert fields["PRIORITY"] == "6"
    assert fields["SYSLOG_IDENTIFIER"] == "jacod"
    assert fields["LOGGER"] == "jaco.raft"
    assert fields["CODE_LINE"] == "42"
    assert fields["ATTR_" + journal_field(attr)] == "caller value"


def test_journal_exception_field() -> None:
    fields = journal_fields(record("boom", level=logging.ERROR,
                                   exc=raised(KeyError("gone"))), "jacod")
    assert fields["EXCEPTION"].startswith("Traceback (most recent call last):")
    assert "KeyError: 'gone'" in fields["EXCEPTION"]
    assert fields["MESSAGE"] == "boom"


# ------------------------------------------------------------------ the handler


class FakeSender:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, message: str, **fields: str) -> None:
        self.calls.append((message, fields))


def test_journald_handler_sends_through_the_injected_sender() -> None:
    sender = FakeSender()
    handler = JournaldHandler("jacod", sender)
    handler.handle(record("leader elected", extra={"term": 5}))
    [(message, fields)] = sender.calls
    assert message == "leader elected"
    assert "MESSAGE" not in fields
    assert fields["PRIORITY"] == "6"
    assert fields["SYSLOG_IDENTIFIER"] == "jacod"
    assert fields["SUBSYSTEM"] == "raft"
    assert fields["TERM"] == "5"


def test_journald_handler_uses_the_identifier_given() -> None:
    sender = FakeSender()
    JournaldHandler("jaco-test", sender).handle(record("m"))
    assert sender.calls[0][1]["SYSLOG_IDENTIFIER"] == "jaco-test"


def test_journald_handler_through_systemd_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default sender is systemd-python's ``journal.send``; its own argument
    handling (``CODE_LINE`` must be an int, ...) runs, only the final
    ``sendv`` to the socket is captured."""
    from systemd import journal

    sent: list[tuple[str, ...]] = []
    monkeypatch.setattr(journal, "sendv", lambda *args: sent.append(args))
    handler = JournaldHandler("jacod")
    failures: list[BaseException | None] = []
    monkeypatch.setattr(handler, "handleError", lambda rec: failures.append(sys.exc_info()[1]))
    handler.handle(record("leader elected", extra={"term": 5, "deployment": "web"}))
    assert failures == [], f"journal.send rejected the fields: {failures!r}"
    [args] = sent
    for line in ("MESSAGE=leader elected", "PRIORITY=6", "SYSLOG_IDENTIFIER=jacod",
                 "SUBSYSTEM=raft", "TERM=5", "DEPLOYMENT=web", "CODE_LINE=42",
                 "CODE_FILE=/src/raft.py", "CODE_FUNC=elect"):
        assert line in args, (line, args)
