//! `cargo xtask`: setup, demo, test, bench. The project's one entry point for people and CI.
//!
//! This file is the command line and its dispatch; each task lives in its own module (setup, demo, room, test,
//! fuzz, bench), and process.rs holds what they share for running commands.

mod apt;
mod avatars;
mod bench;
mod client;
mod demo;
mod fetch;
mod fuzz;
mod prepare;
mod process;
mod room;
mod server;
mod setup;
mod test;
mod tls;
mod tools;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(about = "Twin project automation")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install the Debian packages the project needs and fetch every model in models/manifest.toml.
    Setup(SetupArgs),
    /// Setup, build, start the edge server on embedded defaults, and hold a scripted conversation with the twin.
    Demo {
        #[command(flatten)]
        setup: SetupArgs,
        /// A meeting instead: three people with the twin in one room (one asks aloud in the best client
        /// here, two type), written to out/room-transcript.txt with every turn attributed.
        #[arg(long)]
        room: bool,
    },
    /// Setup (with test tools), then run the whole test suite.
    Test {
        #[command(flatten)]
        setup: SetupArgs,
        /// The fast tier instead: setup without the test tools, then formatting, clippy with warnings as errors
        /// and the unit tests (each crate's library and binaries), a few minutes warm.
        #[arg(long)]
        fast: bool,
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// Run the property tests over what Twin reads from outside (crates/twin-fuzz) at length: `cases` inputs
    /// per target (the test suite runs 256), in release; prints the time each target took.
    Fuzz {
        #[arg(long, default_value_t = 200_000)]
        cases: u32,
    },
    /// Run the benchmarks and rewrite BENCHMARKS.md.
    Bench {
        #[command(flatten)]
        setup: SetupArgs,
        /// Questions per backend.
        #[arg(long, default_value_t = 24)]
        questions: usize,
    },
}

#[derive(clap::Args, Clone)]
struct SetupArgs {
    /// Don't install Debian packages (report what is missing instead).
    #[arg(long)]
    no_apt: bool,
    /// Also install and build the tools tests and benchmarks need (headless Chromium and chromedriver from
    /// Debian; llama.cpp's llama-server, ~8 minutes; Monado, the OpenXR runtime, ~5 minutes; once, then cached).
    #[arg(long)]
    with_test_tools: bool,
    /// Another name or address the demo's server certificate is for (a headset reaches this machine by its
    /// LAN address); the certificate is made once, so delete models/tls to add one.
    #[arg(long, value_name = "NAME")]
    tls_name: Vec<String>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = project_root();
    std::env::set_current_dir(&root)
        .with_context(|| format!("cannot enter the project root {}", root.display()))?;
    match cli.command {
        Task::Setup(args) => setup::setup(&root, &args).map(|_| ()),
        Task::Demo {
            setup: args,
            room: false,
        } => demo::demo(&root, &args),
        Task::Demo {
            setup: args,
            room: true,
        } => room::room_demo(&root, &args),
        Task::Test {
            setup: args,
            fast: true,
            cargo_args,
        } => test::fast_test(&root, &args, &cargo_args),
        Task::Test {
            setup: mut args,
            fast: false,
            cargo_args,
        } => {
            args.with_test_tools = true;
            test::test(&root, &args, &cargo_args)
        }
        Task::Fuzz { cases } => fuzz::fuzz(cases),
        Task::Bench {
            setup: mut args,
            questions,
        } => {
            args.with_test_tools = true;
            bench::bench(&root, &args, questions)
        }
    }
}

/// `cargo run` tells the process where its manifest is; the compile-time path is only a fallback, because a
/// target directory shared between clones (CI caches it) may hold an xtask built in another clone.
fn project_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}
