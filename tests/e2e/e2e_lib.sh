# Sourced first by every e2e script: the binaries under test, from the build
# dir given as the script's first argument, or $MODELVAULTD / $MVAULT.
#   source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh" "$@"
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
MODELVAULTD="${MODELVAULTD:-$BUILD_DIR/server/modelvaultd}"
MVAULT="${MVAULT:-$BUILD_DIR/client/mvault}"
for bin in "$MODELVAULTD" "$MVAULT"; do
  [[ -x $bin ]] || { echo "missing binary: $bin" >&2; exit 2; }
done
