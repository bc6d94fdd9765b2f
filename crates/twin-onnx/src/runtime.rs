//! Finding and opening ONNX Runtime once per process.

use crate::OnnxError;
use ort::environment::Environment;
use std::path::PathBuf;
use std::sync::OnceLock;

const LIBRARY: &str = if cfg!(target_os = "macos") {
    "libonnxruntime.dylib"
} else if cfg!(windows) {
    "onnxruntime.dll"
} else {
    "libonnxruntime.so"
};

/// Where sherpa-onnx's libraries were when this was built (`.cargo/config.toml`), for test binaries and
/// `cargo run`; installed binaries find the library beside themselves.
const BUILT_WITH: Option<&str> = option_env!("SHERPA_ONNX_LIB_DIR");

static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

pub(crate) fn environment() -> Result<&'static Environment, OnnxError> {
    ENVIRONMENT
        .get_or_init(open)
        .as_ref()
        .map_err(|e| OnnxError::Runtime(e.clone()))
}

fn open() -> Result<Environment, String> {
    // Found nowhere: the system's loader may still know it (an Android app's own libraries, or the copy
    // sherpa-onnx already loaded).
    let path = library().unwrap_or_else(|| PathBuf::from(LIBRARY));
    ort::init_from(&path)
        .map_err(|e| {
            format!(
                "{e} (looked beside the program, in ORT_DYLIB_PATH and in {}: run `cargo xtask setup`)",
                BUILT_WITH.unwrap_or("sherpa-onnx's library folder")
            )
        })?
        .with_name("twin")
        .build()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The library to open: `ORT_DYLIB_PATH` if set, else the first of the program's folder, its parent (test
/// binaries live in `deps/`) and the folder it was built against.
fn library() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok();
    let beside = exe
        .as_ref()
        .and_then(|e| e.parent().map(|d| d.join(LIBRARY)));
    let above = exe
        .as_ref()
        .and_then(|e| e.parent()?.parent().map(|d| d.join(LIBRARY)));
    let built = BUILT_WITH.map(|d| PathBuf::from(d).join(LIBRARY));
    [beside, above, built]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
}
