//! Test support shared by twin-face's tests: where the repository and the models are, and a throwaway copy
//! of the demo pack.

#![allow(dead_code)]

pub use twin_testkit::{models_dir as models, workspace_root as root};

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
