#!/usr/bin/env bash
# System packages JACO's daemon and test suite need on Debian. Run as root it
# installs what is missing; otherwise it only says what is missing.
#   libsystemd-dev pkg-config  -> build systemd-python (native journald)
#   systemd                    -> systemd-journald + journalctl for the journald tests
#   tmux                       -> end-to-end test of the console
set -euo pipefail
need=()
for pkg in libsystemd-dev pkg-config systemd tmux util-linux; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
    echo "setup: missing system packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
fi
