//! `cargo xtask test`: the whole suite, then the headset app checked for Android; `--fast`: formatting,
//! clippy and the unit tests.

use crate::SetupArgs;
use crate::process::{cargo, run, step};
use crate::setup::setup;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

pub fn test(root: &Path, args: &SetupArgs, cargo_args: &[String]) -> Result<()> {
    let s = setup(root, args)?;
    step("tests");
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"])
        .args(cargo_args)
        .env("TWIN_MODELS_DIR", &s.models_dir);
    if let Some(llama) = &s.llama_server {
        cmd.env("TWIN_LLAMA_SERVER", llama);
    }
    if let Some(monado) = &s.monado {
        cmd.env("TWIN_MONADO_JSON", monado);
    }
    run(&mut cmd)?;
    android_check()
}

/// The fast tier: what catches most mistakes in a few minutes, before the full suite's real servers, browsers,
/// OpenXR runtime and speech.
pub fn fast_test(root: &Path, args: &SetupArgs, cargo_args: &[String]) -> Result<()> {
    let s = setup(root, args)?;
    step("formatting (cargo fmt --check)");
    run(cargo().args(["fmt", "--all", "--check"]))?;
    step("clippy, warnings as errors");
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("unit tests");
    run(cargo()
        .args(["test", "--workspace", "--lib", "--bins"])
        .args(cargo_args)
        .env("TWIN_MODELS_DIR", &s.models_dir))
}

/// The Quest app (`twin-quest`: the native activity around the `twin` library without the desktop tools)
/// type-checks for Quest's CPU. There is no NDK here, so nothing is compiled to machine code or linked
/// (android/README.md has the full build), and the app is checked without its `tls` feature: ring's build
/// script compiles C for the target even for a check (the TLS code itself is checked for this machine).
fn android_check() -> Result<()> {
    const TARGET: &str = "aarch64-linux-android";
    step("the headset app for Android (cargo check, aarch64-linux-android)");
    run(Command::new("rustup").args(["target", "add", TARGET]))
        .context("rustup cannot add the Android target")?;
    run(cargo().args([
        "check",
        "-p",
        "twin-quest",
        "--no-default-features",
        "--target",
        TARGET,
    ]))
}
