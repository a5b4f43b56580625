"""The checked-in gRPC stubs in jaco/v1/ equal a fresh generation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED_IN = ROOT / "jaco" / "v1"
HINT = "the checked-in stubs differ from proto/: run `make proto` and commit jaco/v1/"


def test_stubs_are_up_to_date(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "genproto.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, f"genproto failed: {proc.stderr}"
    fresh_dir = tmp_path / "jaco" / "v1"
    fresh = {p.name: p for p in fresh_dir.glob("*_pb2*")}
    checked_in = {p.name: p for p in CHECKED_IN.glob("*_pb2*") if p.is_file()}
    assert fresh, "genproto generated nothing"
    protos = sorted(p.stem for p in (ROOT / "proto" / "jaco" / "v1").glob("*.proto"))
    for stem in protos:
        assert f"{stem}_pb2.py" in fresh, f"no {stem}_pb2.py generated"

    missing = sorted(set(fresh) - set(checked_in))
    assert not missing, f"{HINT}; not checked in: {missing}"
    stale = sorted(set(checked_in) - set(fresh))
    assert not stale, f"{HINT}; checked in but no longer generated: {stale}"
    differ = sorted(n for n, p in fresh.items() if p.read_bytes() != checked_in[n].read_bytes())
    assert not differ, f"{HINT}; differ: {differ}"
