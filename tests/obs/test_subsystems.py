"""Subsystem keys: the one logger factory, third-party mapping, and that every
record leaving a sink carries a subsystem."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

import obs.logging as obslog
from obs.logging import queue as obsqueue
from obs.logging.subsystems import SUBSYSTEMS, subsystem_for
from tests.helpers import clean_env, json_records, text_records

# observability.md, "Subsystem keys", verbatim (not imported from the product:
# dropping one there must fail here).
SPEC_KEYS = [
    "raft", "scheduler", "scheduler/rebalance", "scheduler/pressure", "runtime", "discovery",
    "ingress", "controlplane", "admission", "bootstrap", "wgmesh", "firewall", "dns", "health",
]


@pytest.mark.parametrize("key", SPEC_KEYS)
def test_every_spec_key_is_accepted(key: str) -> None:
    logger = obslog.get_logger(key)
    assert isinstance(logger, logging.Logger)
    assert subsystem_for(logger.name) == key


@pytest.mark.parametrize("key", ["daemon", "cli", "external"])
def test_our_own_keys_are_accepted(key: str) -> None:
    assert subsystem_for(obslog.get_logger(key).name) == key


@pytest.mark.parametrize("key", ["bogus", "Raft", "", "raft/", "scheduler/other", "jaco.raft"])
def test_unknown_subsystem_is_rejected(key: str) -> None:
    with pytest.raises(ValueError, match="subsystem"):
        obslog.get_logger(key)


@pytest.mark.parametrize(
    ("logger_name", "subsystem"),
    [
        ("grpc", "controlplane"),
        ("grpc._cython.cygrpc", "controlplane"),
        ("grpc.aio._call", "controlplane"),
        ("grpc._server", "controlplane"),
        ("pysyncobj", "raft"),
        ("pysyncobj.syncobj", "raft"),
        ("asyncio", "daemon"),
        ("urllib3.connectionpool", "external"),
        ("grpcx", "external"),  # a prefix only matches whole dotted parts
        ("root", "external"),
        ("", "external"),
        ("jaco.raft", "raft"),
        ("jaco.scheduler/pressure", "scheduler/pressure"),
        ("jaco.nonsense", "external"),
    ],
)
def test_logger_name_to_subsystem(logger_name: str, subsystem: str) -> None:
    assert subsystem_for(logger_name) == subsystem


def test_every_mapped_subsystem_is_a_known_key() -> None:
    for name in ("grpc", "pysyncobj", "asyncio", "anything.else", "jaco.raft"):
        assert subsystem_for(name) in SUBSYSTEMS


# ------------------------------------------------------- through the real pipeline


class ListSink(logging.Handler):
    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.gate = gate

    def emit(self, record: logging.LogRecord) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        self.records.append(record)


@pytest.fixture
def restore_root() -> Iterator[None]:
    """setup_daemon/setup_cli own the root logger; give pytest's back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    obslog.shutdown()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
    logging.getLogger("py.warnings").filters.clear()


class FakeSender:
    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[dict[str, str]] = []
        self.gate = gate
        self.entered = threading.Event()

    def __call__(self, message: str, **fields: str) -> None:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        self.calls.append({"MESSAGE": message, **fields})


def test_setup_daemon_journald_with_injected_sender(restore_root: None) -> None:
    sender = FakeSender()
    assert obslog.setup_daemon(logging.DEBUG, "journald", sender=sender) == "journald"
    obslog.get_logger("scheduler").info("placed", extra={"deployment": "web", "replica_id": "r1"})
    logging.getLogger("pysyncobj.syncobj").warning("slow commit")
    logging.getLogger("grpc._cython.cygrpc").error("bad request")
    logging.getLogger("some.library").debug("hello")
    logging.getLogger().critical("root")
    obslog.shutdown()  # flushes the listener
    by_msg = {c["MESSAGE"]: c for c in sender.calls}
    assert by_msg["placed"]["SUBSYSTEM"] == "scheduler"
    assert by_msg["placed"]["DEPLOYMENT"] == "web"
    assert by_msg["placed"]["REPLICA_ID"] == "r1"
    assert by_msg["placed"]["PRIORITY"] == "6"
    assert by_msg["slow commit"]["SUBSYSTEM"] == "raft"
    assert by_msg["slow commit"]["PRIORITY"] == "4"
    assert by_msg["bad request"]["SUBSYSTEM"] == "controlplane"
    assert by_msg["bad request"]["PRIORITY"] == "3"
    assert by_msg["hello"]["SUBSYSTEM"] == "external"
    assert by_msg["hello"]["PRIORITY"] == "7"
    assert by_msg["root"]["PRIORITY"] == "2"
    assert all(c["SYSLOG_IDENTIFIER"] == "jacod" for c in sender.calls)
    assert all(c["SUBSYSTEM"] in SUBSYSTEMS for c in sender.calls)


def test_setup_daemon_level_filters(restore_root: None) -> None:
    sender = FakeSender()
    obslog.setup_daemon(logging.WARNING, "journald", sender=sender)
    log = obslog.get_logger("raft")
    log.info("dropped")
    log.warning("kept")
    obslog.shutdown()
    assert [c["MESSAGE"] for c in sender.calls] == ["kept"]


