use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use twin_persona::PersonaPack;
use twin_server::{AppState, Config};

/// The Twin edge server: sessions, persona grounding, LLM replies and the conversation store.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve sessions over WebSocket (`/v1/session`), plus `/health` and `/metrics`.
    Serve {
        /// Server config (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Override `server.listen`, e.g. 127.0.0.1:0 for a free port.
        #[arg(long)]
        listen: Option<String>,
        /// Override `server.store` (the SQLite file).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Print a fresh random token (256 bits, base64url) for `[[auth.tokens]]`, best kept in the environment
    /// (`token_env`).
    Token,
    /// Work with persona packs.
    Persona {
        #[command(subcommand)]
        command: PersonaCommand,
    },
}

#[derive(Subcommand)]
enum PersonaCommand {
    /// Validate a persona pack; every problem is listed as FILE:LINE:COLUMN: message.
    Check {
        dir: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,twin_server=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            store,
        } => {
            let mut config = Config::load(&config)?;
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            if let Some(store) = store {
                config.server.store = std::path::absolute(store)?;
            }
            let state = AppState::load(config).context("cannot start twin-server")?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(twin_server::serve(state))?;
            Ok(())
        }
        Command::Token => {
            let token = twin_server::auth::new_token()
                .map_err(|_| anyhow::anyhow!("the system's random generator failed"))?;
            println!("{token}");
            Ok(())
        }
        Command::Persona {
            command: PersonaCommand::Check { dir, json },
        } => check_pack(&dir, json),
    }
}

/// `persona check`: every problem of the pack, then the sources that disagree with no `supersedes` (warnings).
fn check_pack(dir: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let result = PersonaPack::load(dir);
    let conflicts = match &result {
        Ok(pack) => twin_persona::conflicts::undeclared(pack),
        Err(_) => vec![],
    };
    let mut out = std::io::stdout().lock();
    if json {
        let problems: Vec<_> = match &result {
            Ok(_) => vec![],
            Err(e) => e
                .0
                .iter()
                .map(|p| serde_json::json!({"file": p.path, "line": p.line, "column": p.column, "message": p.message}))
                .collect(),
        };
        let conflicts: Vec<_> = conflicts
            .iter()
            .map(|c| {
                serde_json::json!({"topic": c.topic, "older": c.older, "newer": c.newer,
                    "older_sentence": c.older_sentence, "newer_sentence": c.newer_sentence,
                    "why": c.why.to_string()})
            })
            .collect();
        let report =
            serde_json::json!({"ok": result.is_ok(), "problems": problems, "conflicts": conflicts});
        writeln!(out, "{report}")?;
    } else {
        match &result {
            Ok(pack) => {
                let count = |kind| pack.sources.iter().filter(|s| s.kind == kind).count();
                writeln!(
                    out,
                    "{}: ok: {} ({}), {} statements, {} strategy notes",
                    dir.display(),
                    pack.meta.name,
                    pack.meta.id,
                    count(twin_persona::SourceKind::Statement),
                    count(twin_persona::SourceKind::Strategy),
                )?
            }
            Err(errors) => {
                for p in &errors.0 {
                    writeln!(out, "{p}")?;
                }
            }
        }
        for c in &conflicts {
            writeln!(
                out,
                "warning: {} and {} disagree on {:?} ({}) with no supersedes: {:?} / {:?}; add supersedes = [\"{}\"] to {} if the newer one stands",
                c.older,
                c.newer,
                c.topic,
                c.why,
                c.older_sentence,
                c.newer_sentence,
                c.older,
                c.newer
            )?;
        }
    }
    if let Err(e) = result {
        anyhow::bail!("{} problem(s) in {}", e.0.len(), dir.display());
    }
    Ok(())
}
