//! A twin-server of the benchmark's own: its config, its process (stopped on drop), its memory and its
//! guardrail counts.

use anyhow::{Context, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use twin_bench::{models_dir, root};

pub(crate) struct Child2(pub(crate) Child);
impl Drop for Child2 {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A fresh folder with the benchmark server's config (the demo persona, embedded defaults) and store.
pub(crate) fn bench_config(name: &str) -> Result<(PathBuf, PathBuf)> {
    let dir = std::env::temp_dir().join(format!("twin-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstore = \"{}\"\nmodels_dir = \"{}\"\npersonas = [\"{}\"]\n[auth]\ndemo = true\n[[auth.tokens]]\nname = \"bench\"\ntoken = \"bench\"\ncapabilities = [\"converse\", \"metrics\"]\n[llm]\nbackend = \"embedded\"\nmax_tokens = 96\ntemperature = 0.0\nhistory_turns = 0\n[llm.embedded]\nthreads = 2\n[tts]\nlead_ms = 10000\n\
             # The fidelity set asks hundreds of questions a minute with this token.\n[limits]\nturns_per_minute = 1000000\nconnections_per_token = 100000\nconnections_per_ip = 100000\n",
            dir.join("bench.db").display(),
            models_dir().display(),
            root().join("assets/personas/owen-marsh").display()
        ),
    )?;
    Ok((dir, config))
}

/// Starts `twin-server` on `config` and waits for its address; stopped when the guard drops.
pub(crate) fn spawn_server(server_bin: &Path, config: &Path) -> Result<(Child2, String, u32)> {
    let mut child = Command::new(server_bin)
        .args(["serve", "--config"])
        .arg(config)
        .env("TWIN_MODELS_DIR", models_dir())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start twin-server")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let pid = child.id();
    let child = Child2(child);
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().context("twin-server exited")??;
        if let Some(a) = line.strip_prefix("listening on ") {
            return Ok((child, a.to_string(), pid));
        }
    }
}

/// What the guardrails did during the run, from the server's /metrics: dropped sentences delay the first one.
pub(crate) fn guardrail_counts(addr: &str) -> Vec<(String, u64)> {
    twin_bench::metrics(addr, "bench")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("twin_guardrail_total{rule=\""))
        .filter_map(|l| {
            let (rule, rest) = l.split_once('"')?;
            let n = rest.rsplit(' ').next()?.parse().ok()?;
            Some((rule.to_string(), n))
        })
        .collect()
}
