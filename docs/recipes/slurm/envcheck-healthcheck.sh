#!/usr/bin/env bash
# SLURM HealthCheckProgram: check every node periodically; drain failing nodes, resume the ones
# envcheck itself drained once they pass again (a drain with another reason is never touched).
#
# slurm.conf:   HealthCheckProgram=/etc/slurm/envcheck-healthcheck.sh
#               HealthCheckInterval=600
#               HealthCheckNodeState=IDLE     # only idle nodes: the check imports torch and may run smoke
# Same settings and exit-code meaning as envcheck-prolog.sh; ENVCHECK_FAST=1 adds --fast (no torch
# import, ~0.2 s) for short intervals.
set -u

ENVCHECK=${ENVCHECK:-envcheck}
POLICY=${ENVCHECK_POLICY:-/etc/envcheck/policy.toml}
REPORT_DIR=${ENVCHECK_REPORT_DIR:-/var/log/envcheck}
NODE=${SLURMD_NODENAME:-$(hostname -s)}
ON_ERROR=${ENVCHECK_ON_ERROR:-pass}
PREFIX="envcheck:"

args=(doctor --json --timeout "${ENVCHECK_TIMEOUT:-10}")
[ "${ENVCHECK_FAST:-0}" = "1" ] && args+=(--fast)
[ -n "${ENVCHECK_PYTHON:-}" ] && args+=(--python "$ENVCHECK_PYTHON")
[ -f "$POLICY" ] && args+=(--policy "$POLICY")
IFS=';' read -r -a extra <<< "${ENVCHECK_REQUIRE:-}"
for req in ${extra[@]+"${extra[@]}"}; do
    [ -n "$req" ] && args+=(--require "$req")
done

mkdir -p "$REPORT_DIR" 2>/dev/null || REPORT_DIR=${TMPDIR:-/tmp}
report="$REPORT_DIR/$NODE.json"
errors="$REPORT_DIR/$NODE.stderr"
$ENVCHECK "${args[@]}" > "$report.tmp" 2> "$errors"
rc=$?
mv -f "$report.tmp" "$report"

current_reason() {
    scontrol show node "$NODE" 2>/dev/null | tr ' ' '\n' | sed -n 's/^Reason=//p' | head -n1
}

fail() {
    # the first unmet requirement, else the first error finding's code, else the exit code
    local reason
    reason=$(grep -m1 '^envcheck: ' "$errors" 2>/dev/null | sed -e 's/^envcheck: //')
    if [ -z "$reason" ]; then
        reason=$(tr -d '\n' < "$report" 2>/dev/null | grep -o '"code": *"[a-z0-9-]*", *"severity": *"error"' \
                 | head -n1 | sed -e 's/"code": *"\([a-z0-9-]*\)".*/error finding \1/')
    fi
    reason="$PREFIX $(printf '%s' "${reason:-$1}" | tr -d '\n' | cut -c1-180)"
    echo "envcheck-healthcheck: draining $NODE: $reason" >&2
    scontrol update nodename="$NODE" state=drain reason="$reason"
    exit 1
}

case $rc in
    0|1)
        # passed: undo a drain that envcheck itself set earlier, and only that one
        case "$(current_reason)" in
            "$PREFIX"*)
                echo "envcheck-healthcheck: $NODE passes again, resuming" >&2
                scontrol update nodename="$NODE" state=resume ;;
        esac
        exit 0 ;;
    2|4)
        fail "exit $rc" ;;
    *)
        echo "envcheck-healthcheck: envcheck could not run (exit $rc)" >&2
        [ "$ON_ERROR" = "drain" ] && fail "could not run (exit $rc)"
        exit 0 ;;
esac
