#!/usr/bin/env bash
# Builds Monado (the open OpenXR runtime) from its unpacked source into a cache folder outside the clone, so
# later runs (and CI on the same machine) reuse it. In-process runtime (no monado-service: no IPC socket and
# no stdin quirk), with the null compositor (headless), the main compositor's X11 (XCB) window and the
# simulated headset; nothing else.
# Usage: build-monado.sh SRC_DIR(with CMakeLists.txt) INSTALL_DIR
set -euo pipefail
src=$1
dest=$2
build="$dest.build"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX="$dest" \
  -DXRT_FEATURE_SERVICE=OFF -DXRT_FEATURE_STEAMVR_PLUGIN=OFF \
  -DBUILD_TESTING=OFF -DBUILD_DOC=OFF >"$build.log" 2>&1 || { tail -40 "$build.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" >>"$build.log" 2>&1 || { tail -40 "$build.log"; exit 1; }
cmake --install "$build" >>"$build.log" 2>&1 || { tail -40 "$build.log"; exit 1; }
# The runtime manifest the OpenXR loader reads (XR_RUNTIME_JSON), pointing at the installed library.
lib=$(find "$dest" -name 'libopenxr_monado.so' | head -1)
[ -n "$lib" ] || { echo "libopenxr_monado.so was not installed" >&2; exit 1; }
cat >"$dest/openxr_monado.json.tmp" <<JSON
{
    "file_format_version": "1.0.0",
    "runtime": {
        "name": "Monado",
        "library_path": "$lib"
    }
}
JSON
mv "$dest/openxr_monado.json.tmp" "$dest/openxr_monado.json"
rm -rf "$build"
