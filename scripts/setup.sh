#!/usr/bin/env bash
# Set up everything JACO needs on Debian: system packages (installed when run
# as root; otherwise listed), a virtualenv in .venv with jaco/jacod and the dev
# tools. Idempotent and quick when nothing changed.
#   python3-venv python3-dev gcc  -> the virtualenv, wheels that compile
#   libsystemd-dev pkg-config     -> systemd-python (native journald logging)
#   systemd                       -> systemd-journald + journalctl (journald tests)
#   tmux util-linux make          -> console end-to-end test, unshare, make targets
#   podman runc busybox-static    -> a Docker-compatible engine + image: docker runtime tests
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}

need=()
for pkg in python3-venv python3-dev gcc libsystemd-dev pkg-config systemd tmux util-linux make \
    podman runc busybox-static; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing ${need[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "setup: missing system packages: ${need[*]}" >&2
        echo "setup: install them with: sudo apt-get install ${need[*]}" >&2
    fi
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
stamp="$VENV/.installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing jaco into $VENV" >&2
    log="$VENV/pip-install.log"
    # compat mode: a .pth path entry instead of an import hook, ~8 ms off every `jaco` start.
    if ! "$VENV/bin/pip" install --config-settings editable_mode=compat -e '.[daemon,dev]' >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "setup: pip install failed; full log in $log" >&2
        exit 1
    fi
    echo "$want" >"$stamp"
fi
