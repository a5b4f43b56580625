"""The replica supervisor ("shim"): one per running replica, outliving jacod.

Run as ``python -I -S shim.py --jaco-shim <replica dir>``; it imports only the
stdlib so it starts fast and small, and so jacod's own imports never run in it.
It double-forks: the first process exits once the replica is running (or failed
to exec), so the runtime's ``start`` learns the outcome without polling, and the
supervisor is re-parented away from jacod (no zombies, no shared fate).

The supervisor is a session leader; the command runs in its own process group
inside that session. Each stdout/stderr line is appended to ``current.log`` as
``<ts_ns> <stream> <line>\\n`` with strictly increasing timestamps, rotated by
size. ``state.json`` (written atomically) tells the runtime what happened.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from typing import Any

SHIM_MARKER = "--jaco-shim"
SPEC_FILE = "spec.json"
RUN_FILE = "run.json"
STATE_FILE = "state.json"
STOP_FILE = "stop.json"
CURRENT = "current.log"
PREVIOUS = "previous.log"
MAX_LINE = 64 * 1024
_CHUNK = 64 * 1024


def write_json_atomic(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(json.dumps(data).encode())
    os.replace(tmp, path)


def proc_starttime(pid: int) -> int | None:
    """Start time in clock ticks since boot: with the pid, a process's identity."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])


