#!/usr/bin/env bash
# One report per node of an allocation, then the fleet view. Run inside `salloc -N 64` or an sbatch script.
#
#   srun --ntasks-per-node=1 envcheck doctor --json > all.json   # the short form: fleet reads the
#   envcheck fleet all.json                                       # concatenated objects too
#
# The form below writes one file per node (%N: the node's short name), so concurrent output of many
# nodes never interleaves, and adds a smoke test per node for the outlier view.
set -euo pipefail

# usage: collect.sh [doctor options...]   e.g. collect.sh --policy /etc/envcheck/policy.toml
OUT=${ENVCHECK_OUT:-envcheck-reports/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

# doctor on every node of the allocation; 2 and 4 are answers, not failures of the collection
srun --ntasks-per-node=1 --output="$OUT/%N.json" --error="$OUT/%N.stderr" \
    envcheck doctor --json "$@" || true
# optional: the GPU smoke test (about 5-10 s per node), for per-GPU outliers within each model
if [ "${ENVCHECK_SMOKE:-1}" = "1" ]; then
    srun --ntasks-per-node=1 --output="$OUT/%N.smoke.json" --error="$OUT/%N.smoke.stderr" \
        envcheck smoke --json --no-multi || true
fi

envcheck fleet "$OUT" --html "$OUT/fleet.html"
echo "reports in $OUT, page: $OUT/fleet.html"
