//! Running commands for the tasks: the step banner, a command that must succeed, and where cargo and its
//! build output are.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The banner each step of a task prints before it starts.
pub fn step(what: &str) {
    println!("==> {what}");
}

/// Runs `cmd` with this process's output; fails unless it exits successfully.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// The cargo that started xtask (`CARGO`), so every build uses the same toolchain.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Where cargo builds: CARGO_TARGET_DIR where it is set (CI shares one), else target/.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}
