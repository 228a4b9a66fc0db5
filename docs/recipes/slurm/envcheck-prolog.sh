#!/usr/bin/env bash
# SLURM Prolog: check the node before each job; drain it (with the reason) when it is not fit.
#
# slurm.conf:   Prolog=/etc/slurm/envcheck-prolog.sh
#               PrologFlags=Alloc        # run at allocation, before the job's first step
# Install envcheck where root's PATH finds it (or set ENVCHECK), and the policy in ENVCHECK_POLICY.
#
# Exit codes of `envcheck doctor` (README): 0 sound, 1 warnings with --strict, 2 error findings,
# 3 envcheck could not run as asked, 4 a --require/--policy requirement is not met, 70 envcheck bug.
#   0, 1   -> the job runs
#   2, 4   -> the node is drained ("envcheck: <first reason>") and the prolog fails, so SLURM
#             requeues the job on another node
#   other  -> envcheck itself failed: logged; the job runs (ENVCHECK_ON_ERROR=drain to drain instead)
#
# Settings (environment, or edit the defaults here):
#   ENVCHECK            the envcheck command                     (default: envcheck)
#   ENVCHECK_PYTHON     the interpreter whose torch jobs use     (default: the one envcheck finds)
#   ENVCHECK_POLICY     a TOML policy file                       (default: /etc/envcheck/policy.toml if present)
#   ENVCHECK_REQUIRE    extra requirements, separated by ';'     (e.g. "gpus>=8;driver>=535")
#   ENVCHECK_REPORT_DIR where each run's JSON report goes        (default: /var/log/envcheck)
#   ENVCHECK_TIMEOUT    per-command timeout, seconds             (default: 10)
#   ENVCHECK_ON_ERROR   pass | drain when envcheck cannot run    (default: pass)
set -u

ENVCHECK=${ENVCHECK:-envcheck}
POLICY=${ENVCHECK_POLICY:-/etc/envcheck/policy.toml}
REPORT_DIR=${ENVCHECK_REPORT_DIR:-/var/log/envcheck}
NODE=${SLURMD_NODENAME:-$(hostname -s)}
ON_ERROR=${ENVCHECK_ON_ERROR:-pass}

args=(doctor --json --timeout "${ENVCHECK_TIMEOUT:-10}")
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

reason_from() {
    # the first unmet requirement, else the first error finding's code, else the exit code
    local line
    line=$(grep -m1 '^envcheck: ' "$errors" 2>/dev/null | sed -e 's/^envcheck: //')
    if [ -z "$line" ]; then
        line=$(tr -d '\n' < "$report" 2>/dev/null | grep -o '"code": *"[a-z0-9-]*", *"severity": *"error"' \
               | head -n1 | sed -e 's/"code": *"\([a-z0-9-]*\)".*/error finding \1/')
    fi
    printf 'envcheck: %s' "${line:-exit $1}" | tr -d '\n' | cut -c1-200
}

drain() {
    logger -t envcheck-prolog "draining $NODE: $1" 2>/dev/null || true
    echo "envcheck-prolog: draining $NODE: $1" >&2
    scontrol update nodename="$NODE" state=drain reason="$1"
}

case $rc in
    0|1)
        exit 0 ;;
    2|4)
        drain "$(reason_from "$rc")"
        exit 1 ;;
    *)
        msg="envcheck could not run (exit $rc): $(head -c 300 "$errors" 2>/dev/null | tr '\n' ' ')"
        logger -t envcheck-prolog "$msg" 2>/dev/null || true
        echo "envcheck-prolog: $msg" >&2
        if [ "$ON_ERROR" = "drain" ]; then
            drain "envcheck: could not run (exit $rc)"
            exit 1
        fi
        exit 0 ;;
esac
