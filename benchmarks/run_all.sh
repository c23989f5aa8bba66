#!/usr/bin/env bash
# Run every benchmarks/bench_*.py, one after another, and keep the results in benchmarks/results/.
#
#   benchmarks/run_all.sh                  # full runs (a few minutes each)
#   benchmarks/run_all.sh --quick          # small runs, for scripts that have --quick
#   benchmarks/run_all.sh --threads 1      # passed to scripts that have --threads
#   benchmarks/run_all.sh --out /tmp/bench  # somewhere else than benchmarks/results/
#   TUNEGAN_DATA=/path/to/data benchmarks/run_all.sh
#
# For each bench_NAME.py: the printed table goes to results/NAME.txt, and JSON to results/NAME.json
# (``--json PATH`` when the script takes a path; when ``--json`` is a flag that prints JSON instead of
# the table, its output is the .json file). Options a script does not list in its --help are not
# passed to it. Scripts run in sequence: benchmarks running side by side would slow each other.
set -u -o pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="$here/results"
data="${TUNEGAN_DATA:-$(cd "$here/../.." && pwd)/shared/data}"
python="${PYTHON:-python}"
quick=0
threads=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --threads) threads="$2"; shift ;;
        --out) out="$2"; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$out"
failed=()
for script in "$here"/bench_*.py; do
    name="$(basename "$script" .py)"
    name="${name#bench_}"
    help="$("$python" "$script" --help 2>&1)" || { echo "== $name: --help failed, skipped"; failed+=("$name"); continue; }
    args=()
    [ "$quick" = 1 ] && grep -q -- '--quick' <<<"$help" && args+=(--quick)
    [ -n "$threads" ] && grep -q -- '--threads' <<<"$help" && args+=(--threads "$threads")
    grep -q -- '--data' <<<"$help" && args+=(--data "$data")
    grep -qE '^  data( |$)' <<<"$help" && args+=("$data")  # a positional data folder (bench_labels.py)
    echo "== $name: $script ${args[*]}"
    start=$SECONDS
    if grep -qE -- '--json [A-Z]' <<<"$help"; then
        "$python" "$script" "${args[@]}" --json "$out/$name.json" | tee "$out/$name.txt"
    elif grep -q -- '--json' <<<"$help"; then
        "$python" "$script" "${args[@]}" --json > "$out/$name.json" && echo "   JSON in $out/$name.json"
    else
        "$python" "$script" "${args[@]}" | tee "$out/$name.txt"
    fi
    rc=$?
    echo "== $name: exit $rc after $((SECONDS - start)) s"
    [ $rc -eq 0 ] || failed+=("$name")
done
echo
echo "targets missed:"
grep -H "MISS" "$out"/*.txt 2>/dev/null || echo "  none reported"
if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
fi
