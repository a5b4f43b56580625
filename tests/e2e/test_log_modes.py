"""Log sink selection on real jacod processes, and a real journald receiving
them (observability.md, "Logs"; design/TESTING.md for the namespace recipe).

(INVOCATION_ID set/unset) x (journal socket present/absent):
  set + present -> journald;  set + absent -> JSON lines;  unset -> text.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from obs.logging.subsystems import SUBSYSTEMS
from tests.helpers import (
    JACO,
    Jacod,
    JournalNamespace,
    clean_env,
    json_records,
    remove_tree,
    run_jacod,
    short_tmpdir,
    text_records,
)
from tests.helpers.rpc import send_malformed

pytestmark = pytest.mark.timeout(180)

JOURNAL_SOCKET = "/run/systemd/journal/socket"
PRIORITY_LEVELS = {"7": "debug", "6": "info", "4": "warn", "3": "error", "2": "critical"}


def daemon_env(invocation: bool, **extra: str) -> dict[str, str]:
    return clean_env({"INVOCATION_ID": uuid.uuid4().hex} if invocation else {}) | extra


def socket_visible(ns: JournalNamespace) -> bool:
    return subprocess.run([*ns.prefix, "test", "-S", JOURNAL_SOCKET]).returncode == 0


def run_lifecycle(ns: JournalNamespace, base: Path, env: dict[str, str], node: str) -> Jacod:
    """Start jacod inside ``ns``, make it log a controlplane error (a client
    sends a request that does not decode), stop it with SIGTERM."""
    daemon = Jacod(base, env=env, prefix=ns.prefix, node_name=node)
    try:
        daemon.start().wait_ready()
        send_malformed(daemon.socket)
        rc = daemon.stop()
    finally:
        daemon.kill()
    assert rc == 0, f"jacod exited {rc}; stderr:\n{daemon.stderr()}"
    return daemon


# ---------------------------------------------------------------- the matrix


@pytest.mark.parametrize(
    ("invocation", "journal", "expected"),
    [
        (False, False, "text"),
        (True, False, "json"),
        (False, True, "text"),
        (True, True, "journald"),
    ],
    ids=["plain-no-journal", "systemd-no-journal", "plain-with-journal", "systemd-with-journal"],
)
def test_mode_selection(
    request: pytest.FixtureRequest,
    tmpdir_short: Path,
    invocation: bool,
    journal: bool,
    expected: str,
) -> None:
    ns: JournalNamespace = request.getfixturevalue("journal_ns" if journal else "bare_ns")
    assert socket_visible(ns) == journal, "namespace setup: journal socket presence is wrong"
    daemon = run_lifecycle(ns, tmpdir_short, daemon_env(invocation), node=f"m-{expected}")
    stderr = daemon.stderr()
    entries: list[dict[str, Any]] = []
    if journal:
        ns.sync()
        entries = ns.entries(f"_PID={daemon.pid}")

    if expected == "journald":
        assert stderr == "", f"journald mode wrote to stderr:\n{stderr}"
        assert entries, "journald mode, but the journal got nothing from jacod"
        assert all(e.get("SYSLOG_IDENTIFIER") == "jacod" for e in entries)
        records = [
            {
                "msg": e["MESSAGE"],
                "subsystem": e.get("SUBSYSTEM"),
                "level": PRIORITY_LEVELS[e["PRIORITY"]],
                "exc": e.get("EXCEPTION", ""),
            }
            for e in entries
        ]
    else:
        assert entries == [], f"{expected} mode, but the journal got lines from jacod: {entries}"
        records = json_records(stderr) if expected == "json" else text_records(stderr)
        if expected == "text":
            with pytest.raises(ValueError):
                json.loads(stderr.splitlines()[0])
    assert all(r["subsystem"] in SUBSYSTEMS for r in records), records
    msgs = [r["msg"] for r in records]
    assert any(m.startswith("jacod ready") for m in msgs), msgs
    assert "jacod stopped" in msgs
    ready = next(r for r in records if r["msg"].startswith("jacod ready"))
    assert ready["subsystem"] == "daemon" and ready["level"] == "info"
    [bad_request] = [
        r for r in records if r["subsystem"] == "controlplane" and "GetStatus" in r["msg"]
    ]
    assert bad_request["level"] == "error"
    assert "DecodeError" in bad_request.get("exc", ""), bad_request


# ---------------------------------------------------------------- a real journald


@pytest.fixture(scope="module")
def journald_run(journal_ns: JournalNamespace) -> Iterator[dict[str, Any]]:
    """jacod A under "systemd" with the private journald: ready, a controlplane
    error, a second jacod B on A's data dir (logs an error, exits 1), SIGTERM."""
    base = short_tmpdir()
    node = f"jt-{uuid.uuid4().hex[:10]}"
    env = daemon_env(True)
    a = Jacod(base / "a", env=env, prefix=journal_ns.prefix, node_name=node)
    b = Jacod(
        base / "b",
        env=env,
        prefix=journal_ns.prefix,
        data_dir=a.data_dir,
        socket_path=base / "b.sock",
        name="second",
    )
    try:
        try:
            a.start().wait_ready()
            status = subprocess.run(
                [*JACO, "--server", a.server, "status", "-o", "json"],
                env=clean_env(),
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert status.returncode == 0, status.stderr
            send_malformed(a.socket)
            b_rc = b.start().wait(30)
            a_rc = a.stop()
        finally:
            a.kill()
            b.kill()
        journal_ns.sync()
        yield {
            "a": a,
            "b": b,
            "a_rc": a_rc,
            "b_rc": b_rc,
            "node": node,
            "cluster_id": json.loads(status.stdout)["cluster"]["cluster_id"],
        }
    finally:
        remove_tree(base)


def test_journald_lifecycle_exit_codes(journald_run: dict[str, Any]) -> None:
    assert journald_run["a_rc"] == 0
    assert journald_run["b_rc"] == 1
    # Both logged to the journal only.
    assert journald_run["a"].stderr() == ""
    assert journald_run["b"].stderr() == ""


def test_journalctl_subsystem_controlplane(
    journal_ns: JournalNamespace, journald_run: dict[str, Any]
) -> None:
    pid = journald_run["a"].pid
    entries = journal_ns.entries("SUBSYSTEM=controlplane", f"_PID={pid}")
    assert entries, journal_ns.journalctl(f"_PID={pid}")
    [entry] = [e for e in entries if "GetStatus" in e["MESSAGE"]]
    assert entry["PRIORITY"] == "3"
    assert entry["SYSLOG_IDENTIFIER"] == "jacod"
    assert "DecodeError" in entry.get("EXCEPTION", ""), entry


def test_journalctl_priority_err(
    journal_ns: JournalNamespace, journald_run: dict[str, Any]
) -> None:
    a, b = journald_run["a"].pid, journald_run["b"].pid
    errs = [e for e in journal_ns.entries("-p", "err") if e.get("_PID") in (str(a), str(b))]
    by_pid = {pid: [e["MESSAGE"] for e in errs if e["_PID"] == str(pid)] for pid in (a, b)}
    assert any("another jacod is using data dir" in m for m in by_pid[b]), by_pid
    assert any("GetStatus" in m for m in by_pid[a]), by_pid
    assert not any(m.startswith("jacod ready") for m in by_pid[a])  # info is not err
    second = [e for e in errs if e["_PID"] == str(b)]
    assert second[0]["SUBSYSTEM"] == "daemon" and second[0]["PRIORITY"] == "3"


def test_journalctl_syslog_identifier(
    journal_ns: JournalNamespace, journald_run: dict[str, Any]
) -> None:
    a = journald_run["a"].pid
    entries = journal_ns.entries("SYSLOG_IDENTIFIER=jacod", f"_PID={a}")
    msgs = [e["MESSAGE"] for e in entries]
    assert any(m.startswith("jacod ready") for m in msgs), msgs
    assert "jacod stopped" in msgs
    info = [e for e in entries if e["MESSAGE"] == "jacod stopped"]
    assert info[0]["PRIORITY"] == "6"


@pytest.mark.parametrize("field", ["NODE", "CLUSTER_ID", "SOCKET"])
def test_journalctl_custom_attribute_field(
    journal_ns: JournalNamespace, journald_run: dict[str, Any], field: str
) -> None:
    value = {
        "NODE": journald_run["node"],
        "CLUSTER_ID": journald_run["cluster_id"],
        "SOCKET": str(journald_run["a"].socket),
    }[field]
    entries = journal_ns.entries(f"{field}={value}", f"_PID={journald_run['a'].pid}")
    assert [e["MESSAGE"] for e in entries if e["MESSAGE"].startswith("jacod ready")], (
        f"journalctl {field}={value} found no `jacod ready` entry: {entries}"
    )
    for entry in entries:
        assert entry[field] == value
        if entry["MESSAGE"].startswith("jacod ready"):
            assert entry["SUBSYSTEM"] == "daemon"


def test_journal_every_entry_has_a_subsystem(
    journal_ns: JournalNamespace, journald_run: dict[str, Any]
) -> None:
    a, b = journald_run["a"].pid, journald_run["b"].pid
    entries = journal_ns.entries(f"_PID={a}", f"_PID={b}")
    assert len(entries) >= 4
    bad = [e for e in entries if e.get("SUBSYSTEM") not in SUBSYSTEMS]
    assert bad == [], bad


# ---------------------------------------------------------------- the CLI is always text


def test_cli_stays_text_under_systemd_with_a_journal(
    journal_ns: JournalNamespace, shared_jacod: Jacod
) -> None:
    proc = subprocess.Popen(
        [*journal_ns.prefix, *JACO, "-v", "--server", shared_jacod.server, "status"],
        env=daemon_env(True),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    records = text_records(err)
    assert {r["level"] for r in records} >= {"debug", "info"}
    assert any(r["msg"].startswith("dialing jacod") and r["subsystem"] == "cli" for r in records)
    journal_ns.sync()
    assert journal_ns.entries(f"_PID={proc.pid}") == []


def test_cli_verbose_every_line_has_a_subsystem(shared_jacod: Jacod) -> None:
    proc = subprocess.run(
        [*JACO, "-v", "--server", shared_jacod.server, "status"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    records = text_records(proc.stderr)
    assert "debug" in {r["level"] for r in records}
    assert all("exc" not in r for r in records), proc.stderr


def test_shared_daemon_text_lines_all_have_a_subsystem(shared_jacod: Jacod) -> None:
    records = text_records(shared_jacod.stderr())
    assert any(r["msg"].startswith("jacod ready") for r in records)


# ---------------------------------------------------------------- no systemd-python


def test_journald_without_systemd_python_falls_back_to_json(
    journal_ns: JournalNamespace, tmpdir_short: Path
) -> None:
    shim = tmpdir_short / "shim"
    (shim / "systemd").mkdir(parents=True)
    (shim / "systemd" / "__init__.py").write_text(
        'raise ImportError("systemd-python hidden by the test shim")\n'
    )
    env = daemon_env(True, PYTHONPATH=str(shim))
    # The shim works: systemd is unimportable for jacod's interpreter.
    probe = run_jacod("--version", env=env)
    assert probe.rc == 0
    daemon = run_lifecycle(journal_ns, tmpdir_short / "d", env, node="fallback")
    records = json_records(daemon.stderr())
    warnings = [r for r in records if r["level"] == "warn"]
    assert len(warnings) == 1, records
    assert "journald" in warnings[0]["msg"] and warnings[0]["subsystem"] == "daemon"
    assert "systemd-python" in json.dumps(warnings[0])
    msgs = [r["msg"] for r in records]
    assert any(m.startswith("jacod ready") for m in msgs)
    journal_ns.sync()
    assert journal_ns.entries(f"_PID={daemon.pid}") == []


def test_shim_really_hides_systemd(tmpdir_short: Path) -> None:
    shim = tmpdir_short / "shim"
    (shim / "systemd").mkdir(parents=True)
    (shim / "systemd" / "__init__.py").write_text('raise ImportError("hidden")\n')
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", "import systemd.journal"],
        env=clean_env({"PYTHONPATH": str(shim)}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1 and "hidden" in proc.stderr
