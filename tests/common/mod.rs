//! What the command-line tests share: where the project and its models are, and the `twin` binary to run.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn models() -> PathBuf {
    std::env::var_os("TWIN_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models"))
}

/// `twin` run from the project root with the models set up.
pub fn twin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twin"));
    c.env("TWIN_MODELS_DIR", models()).current_dir(root());
    c
}

/// Runs `c` with `--json` and returns the object it printed; a failure shows its stderr.
pub fn run_json(c: &mut Command) -> serde_json::Value {
    let out = c.arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
