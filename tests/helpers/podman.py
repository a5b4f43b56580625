"""A private podman serving the Docker API on a unix socket, for docker-runtime tests.

Follows ``../shared/design/TESTING.md``: its own ``--root/--runroot/--tmpdir``,
a ``CONTAINERS_CONF`` with runc, cgroupfs, no network namespace (the default
bridge would rewrite the host firewall) and explicit ulimits; no image can be
pulled, so a busybox image is built from busybox-static and imported as
:data:`IMAGE`. ``stop_service``/``start_service`` take the API away and bring
it back while containers keep running (conmon holds them). ``close`` removes
every container, unmounts podman's storage and deletes the directory.

Needs ``podman runc busybox-static`` (``scripts/setup.sh`` installs them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

IMAGE = "localhost/busybox:test"
BUSYBOX = Path("/bin/busybox")
READY_TIMEOUT_S = 15.0

CONF = """\
[containers]
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{tmp}/events.log"
"""


def missing() -> str | None:
    """Why these tests cannot run here, or None."""
    for tool in ("podman", "runc"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (run scripts/setup.sh: apt-get install podman runc)"
    if not BUSYBOX.is_file():
        return "busybox-static is not installed (/bin/busybox; run scripts/setup.sh)"
    if os.geteuid() != 0:
        return "podman's service needs root here (rootless needs a user namespace setup)"
    return None


def _rootfs_tar(base: Path) -> Path:
    """A tar of ``/bin/busybox`` plus a link per applet (sh, echo, sleep, …)."""
    out = base / "rootfs.tar"
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    with tarfile.open(out, "w") as tar:
        for d in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, arcname="bin/busybox")
        for name in applets:
            if name != "busybox":
                link = tarfile.TarInfo(f"bin/{name}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
    return out


class Podman:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.socket = base / "podman.sock"
        self.conf = base / "containers.conf"
        self.log = base / "service.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """The ``docker_host`` of this engine."""
        return f"unix://{self.socket}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTAINERS_", "DOCKER_"))}
        env["CONTAINERS_CONF"] = str(self.conf)
        return env

    def argv(self, *args: str) -> list[str]:
        b = self.base
        return ["podman", "--root", str(b / "root"), "--runroot", str(b / "runroot"),
                "--tmpdir", str(b / "tmp"), *args]  # fmt: skip

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), env=self.env(), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip

    def setup(self) -> Podman:
        for d in ("root", "runroot", "tmp"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(CONF.format(tmp=self.base / "tmp"))
        tar = _rootfs_tar(self.base)
        r = self.cli("import", "--change", 'CMD ["/bin/sh"]', str(tar), IMAGE)
        if r.returncode != 0:
            raise RuntimeError(f"podman import failed: {r.stderr}")
        return self.start_service()

    def start_service(self) -> Podman:
        assert self.proc is None or self.proc.poll() is not None, "already serving"
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv("system", "service", "--time=0", self.host),
                env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"podman system service did not start:\n{self.service_log()}")
            time.sleep(0.02)
        return self

    def stop_service(self) -> None:
        """The API goes away (containers keep running)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()

    def service_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""

    def containers(self, *filters: str) -> list[str]:
        """Names of the containers (all states) matching ``--filter`` expressions."""
        args = ["ps", "-a", "--format", "{{.Names}}"]
        for f in filters:
            args += ["--filter", f]
        r = self.cli(*args)
        assert r.returncode == 0, r.stderr
        return sorted(r.stdout.split())

    def _mounts(self) -> list[str]:
        prefix = str(self.base) + "/"
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
        return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)

    def close(self) -> None:
        self.stop_service()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.cli("rm", "--all", "--force", "--time", "0", timeout=60)
        for point in self._mounts():
            subprocess.run(["umount", "-l", point], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def running_podman() -> Iterator[Podman]:
    """A set-up :class:`Podman` in a fresh short /tmp dir, closed (and removed) at exit."""
    pm = Podman(Path(tempfile.mkdtemp(prefix="jt-pm-", dir="/tmp")))
    try:
        yield pm.setup()
    finally:
        pm.close()