def test_setup_daemon_rejects_unknown_mode(restore_root: None) -> None:
    with pytest.raises(ValueError, match="journald"):
        obslog.setup_daemon(logging.INFO, "xml")


def test_logging_never_blocks_on_a_slow_sink(restore_root: None) -> None:
    gate = threading.Event()
    sender = FakeSender(gate)
    obslog.setup_daemon(logging.INFO, "journald", sender=sender)
    log = obslog.get_logger("raft")
    start = time.monotonic()
    for i in range(200):
        log.info("entry %d", i)
    elapsed = time.monotonic() - start
    gate.set()
    obslog.shutdown()
    assert elapsed < 0.5, f"200 log calls took {elapsed:.2f}s behind a wedged sink"
    assert [c["MESSAGE"] for c in sender.calls] == [f"entry {i}" for i in range(200)]


def test_full_queue_drops_and_counts_instead_of_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(obsqueue, "QUEUE_SIZE", 5)
    gate = threading.Event()
    sink = ListSink(gate)
    front, listener = obsqueue.start(sink)
    logger = logging.Logger("jaco.raft")  # detached: no global state touched
    logger.addHandler(front)
    before = obsqueue.SubsystemQueueHandler.dropped
    start = time.monotonic()
    for i in range(50):
        logger.warning("m%d", i)
    elapsed = time.monotonic() - start
    dropped = obsqueue.SubsystemQueueHandler.dropped - before
    gate.set()
    deadline = time.monotonic() + 5
    while not listener.queue.empty() and time.monotonic() < deadline:
        time.sleep(0.01)
    listener.stop()
    assert elapsed < 0.5
    assert dropped >= 50 - 5 - 1
    assert len(sink.records) == 50 - dropped
    assert all(r.subsystem == "raft" for r in sink.records)  # type: ignore[attr-defined]


def test_shutdown_with_a_full_queue_flushes_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch, restore_root: None
) -> None:
    # jacod calls shutdown() on exit; a slow sink must not turn that into a
    # queue.Full traceback (and a lost flush).
    monkeypatch.setattr(obsqueue, "QUEUE_SIZE", 3)
    gate = threading.Event()
    sender = FakeSender(gate)
    obslog.setup_daemon(logging.INFO, "journald", sender=sender)
    log = obslog.get_logger("raft")
    log.info("first")
    assert sender.entered.wait(5)  # the listener is now stuck in the sink
    for i in range(10):
        log.info("m%d", i)  # 3 queued, the rest dropped: the queue is full
    timer = threading.Timer(0.2, gate.set)
    timer.start()
    try:
        obslog.shutdown()
    finally:
        gate.set()
        timer.join()
    assert [c["MESSAGE"] for c in sender.calls] == ["first", "m0", "m1", "m2"]


# ------------------------------------------------------- real processes


SCRIPT = """
import logging, sys, warnings
import obs.logging as obslog
mode = sys.argv[1]
if mode == "cli":
    obslog.setup_cli(logging.DEBUG)
else:
    obslog.setup_daemon(logging.DEBUG, mode)
for key in sorted(obslog.SUBSYSTEMS):
    obslog.get_logger(key).info("from %s", key)
logging.getLogger("grpc._cython.cygrpc").warning("grpc says")
logging.getLogger("pysyncobj").error("raft lib says")
logging.getLogger("asyncio").debug("loop says")
logging.getLogger("unheard.of").info("stranger says")
logging.getLogger().warning("root says")
logging.warning("module-level says")
try:
    1 / 0
except ZeroDivisionError:
    obslog.get_logger("raft").exception("with traceback")
obslog.shutdown()
"""

EXPECTED = {
    "grpc says": "controlplane",
    "raft lib says": "raft",
    "loop says": "daemon",
    "stranger says": "external",
    "root says": "external",
    "module-level says": "external",
    "with traceback": "raft",
}


@pytest.mark.parametrize("mode", ["text", "json", "cli"])
def test_no_line_without_subsystem(mode: str) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode], env=clean_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    if mode == "json":
        records = json_records(proc.stderr)
        found = {r["msg"]: r["subsystem"] for r in records}
    else:
        records = text_records(proc.stderr)
        found = {r["msg"]: r["subsystem"] for r in records}
    for key in SUBSYSTEMS:
        assert found.get(f"from {key}") == key
    for msg, subsystem in EXPECTED.items():
        assert found.get(msg) == subsystem, (msg, found)


WARN_SCRIPT = """
import logging, sys, warnings
import obs.logging as obslog
obslog.setup_daemon(logging.INFO, sys.argv[1])
warnings.warn("a python warning")
obslog.shutdown()
"""


@pytest.mark.parametrize("mode", ["text", "json"])
def test_python_warnings_are_one_line_under_daemon(mode: str) -> None:
    # captureWarnings routes warnings.warn to py.warnings -> subsystem daemon;
    # the record must still be one line with its subsystem in text mode.
    proc = subprocess.run([sys.executable, "-c", WARN_SCRIPT, mode], env=clean_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    records = json_records(proc.stderr) if mode == "json" else text_records(proc.stderr)
    assert len(records) == 1, proc.stderr
    assert records[0]["subsystem"] == "daemon"
    assert records[0]["level"] == "warn"
    assert "UserWarning: a python warning" in records[0]["msg"]
