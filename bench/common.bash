# Sourced by the bench/*.sh scripts: the settings they share (each can be
# set in the environment, as `make bench` passes them) and tv, which reads
# the figures of a /usr/bin/time -v report.
set -eu -o pipefail
cd "$(dirname "$0")/.."
M=${MODELDIR:-models/all-MiniLM-L6-v2}
DATA=${DATA:-../shared/data}
T=${THREADS:-2}
PY=${PY:-.venv/bin/python}

# tv REPORT: "wall-seconds CPU-seconds peak-RSS-MiB"
tv() {
	awk -F': ' '/Elapsed \(wall/ {n = split($2, a, ":"); s = 0;
		for (i = 1; i <= n; i++) s = s * 60 + a[i]; wall = s}
		/User time/ {cpu += $2} /System time/ {cpu += $2}
		/Maximum resident/ {rss = $2 / 1024}
		END {printf "%.2f %.2f %.0f\n", wall, cpu, rss}' "$1"
}
