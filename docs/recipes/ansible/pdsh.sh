#!/usr/bin/env bash
# The same over pdsh: one compact JSON line per host, straight into the fleet view.
#
#   NODES='gpu[001-128]' docs/recipes/ansible/pdsh.sh --html fleet.html
#
# -N drops pdsh's "host: " prefix; each host prints its report as ONE line (pdsh forwards whole
# lines, so hosts never interleave inside a report), tagged with the host's name.
set -euo pipefail

NODES=${NODES:?set NODES to a pdsh host list, e.g. gpu[001-128]}
# quoted for the remote shell: an unquoted driver>=535 would be a redirection there
REQUIRE=${ENVCHECK_REQUIRE:-"--require cuda --require 'driver>=535'"}

remote_cmd() {
    cat <<CMD
envcheck doctor --json $REQUIRE 2>/dev/null | python3 -c 'import json, socket, sys; d = json.load(sys.stdin); d["node"] = socket.gethostname(); print(json.dumps(d, separators=(",", ":")))'
CMD
}

pdsh -N -w "$NODES" "$(remote_cmd)" | envcheck fleet - "$@"

# Files instead of a pipe (rpdcp appends ".HOST" to each copied name; fleet reads that as the node):
#   pdsh -w "$NODES" 'envcheck doctor --json > /tmp/envcheck.json'
#   rpdcp -w "$NODES" /tmp/envcheck.json reports/ && envcheck fleet reports/
