#!/usr/bin/env bash
# Builds Tessera if needed (scripts/build.sh) and runs it with the given arguments:
#   scripts/tessera.sh model info ../shared/testdata/models/qwen2-tiny.gguf
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh" --target tessera >/dev/null
exec "$root/build/src/tessera" "$@"