class LogWriter:
    def __init__(self, directory: str, max_bytes: int, files: int) -> None:
        self.path = os.path.join(directory, CURRENT)
        self.max_bytes, self.files = max_bytes, max(1, files)
        self.last_ts, self.dropped, self.error = 0, 0, ""
        self.fd = self._open()
        self.size = os.fstat(self.fd).st_size

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)

    def _rotate(self) -> None:
        os.close(self.fd)
        self.fd = -1  # reopened by the next write if anything below fails
        if self.files == 1:
            os.unlink(self.path)
        for k in range(self.files - 1, 0, -1):
            src = self.path if k == 1 else f"{self.path}.{k - 1}"
            try:
                os.replace(src, f"{self.path}.{k}")
            except FileNotFoundError:
                pass
        self.fd, self.size = self._open(), 0

    def _flush(self, buf: list[bytes]) -> None:
        data = b"".join(buf)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self.size += len(data)
        buf.clear()

    def write(self, stream: bytes, lines: list[bytes]) -> None:
        # A full disk costs log lines, never the replica.
        try:
            if self.dropped:
                note = f"{self.dropped} log lines dropped: {self.error}".encode()
                self.dropped = 0
                self._write(b"system", [note])
            self._write(stream, lines)
        except OSError as exc:
            self.dropped += len(lines)
            self.error = exc.strerror or str(exc)

    def _write(self, stream: bytes, lines: list[bytes]) -> None:
        if self.fd < 0:
            self.fd = self._open()
            self.size = os.fstat(self.fd).st_size
        buf: list[bytes] = []
        pending = 0
        for line in lines:
            # Strictly increasing: readers use the timestamp as a line's identity.
            ts = self.last_ts = max(time.time_ns(), self.last_ts + 1)
            rec = b"%d %s %s\n" % (ts, stream, line)
            if self.size + pending + len(rec) > self.max_bytes and self.size + pending > 0:
                self._flush(buf)
                pending = 0
                self._rotate()
            buf.append(rec)
            pending += len(rec)
        self._flush(buf)

    def system(self, message: str) -> None:
        self.write(b"system", [message.encode(errors="replace")])


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines (each at most MAX_LINE) and the unterminated rest."""
    parts = data.split(b"\n")
    rest = parts.pop()
    lines: list[bytes] = []
    for part in parts:
        lines.extend(part[i : i + MAX_LINE] for i in range(0, max(len(part), 1), MAX_LINE))
    while len(rest) >= MAX_LINE:
        lines.append(rest[:MAX_LINE])
        rest = rest[MAX_LINE:]
    return lines, rest


def _exec_error(exc: OSError, argv: list[str], cwd: str) -> tuple[int, str]:
    if isinstance(exc, FileNotFoundError):
        if exc.filename == cwd and not os.path.isdir(cwd):
            return 127, f"exec failed: workdir not found: {cwd}"
        return 127, f"exec failed: command not found: {argv[0]}"
    if isinstance(exc, PermissionError):
        return 126, f"exec failed: permission denied: {argv[0]}"
    return 126, f"exec failed: {exc.strerror or exc}: {argv[0]}"


class Supervisor:
    def __init__(self, directory: str, ready_fd: int) -> None:
        self.dir, self.ready_fd = directory, ready_fd
        with open(os.path.join(directory, RUN_FILE), "rb") as f:
            self.run = json.load(f)
        self.log = LogWriter(directory, self.run["log_max_bytes"], self.run["log_files"])
        self.log.last_ts = self.run.get("min_ts", 0)  # continue the last run's timeline
        pid = os.getpid()
        self.state: dict[str, Any] = {
            "shim_pid": pid, "shim_start": proc_starttime(pid), "status": "starting",
            "child_pid": None, "child_start": None, "started_at_ns": time.time_ns(),
            "finished_at_ns": 0, "exit_code": None, "error": "", "stop_requested": False,
        }  # fmt: skip
        self.term = False

    def save(self, **changes: Any) -> None:
        self.state.update(changes)
        write_json_atomic(os.path.join(self.dir, STATE_FILE), self.state)

    def ready(self) -> None:
        if self.ready_fd >= 0:
            os.write(self.ready_fd, b"1")
            os.close(self.ready_fd)
            self.ready_fd = -1

    def _on_term(self, signum: int, frame: object) -> None:
        self.term = True

    def _cgroup_join(self, cgroup: str = "") -> None:
        # For the command: runs between fork and exec, so grandchildren are placed too.
        try:
            with open(os.path.join(cgroup or self.run["cgroup"], "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        except OSError:
            pass

    def main(self) -> int:
        argv, cwd, cgroup = self.run["argv"], self.run["cwd"], self.run["cgroup"]
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGTERM, self._on_term)
        # Handlers, not SIG_IGN: ignored signals would stay ignored in the command.
        for sig in (signal.SIGCHLD, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        self.save()
        if self.run.get("shim_cgroup"):
            self._cgroup_join(self.run["shim_cgroup"])
        try:
            child = subprocess.Popen(
                argv, cwd=cwd, env=self.run["env"], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, process_group=0,
                preexec_fn=self._cgroup_join if cgroup else None,
            )  # fmt: skip
        except OSError as exc:
            code, error = _exec_error(exc, argv, cwd)
            self.log.system(error)
            self.save(status="exited", exit_code=code, error=error, finished_at_ns=time.time_ns())
            self.ready()
            return 0
        self.save(status="running", child_pid=child.pid, child_start=proc_starttime(child.pid),
                  started_at_ns=time.time_ns())  # fmt: skip
        self.log.system(f"started pid {child.pid}")
        if cgroup and not _in_cgroup(child.pid, cgroup):
            self.log.system("cgroup placement failed; running without resource limits")
        self.ready()
        returncode = self.supervise(child, wake_r)
        if returncode >= 0:
            code, error = returncode, ""
        else:
            code = 128 - returncode
            error = "" if self.state["stop_requested"] else f"killed by {_signame(-returncode)}"
        self.log.system(f"exited with code {code}" + (f" ({error})" if error else ""))
        self.save(status="exited", exit_code=code, error=error, finished_at_ns=time.time_ns())
        return 0

    def supervise(self, child: subprocess.Popen[bytes], wake_r: int) -> int:
        sel = selectors.DefaultSelector()
        assert child.stdout is not None and child.stderr is not None
        for pipe, name in ((child.stdout, b"stdout"), (child.stderr, b"stderr")):
            os.set_blocking(pipe.fileno(), False)
            sel.register(pipe.fileno(), selectors.EVENT_READ, name)
        sel.register(wake_r, selectors.EVENT_READ, None)
        rest = {b"stdout": b"", b"stderr": b""}
        streams, returncode = 2, None
        kill_at: float | None = None
        drain_until = 0.0
        while True:
            now = time.monotonic()
            timeout = 1.0 if kill_at is None else max(0.0, kill_at - now)
            if returncode is not None:
                timeout = max(0.0, min(timeout, drain_until - now))
            for key, _ in sel.select(timeout):
                try:
                    data = os.read(key.fd, _CHUNK)
                except BlockingIOError:
                    continue
                if key.data is None:
                    continue  # a signal woke us; the flags are checked below
                if not data:
                    sel.unregister(key.fd)
                    streams -= 1
                    if rest[key.data]:
                        self.log.write(key.data, [rest.pop(key.data)])
                    continue
                lines, rest[key.data] = _split(rest[key.data] + data)
                if lines:
                    self.log.write(key.data, lines)
            if self.term and not self.state["stop_requested"] and returncode is None:
                grace = _stop_grace(os.path.join(self.dir, STOP_FILE))
                self.save(stop_requested=True)
                self.log.system(f"stop requested; SIGTERM, SIGKILL after {grace:g}s")
                _killpg(child.pid, signal.SIGTERM)
                kill_at = time.monotonic() + grace
            if kill_at is not None and returncode is None and time.monotonic() >= kill_at:
                self.log.system("grace period expired; SIGKILL")
                _killpg(child.pid, signal.SIGKILL)
                kill_at = None
            if returncode is None and os.waitid(
                os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT
            ):
                # The leader is a zombie, so its group id is still ours to kill:
                # whatever the command left behind ends with it.
                _killpg(child.pid, signal.SIGKILL)
                returncode = child.wait()
                drain_until = time.monotonic() + 1.0
            if returncode is not None and (streams == 0 or time.monotonic() >= drain_until):
                for name, tail in rest.items():
                    if tail:
                        self.log.write(name, [tail])
                return returncode


def _in_cgroup(pid: int, cgroup: str) -> bool:
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            paths = [line.split(":", 2)[2].strip() for line in f if line.startswith("0::")]
    except OSError:
        return False
    return any(cgroup.endswith(p) for p in paths if p != "/")


def _stop_grace(path: str) -> float:
    try:
        with open(path, "rb") as f:
            return float(json.load(f)["grace_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return 10.0


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def main(argv: list[str]) -> None:
    directory = argv[argv.index(SHIM_MARKER) + 1]
    ready_r, ready_w = os.pipe()
    if os.fork():
        os.close(ready_w)
        os._exit(0 if os.read(ready_r, 1) else 1)
    os.close(ready_r)
    os.setsid()
    sup: Supervisor | None = None
    try:
        sup = Supervisor(directory, ready_w)
        code = sup.main()
    except BaseException as exc:  # the last word must reach state.json
        code = 1
        error = f"supervisor error: {type(exc).__name__}: {exc}"
        try:
            if sup is not None:
                if sup.state.get("child_pid"):
                    _killpg(sup.state["child_pid"], signal.SIGKILL)
                sup.log.system(error)
                sup.save(status="exited", error=error, finished_at_ns=time.time_ns())
        except BaseException:  # nothing left to report to
            pass
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv)
