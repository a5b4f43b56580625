"""A private mount namespace, optionally with a real systemd-journald in it.

libsystemd's journal socket path (/run/systemd/journal/socket) is fixed, so a
test's jacod can only talk to a private journald if it sees a private
/run/systemd. Recipe (design/TESTING.md):

1. a single-threaded helper process (this file run as a script, never the
   multi-threaded pytest process) calls unshare(CLONE_NEWNS);
2. ``mount --make-rprivate /`` so nothing propagates back to the host;
3. bind-mounts temp dirs over /run/systemd, /run/log, /var/log/journal and a
   journald.conf (Storage=volatile, ReadKMsg=no, Audit=no, RateLimitBurst=0)
   over /etc/systemd/journald.conf;
4. starts /lib/systemd/systemd-journald (no arguments: any argument is taken
   as a journal namespace name), polls for its socket, prints ``ready``;
5. holds the namespace open until its stdin closes, then stops journald.

Processes join the namespace with ``nsenter --mount=/proc/<helper>/ns/mnt``
(nsenter execs, so the pid a test holds is the pid journald records).
The journal files land in ``<root>/run-log/journal``; ``journalctl -D`` reads
them from outside after ``journalctl --sync`` inside.

With ``--no-journald`` the same mounts are made and no journald runs: the
"no journal socket" case, independent of whatever the host has.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CLONE_NEWNS = 0x00020000
JOURNALD = "/lib/systemd/systemd-journald"
JOURNAL_SOCKET = "/run/systemd/journal/socket"
JOURNALD_CONF = "[Journal]\nStorage=volatile\nReadKMsg=no\nAudit=no\nRateLimitBurst=0\n"


# ---------------------------------------------------------------- the helper


def _die(message: str) -> None:
    print(f"journalns: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def _mount(*args: str) -> None:
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        _die(f"`mount {' '.join(args)}` failed ({proc.returncode}): {proc.stderr.strip()}")


def _helper(root: Path, with_journald: bool) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        errno = ctypes.get_errno()
        _die(f"unshare(CLONE_NEWNS) failed: {os.strerror(errno)} (errno {errno}); "
             "these tests need root (CAP_SYS_ADMIN) to make a private mount namespace")
    _mount("--make-rprivate", "/")
    conf = root / "journald.conf"
    conf.write_text(JOURNALD_CONF)
    binds = [
        (root / "run-systemd", Path("/run/systemd")),
        (root / "run-log", Path("/run/log")),
        (root / "var-log-journal", Path("/var/log/journal")),
    ]
    for src, dst in binds:
        src.mkdir(parents=True, exist_ok=True)
        if not dst.is_dir():
            _die(f"{dst} does not exist on this host; cannot bind a private one over it")
        _mount("--bind", str(src), str(dst))
    if not Path("/etc/systemd/journald.conf").is_file():
        _die("/etc/systemd/journald.conf does not exist; is systemd installed?")
    _mount("--bind", str(conf), "/etc/systemd/journald.conf")

    journald = None
    if with_journald:
        if not os.access(JOURNALD, os.X_OK):
            _die(f"{JOURNALD} not found; install systemd")
        with open(root / "journald.log", "wb") as log:
            journald = subprocess.Popen(
                [JOURNALD], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 10
        while not Path(JOURNAL_SOCKET).exists():
            if journald.poll() is not None or time.monotonic() > deadline:
                journald.kill()
                _die(f"systemd-journald did not create {JOURNAL_SOCKET}; its output: "
                     + (root / "journald.log").read_text(errors="replace"))
            time.sleep(0.005)
    print("ready", flush=True)
    sys.stdin.read()  # held open by the test; EOF means tear down
    if journald is not None:
        journald.terminate()
        journald.wait(10)


# ---------------------------------------------------------------- the test side


class JournalNamespace:
    """Owns the helper process; see the module docstring."""

    def __init__(self, root: Path, *, journald: bool = True):
        self.root = root
        self.journald = journald
        self.proc: subprocess.Popen[str] | None = None

    @property
    def journal_dir(self) -> Path:
        return self.root / "run-log" / "journal"

    @property
    def prefix(self) -> list[str]:
        """Prepend to a command line to run it inside the namespace."""
        assert self.proc is not None
        return ["nsenter", f"--mount=/proc/{self.proc.pid}/ns/mnt", "--"]

    def start(self, timeout: float = 15) -> JournalNamespace:
        self.root.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, __file__, str(self.root)]
        if not self.journald:
            argv.append("--no-journald")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if line.strip() != "ready":
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise RuntimeError(
                "could not set up a private mount namespace"
                + (" with systemd-journald" if self.journald else "")
                + f" (helper exit {self.proc.returncode}): {err.strip() or 'no output'}. "
                "These tests need root with CAP_SYS_ADMIN, util-linux (mount, nsenter) and "
                "systemd (systemd-journald, journalctl); see design/TESTING.md."
            )
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def sync(self) -> None:
        """Make everything journald received so far readable (journalctl --sync)."""
        proc = subprocess.run(
            [*self.prefix, "journalctl", "--sync"], capture_output=True, text=True, timeout=30
        )
        assert proc.returncode == 0, f"journalctl --sync failed: {proc.stderr}"

    def journalctl(self, *args: str) -> str:
        """Run journalctl on the private journal (from outside the namespace)."""
        proc = subprocess.run(
            ["journalctl", "-D", str(self.journal_dir), "--no-pager", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, f"journalctl {' '.join(args)} failed: {proc.stderr}"
        return proc.stdout

    def entries(self, *matches: str) -> list[dict[str, Any]]:
        """``journalctl -o json MATCHES...`` parsed: one dict per entry."""
        out = self.journalctl("-o", "json", *matches)
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def full_entries(self, *matches: str) -> list[dict[str, str]]:
        """Like :meth:`entries`, but every field of every entry, in full and as
        text: ``--all`` (journalctl otherwise prints fields over 4096 bytes as
        null), binary values decoded, repeated fields joined by newlines."""
        out = self.journalctl("-o", "json", "--all", *matches)
        return [
            {key: field_text(value) for key, value in json.loads(line).items()}
            for line in out.splitlines()
            if line.startswith("{")
        ]


def field_text(value: Any) -> str:
    """A field value of ``journalctl -o json`` as text. Strings stay; a binary
    value (not valid UTF-8, or with control characters) is a list of byte
    values; a field set more than once in an entry is a list of such values."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value and all(isinstance(v, int) for v in value):
        return bytes(value).decode("utf-8", errors="replace")
    return "\n".join(field_text(v) for v in value)


if __name__ == "__main__":
    _helper(Path(sys.argv[1]), with_journald="--no-journald" not in sys.argv[2:])
