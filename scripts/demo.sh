#!/usr/bin/env bash
# The README's demo command: set up, start a single-node `jacod --dev` (process
# runtime) in the background, and talk to it with `jaco`.
#   scripts/demo.sh        start (or reuse) the demo node and show it
#   scripts/demo.sh stop   stop the demo node
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR=${JACO_DEMO_DIR:-$PWD/.demo}
SOCK="$DEMO_DIR/jacod.sock"
export JACO_SERVER="unix://$SOCK"
JACO=.venv/bin/jaco

if [ "${1:-}" = "stop" ]; then
    if [ -f "$DEMO_DIR/jacod.pid" ] && kill "$(cat "$DEMO_DIR/jacod.pid")" 2>/dev/null; then
        echo "demo: stopped jacod"
    else
        echo "demo: no demo jacod running"
    fi
    rm -f "$DEMO_DIR/jacod.pid"
    exit 0
fi

./scripts/setup.sh
mkdir -p "$DEMO_DIR"
if ! "$JACO" status >/dev/null 2>&1; then
    echo "demo: starting jacod --dev (data in $DEMO_DIR, log in $DEMO_DIR/jacod.log)"
    nohup .venv/bin/jacod --dev --data-dir "$DEMO_DIR" --socket "$SOCK" \
        >>"$DEMO_DIR/jacod.log" 2>&1 &
    echo $! >"$DEMO_DIR/jacod.pid"
    for _ in $(seq 1 100); do
        "$JACO" status >/dev/null 2>&1 && break
        sleep 0.1
    done
fi
"$JACO" status
cat <<TXT

demo: jacod is running in the background. Try:
  export JACO_SERVER=$JACO_SERVER
  $JACO status -o json
  $JACO --help
  scripts/demo.sh stop
TXT
