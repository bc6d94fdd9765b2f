//! The sections that need more than their module's `section`: a server of their own, or flags that may be
//! missing (then they say so in the markdown).

use crate::server::{bench_config, spawn_server};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use twin_bench::{models_dir, root};
use twin_persona::PersonaPack;

/// The headset app's figures, where the twin binary and Monado are there.
pub(crate) fn headset(
    md: &mut String,
    twin_bin: Option<&Path>,
    monado_json: Option<&Path>,
) -> Result<()> {
    match (twin_bin, monado_json) {
        (Some(twin), Some(monado)) => twin_bench::headset::section(md, &models_dir(), twin, monado),
        _ => {
            md.push_str("## Headset app on Monado\n\nNot measured: run through `cargo xtask bench`, which builds Monado.\n");
            Ok(())
        }
    }
}

/// Voice to voice, against a server of its own on the embedded defaults (the demo config's settings): a
/// dozen of the questions spoken, and the real recordings.
pub(crate) fn voice_to_voice(
    md: &mut String,
    server_bin: &Path,
    twin_bin: Option<&Path>,
    questions: &[String],
) -> Result<()> {
    let Some(twin_bin) = twin_bin else {
        md.push_str("## Voice to voice\n\nNot measured: needs `--twin-bin` (`cargo xtask bench` passes it).\n");
        return Ok(());
    };
    let dir = std::env::temp_dir().join(format!("twin-bench-voice-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("server.toml");
    // The demo config's model, retrieval and voice settings, as `cargo xtask demo` runs them.
    let demo = std::fs::read_to_string(root().join("assets/config/demo.toml"))?;
    let settings = demo
        .find("\n[llm]")
        .map(|at| &demo[at..])
        .context("assets/config/demo.toml has no [llm]")?;
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstore = \"{}\"\nmodels_dir = \"{}\"\npersonas = [\"{}\"]\n[auth]\ndemo = true\n[[auth.tokens]]\nname = \"bench\"\ntoken = \"bench\"\ncapabilities = [\"converse\", \"speech\", \"metrics\"]\n{settings}",
            dir.join("voice.db").display(),
            models_dir().display(),
            root().join("assets/personas/owen-marsh").display()
        ),
    )?;
    let (child, addr, _) = spawn_server(server_bin, &config)?;
    let spoken = twin_bench::voice_to_voice::questions(
        &models_dir(),
        &questions[..questions.len().min(12)],
    )?;
    let result = twin_bench::voice_to_voice::section(md, twin_bin, &addr, "bench", &spoken);
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The fidelity sets of the demo pack: (column name, file, tuned on).
const FIDELITY_SETS: [(&str, &str, bool); 3] = [
    ("tuning set", "fidelity.toml", true),
    ("development set", "dev-fidelity.toml", true),
    ("held-out set", "heldout-fidelity.toml", false),
];

/// The fidelity section: the fidelity sets asked of a server on the embedded defaults. Failures are printed
/// for the sets tuned on only, so that nobody tunes on the held-out set by reading its failures.
pub(crate) async fn fidelity(md: &mut String, server_bin: &Path, heldout: bool) -> Result<()> {
    let pack_dir = root().join("assets/personas/owen-marsh");
    let pack = PersonaPack::load(&pack_dir)?;
    let (dir, config) = bench_config("fidelity")?;
    let (child, addr, _) = spawn_server(server_bin, &config)?;
    let mut scores = Vec::new();
    for (name, file, tuned) in FIDELITY_SETS {
        if !tuned && !heldout {
            continue;
        }
        let score =
            twin_bench::fidelity::run(&addr, &pack, &pack_dir.join("eval").join(file)).await?;
        if tuned {
            for f in &score.failures {
                eprintln!("fidelity ({name}): {f}");
            }
        }
        scores.push((name, score));
    }
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    writeln!(
        md,
        "## Fidelity (twin-server on the embedded defaults: the person's own words)\n\n\
         Each case asked in a session of its own over a WebSocket, the reply scored by the case's regexes \
         (`crates/twin-bench/src/fidelity.rs`). The tuning set (`eval/fidelity.toml`, with issue 15's quoted \
         replies) and the development set (`eval/dev-fidelity.toml`, written later by someone who had not seen \
         the code or the held-out set) were tuned on; the held-out set (`eval/heldout-fidelity.toml`) was written \
         before any tuning, by someone who had not seen the code, and never tuned on: its failures are not \
         printed.\n"
    )?;
    let columns: Vec<_> = scores.iter().map(|(n, s)| (*n, s)).collect();
    twin_bench::fidelity::table(md, &columns)?;
    writeln!(md)?;
    twin_bench::fidelity::understanding(md, &pack, &models_dir(), &root().join("assets/intents"))?;
    Ok(())
}
