#!/usr/bin/env bash
# The README's demo command: set up, start a single-node `jacod --dev` (process
# runtime) in the background, apply examples/hello.toml, and open the triage
# console (`jaco` with no verb) when run on a terminal.
#   scripts/demo.sh        start (or reuse) the demo node, deploy, open the console
#   scripts/demo.sh stop   delete the demo deployment and stop the demo node
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR=${JACO_DEMO_DIR:-$PWD/.demo}
SOCK="$DEMO_DIR/jacod.sock"
export JACO_SERVER="unix://$SOCK"
JACO=.venv/bin/jaco

if [ "${1:-}" = "stop" ]; then
    "$JACO" delete hello --wait --timeout 30 >/dev/null 2>&1 || true
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
"$JACO" apply -f examples/hello.toml --wait --timeout 60
"$JACO" status
cat <<TXT

demo: jacod is running in the background with deployment "hello". Try:
  export JACO_SERVER=$JACO_SERVER
  $JACO logs hello/worker -f
  curl -H 'Host: hello.localhost' http://127.0.0.1:8480/      # through the ingress
  dig @127.0.0.1 -p 8600 web.hello.jaco SRV                   # DNS (if dig is installed)
  $JACO audit
  $JACO                      # the triage console (q quits)
  scripts/demo.sh stop
TXT
if [ -t 0 ] && [ -t 1 ] && [ -z "${JACO_DEMO_NO_CONSOLE:-}" ]; then
    exec "$JACO"
fi
