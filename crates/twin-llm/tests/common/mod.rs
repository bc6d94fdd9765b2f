//! Shared test support: the embedded model as `cargo xtask setup` fetched it.

use std::path::PathBuf;
use twin_llm::embedded::derive_q8_0;

/// The embedded model's file (its Q8_0 copy made on first use).
pub fn model() -> PathBuf {
    let path = twin_testkit::models_dir().join("smollm2/SmolLM2-135M-Instruct.Q8_0.gguf");
    derive_q8_0(&path).expect("the embedded model: run `cargo xtask setup`");
    path
}
