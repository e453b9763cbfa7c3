# Shared by the CLI tests: arguments, a fresh scratch folder, helpers.
set -euo pipefail
REWIND=$1 ALLCLOSE=$2 DATA=$3 WORK=$4
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
# csv_loss FILE ROW: the loss column of data row ROW (1-based; "last" for the last one).
csv_loss() {
  if [ "$2" = last ]; then tail -n 1 "$1" | cut -d, -f2; else sed -n "$(($2 + 1))p" "$1" | cut -d, -f2; fi
}
# less A B: exit 0 when the number A < B.
less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
