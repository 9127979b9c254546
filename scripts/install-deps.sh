#!/usr/bin/env bash
# Installs the Debian 12 packages Tessera's build and tests need. Idempotent: prints nothing
# and changes nothing when every package is already installed. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config   # compiler and build
  libgtest-dev libgmock-dev                       # unit tests (GoogleTest via CTest)
  libcli11-dev                                    # command line of the tessera binary
  nlohmann-json3-dev                              # JSON output (and later the HTTP API)
  libpcre2-dev                                    # tokenizer pre-split regexes (Unicode classes, look-ahead)
  libutf8proc-dev                                 # Unicode normalization/categories (WordPiece)
  clang libclang-rt-14-dev                        # libFuzzer targets (clang's -fsanitize=fuzzer)
  clang-format                                    # the code format check in scripts/test.sh
  python3                                         # shared/tools: reference GGUF writer for tests
  libyaml-cpp-dev                                 # operator config (GPU slices, quotas) with line numbers
  libcpp-httplib-dev                              # HTTP client (tessera pull) and server (tessera serve)
  libssl-dev                                      # OpenSSL: HTTPS, SHA-256 of downloaded models
  prometheus                                      # promtool: tests check the /metrics output with it
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm for the end-to-end tests (tests/e2e: the official openai npm client). Any
# node >= 18 with its npm will do (a NodeSource build too), so Debian's are added only when the
# commands are missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
