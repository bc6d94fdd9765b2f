//! Shared test support: the embedded model as `cargo xtask setup` fetched it.

use std::path::PathBuf;
use twin_llm::embedded::derive_q8_0;

/// The embedded model's file (its Q8_0 copy made on first use).
pub fn model() -> PathBuf {
    let models = std::env::var_os("TWIN_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    let path = models.join("smollm2/SmolLM2-135M-Instruct.Q8_0.gguf");
    derive_q8_0(&path).expect("the embedded model: run `cargo xtask setup`");
    path
}
