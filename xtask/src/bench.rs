//! `cargo xtask bench`: a release build, then twin-bench, which rewrites BENCHMARKS.md.

use crate::SetupArgs;
use crate::process::{cargo, run, step, target_dir};
use crate::setup::setup;
use anyhow::Result;
use std::path::Path;
use std::process::Command;

pub fn bench(root: &Path, args: &SetupArgs, questions: usize) -> Result<()> {
    let s = setup(root, args)?;
    step("build (release)");
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "twin-server",
        "-p",
        "twin-bench",
        "-p",
        "twin",
    ]))?;
    let bin = target_dir(root).join("release");
    step("benchmarks");
    let mut cmd = Command::new(bin.join("twin-bench"));
    cmd.args([
        "--questions",
        &questions.to_string(),
        "--out",
        "BENCHMARKS.md",
        "--server-bin",
    ])
    .arg(bin.join("twin-server"))
    .arg("--twin-bin")
    .arg(bin.join("twin"))
    .env("TWIN_MODELS_DIR", &s.models_dir);
    if let Some(llama) = &s.llama_server {
        cmd.arg("--llama-server").arg(llama);
    }
    if let Some(monado) = &s.monado {
        cmd.arg("--monado-json").arg(monado);
    }
    run(&mut cmd)
}
