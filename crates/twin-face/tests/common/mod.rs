//! Test support shared by twin-face's tests: where the repository and the models are, and a throwaway copy
//! of the demo pack.

#![allow(dead_code)]

use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn models() -> PathBuf {
    std::env::var_os("TWIN_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models"))
}

/// The demo pack's persona.toml in a fresh folder, preceded by `before` and followed by `after`.
pub fn pack_copy(before: &str, after: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(root().join("assets/personas/owen-marsh/persona.toml")).unwrap();
    std::fs::write(
        dir.path().join("persona.toml"),
        format!("{before}{text}{after}"),
    )
    .unwrap();
    dir
}
