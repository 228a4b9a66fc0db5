#!/usr/bin/env bash
# ENTRYPOINT wrapper: check the machine the container landed on, then run the real command.
#
#   docker run --gpus all -e ENVCHECK_REQUIRE='gpus>=8;driver>=535' IMAGE python train.py
#
#   ENVCHECK_MODE      enforce (default): exit with envcheck's code (2 error findings, 4 requirement
#                      not met) instead of starting the command; warn: print and start anyway;
#                      off: skip the check
#   ENVCHECK_REQUIRE   requirements separated by ';'      (e.g. "cuda;gpus>=8;smoke-bf16>=500")
#   ENVCHECK_POLICY    a TOML policy file                  (default: /etc/envcheck/policy.toml if present)
#   ENVCHECK_REPORT    also write the JSON report here     (e.g. a mounted /logs/envcheck.json)
#   ENVCHECK_ARGS      more doctor options                 (e.g. "--strict --timeout 20")
# envcheck's own failure (exit 3, 70, not installed) never blocks the command: it is reported.
set -u

MODE=${ENVCHECK_MODE:-enforce}
POLICY=${ENVCHECK_POLICY:-/etc/envcheck/policy.toml}

if [ "$MODE" != "off" ]; then
    args=(doctor --no-facts)
    [ -f "$POLICY" ] && args+=(--policy "$POLICY")
    IFS=';' read -r -a reqs <<< "${ENVCHECK_REQUIRE:-}"
    for r in ${reqs[@]+"${reqs[@]}"}; do
        [ -n "$r" ] && args+=(--require "$r")
    done
    # shellcheck disable=SC2206  # ENVCHECK_ARGS is split on purpose
    extra=(${ENVCHECK_ARGS:-})
    args+=(${extra[@]+"${extra[@]}"})
    if [ -n "${ENVCHECK_REPORT:-}" ]; then
        envcheck "${args[@]}" --json > "$ENVCHECK_REPORT"
    else
        envcheck "${args[@]}" >&2
    fi
    rc=$?
    case $rc in
        0|1) ;;
        2|4)
            if [ "$MODE" = "warn" ]; then
                echo "envcheck-entrypoint: this machine is not fit (exit $rc); starting anyway (ENVCHECK_MODE=warn)" >&2
            else
                echo "envcheck-entrypoint: this machine is not fit (exit $rc); not starting: $*" >&2
                exit "$rc"
            fi ;;
        *)
            echo "envcheck-entrypoint: envcheck could not run (exit $rc); starting anyway" >&2 ;;
    esac
fi

exec "$@"
