//! What the tests of every crate share (a dev-dependency only): where the repository and the models
//! `cargo xtask setup` fetched are, running a command with a time limit so a hang fails one test, not the
//! CI run, and scoring recognition ([`score`]) on the real recordings ([`corpus`]).

pub mod corpus;
pub mod score;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository's root (assets, docs, models).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Where `cargo xtask setup` put the models: `TWIN_MODELS_DIR`, or `models/` in the repository.
pub fn models_dir() -> PathBuf {
    std::env::var_os("TWIN_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("models"))
}

/// [`models_dir`], checked to hold `wanted` (folders in it): a clear message, not a confusing failure later.
pub fn models_with(wanted: &[&str]) -> PathBuf {
    let dir = models_dir();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !dir.join(w).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "{} missing in {}: run `cargo xtask setup` (or `cargo xtask test`)",
        missing.join(", "),
        dir.display()
    );
    dir
}

/// Runs `c` to its end, as `Command::output` does, but kills it if it runs past `limit` and fails the test
/// with the end of what it printed.
pub fn output_within(c: &mut Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the command");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for the command") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (stdout, stderr) = (
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    );
    let Some(status) = status else {
        panic!(
            "{c:?} still ran after {} s and was killed.\nstdout (end):\n{}\nstderr (end):\n{}",
            limit.as_secs(),
            tail(&stdout, 6000),
            tail(&stderr, 6000)
        );
    };
    Output {
        status,
        stdout,
        stderr,
    }
}

/// The last `bytes` or so of `output`, as text.
fn tail(output: &[u8], bytes: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let from = text.len().saturating_sub(bytes);
    let from = (from..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text[from..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates/twin-testkit").is_dir());
    }

    #[test]
    fn a_command_within_its_limit_gives_its_output() {
        let out = output_within(
            Command::new("sh").args(["-c", "echo said; echo warned >&2"]),
            Duration::from_secs(30),
        );
        assert!(out.status.success());
        assert_eq!(out.stdout, b"said\n");
        assert_eq!(out.stderr, b"warned\n");
    }

    #[test]
    fn a_command_past_its_limit_is_killed_and_fails_with_its_output() {
        let hung = std::panic::catch_unwind(|| {
            output_within(
                Command::new("sh").args(["-c", "echo started; sleep 30"]),
                Duration::from_millis(300),
            )
        });
        let message = *hung
            .expect_err("killed")
            .downcast::<String>()
            .expect("a message");
        assert!(
            message.contains("killed") && message.contains("started"),
            "{message}"
        );
    }

    #[test]
    fn the_tail_keeps_whole_characters() {
        assert_eq!(tail("ééé".as_bytes(), 3), "é");
        assert_eq!(tail(b"short", 100), "short");
    }
}
