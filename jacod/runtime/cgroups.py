"""cgroup v2 placement, best effort: a replica never fails to start because of it.

``<root>/<parent>/<replica key>`` gets ``memory.max`` / ``cpu.max`` from the spec;
the shim moves the command into it between fork and exec. Controllers are
enabled on the way down when the kernel lets us; when it does not, the replica
still runs in its own cgroup (useful for PSI) but without limits.
"""

from __future__ import annotations

import os
from pathlib import Path

from obs.logging import get_logger

log = get_logger("runtime")

_CPU_PERIOD_US = 100_000
SUPERVISORS = "@supervisors"  # "@" never appears in a replica key


class Cgroups:
    def __init__(self, root: Path, parent: str | None) -> None:
        self.root, self.parent = root, parent
        self._available: bool | None = None
        self._warned: set[str] = set()

    @property
    def available(self) -> bool:
        if self._available is None:
            self._available = bool(
                self.parent
                and (self.root / "cgroup.controllers").is_file()
                and os.access(self.root, os.W_OK)
            )
            if not self._available and self.parent:
                log.info(
                    "cgroup v2 unavailable; replicas run without resource limits",
                    extra={"cgroup_root": str(self.root)},
                )
        return self._available

    def path(self, key: str) -> Path | None:
        return self.root / self.parent / key if self.parent else None

    def prepare(self, key: str, cpu: float, memory_bytes: int) -> str:
        """Create the replica's cgroup and set its limits; "" when there is none."""
        path = self.path(key)
        if path is None or not self.available:
            return ""
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._warn_once("mkdir", "cannot create replica cgroup", exc)
            return ""
        wanted = {"memory"} if memory_bytes > 0 else set()
        if cpu > 0:
            wanted.add("cpu")
        if wanted:
            self._enable(wanted, path.parent)
        if memory_bytes > 0:
            self._write(path / "memory.max", str(memory_bytes), "memory.max")
        if cpu > 0:
            quota = max(1000, int(cpu * _CPU_PERIOD_US))
            self._write(path / "cpu.max", f"{quota} {_CPU_PERIOD_US}", "cpu.max")
        return str(path)

    def supervisors(self) -> str:
        """A limit-free cgroup for the shims, so that they leave jacod's own cgroup
        (``systemctl stop jacod`` kills its cgroup; replicas must outlive that)."""
        path = self.path(SUPERVISORS)
        if path is None or not self.available:
            return ""
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._warn_once("mkdir", "cannot create replica cgroup", exc)
            return ""
        return str(path)

    def remove(self, key: str) -> bool:
        """Remove the replica's cgroup; False while it still has processes."""
        path = self.path(key)
        if path is None or not self.available or not path.is_dir():
            return True
        try:
            path.rmdir()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True

    def _enable(self, wanted: set[str], parent: Path) -> None:
        # Each level from the root down to the replica's parent must delegate.
        levels = [parent, *parent.parents]
        levels = [p for p in levels if p == self.root or self.root in p.parents]
        for level in reversed(levels):
            try:
                have = set((level / "cgroup.controllers").read_text().split())
                on = set((level / "cgroup.subtree_control").read_text().split())
                missing = (wanted & have) - on
                if missing:
                    (level / "cgroup.subtree_control").write_text(
                        " ".join(f"+{c}" for c in sorted(missing))
                    )
            except OSError as exc:
                self._warn_once("subtree_control", "cannot enable cgroup controllers", exc)
                return

    def _write(self, path: Path, value: str, what: str) -> None:
        try:
            path.write_text(value)
        except OSError as exc:
            self._warn_once(what, f"cannot set {what}; replica runs without this limit", exc)

    def _warn_once(self, what: str, message: str, exc: OSError) -> None:
        if what not in self._warned:
            self._warned.add(what)
            log.warning(message, extra={"cgroup_root": str(self.root), "reason": str(exc)})
