//! Measures the edge server and writes BENCHMARKS.md: retrieval latency; per LLM backend time to first token,
//! time to first complete sentence and tokens per second; end-to-end time to the first sentence over a real
//! WebSocket; the server's peak memory; the OpenAI client's overhead over llama.cpp's own timings.

mod about;
mod end_to_end;
mod llm;
mod report;
mod retrieval;
mod sections;
mod series;
mod server;
mod speech_out;

use anyhow::{Result, bail};
use clap::Parser;
use serde::Deserialize;
use std::path::PathBuf;
use twin_bench::{models_dir, root};
use twin_persona::PersonaPack;

#[derive(Parser)]
#[command(about = "Benchmarks for the Twin edge server")]
struct Args {
    #[arg(long, default_value_t = 24)]
    questions: usize,
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// The twin-server binary, for the end-to-end figures.
    #[arg(long)]
    server_bin: PathBuf,
    /// llama.cpp's llama-server, for the OpenAI-compatible backend figures.
    #[arg(long)]
    llama_server: Option<PathBuf>,
    /// LLM threads (the embedded backend and llama-server alike).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// A quick look with fewer than the 20 questions a reported figure needs (not for BENCHMARKS.md).
    #[arg(long)]
    smoke: bool,
    /// The `twin` binary, for the launch-to-first-frame figure.
    #[arg(long)]
    twin_bin: Option<PathBuf>,
    /// Only the avatar's figures, printed (for working on them; BENCHMARKS.md is left alone).
    #[arg(long)]
    avatar_only: bool,
    /// Only the speech-in figures (recognition, echo and barge-in; not the end of turn's sets), printed.
    #[arg(long)]
    listen_only: bool,
    /// Only the end-of-turn figures (the mid-sentence-pause set), printed; with --smoke, the development set
    /// alone (for working out the rules without hearing the held-out set).
    #[arg(long)]
    turns_only: bool,
    /// Only voice to voice (`twin talk` against the server; needs --twin-bin), printed.
    #[arg(long)]
    voice_only: bool,
    /// Monado's runtime manifest (setup builds it), for the headset app's figures (with --twin-bin).
    #[arg(long)]
    monado_json: Option<PathBuf>,
    /// Only the headset app's figures, printed (BENCHMARKS.md is left alone).
    #[arg(long)]
    headset_only: bool,
    /// Only the rooms' relay figures, printed (BENCHMARKS.md is left alone).
    #[arg(long)]
    rooms_only: bool,
    /// Only the fidelity figures, printed (BENCHMARKS.md is left alone).
    #[arg(long)]
    fidelity_only: bool,
    /// Only the likeness figures, printed.
    #[arg(long)]
    likeness_only: bool,
    /// Only the security and faults figures, printed (BENCHMARKS.md is left alone).
    #[arg(long)]
    security_only: bool,
    /// Only the review console's section (page server times with 10,000 stored turns, corrections).
    #[arg(long)]
    console_only: bool,
    /// With --fidelity-only: skip the held-out sets (for tuning; what is tuned on is never scored held out).
    #[arg(long)]
    without_heldout: bool,
}

#[derive(Deserialize)]
struct Eval {
    question: Vec<Question>,
}
#[derive(Deserialize)]
struct Question {
    text: String,
}

/// The demo persona's pack, which every section asks.
fn demo_pack() -> PathBuf {
    root().join("assets/personas/owen-marsh")
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    // The first `--*-only` flag given wins, in this order, as it always has.
    let md = if args.turns_only {
        turns_only(&args)?
    } else if args.listen_only {
        listen_only()?
    } else if args.headset_only {
        headset_only(&args)?
    } else if args.fidelity_only {
        fidelity_only(&args).await?
    } else if args.rooms_only {
        rooms_only(&args).await?
    } else if args.console_only {
        console_only(&args).await?
    } else if args.security_only {
        security_only(&args).await?
    } else if args.likeness_only {
        likeness_only()?
    } else if args.avatar_only {
        avatar_only(&args)?
    } else {
        let (pack, questions) = questions(&args)?;
        if args.voice_only {
            voice_only(&args, &questions)?
        } else {
            return full_run(&args, &pack, &questions).await;
        }
    };
    print!("{md}");
    Ok(())
}

fn turns_only(args: &Args) -> Result<String> {
    let mut md = String::new();
    twin_bench::turns::section(
        &mut md,
        &models_dir(),
        &root().join("assets/speech"),
        args.smoke,
    )?;
    Ok(md)
}

fn listen_only() -> Result<String> {
    let mut md = String::new();
    let sentences =
        twin_bench::lipsync::load_sentences(&root().join("assets/speech/sentences.txt"))?;
    twin_bench::listen::section(&mut md, &models_dir(), &sentences)?;
    twin_bench::listen::duplex_section(&mut md, &models_dir())?;
    Ok(md)
}

fn headset_only(args: &Args) -> Result<String> {
    let mut md = String::new();
    sections::headset(
        &mut md,
        args.twin_bin.as_deref(),
        args.monado_json.as_deref(),
    )?;
    Ok(md)
}

async fn fidelity_only(args: &Args) -> Result<String> {
    let mut md = String::new();
    sections::fidelity(&mut md, &args.server_bin, !args.without_heldout).await?;
    Ok(md)
}

async fn rooms_only(args: &Args) -> Result<String> {
    let mut md = String::new();
    twin_bench::rooms::section(&mut md, &args.server_bin, &models_dir(), &demo_pack()).await?;
    Ok(md)
}

async fn console_only(args: &Args) -> Result<String> {
    let mut md = String::new();
    twin_bench::console::section(&mut md, &args.server_bin, &models_dir(), &demo_pack()).await?;
    Ok(md)
}

async fn security_only(args: &Args) -> Result<String> {
    let mut md = String::new();
    twin_bench::security::section(&mut md, &args.server_bin, &models_dir(), &demo_pack()).await?;
    Ok(md)
}

fn likeness_only() -> Result<String> {
    let mut md = String::new();
    twin_bench::likeness::section(&mut md, &models_dir(), &demo_pack())?;
    Ok(md)
}

fn avatar_only(args: &Args) -> Result<String> {
    let mut md = String::new();
    twin_bench::avatar::section(&mut md, &models_dir(), args.twin_bin.as_deref())?;
    Ok(md)
}

fn voice_only(args: &Args, questions: &[String]) -> Result<String> {
    let mut md = String::new();
    sections::voice_to_voice(
        &mut md,
        &args.server_bin,
        args.twin_bin.as_deref(),
        questions,
    )?;
    Ok(md)
}

/// The demo pack, and the first `--questions` of its retrieval set; at least 20 unless `--smoke`.
fn questions(args: &Args) -> Result<(PersonaPack, Vec<String>)> {
    let pack_dir = demo_pack();
    let pack = PersonaPack::load(&pack_dir)?;
    let eval: Eval = toml::from_str(&std::fs::read_to_string(
        pack_dir.join("eval/retrieval.toml"),
    )?)?;
    let questions: Vec<String> = eval
        .question
        .iter()
        .take(args.questions)
        .map(|q| q.text.clone())
        .collect();
    if questions.len() < 20 && !args.smoke {
        bail!("need at least 20 questions, have {}", questions.len());
    }
    Ok((pack, questions))
}

/// Every section, measured in the order they always were, written to `--out`.
async fn full_run(args: &Args, pack: &PersonaPack, questions: &[String]) -> Result<()> {
    let (retrieval, prompts) = retrieval::measure(pack, questions).await?;
    let embedded_run = llm::embedded_run(args.threads, &prompts).await?;
    let llama_run = llm::llama_run(args.llama_server.as_deref(), args.threads, &prompts).await;
    eprintln!("end to end through twin-server…");
    let (series, peak_mib, guardrails) =
        end_to_end::end_to_end(&args.server_bin, questions).await?;
    let e2e = report::EndToEnd {
        series,
        peak_mib,
        guardrails,
    };

    let mut md = String::new();
    report::header(&mut md, args.threads)?;
    sections::fidelity(&mut md, &args.server_bin, true).await?;
    report::end_to_end(&mut md, &e2e, &retrieval, &embedded_run, questions.len())?;
    report::backends(&mut md, &embedded_run, llama_run.as_ref())?;
    speech_out::section(&mut md)?;
    later_sections(&mut md, args, questions).await?;
    std::fs::write(&args.out, md)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// The sections after the LLM's: the avatar, likeness, listening, turns, voice to voice, the headset, rooms,
/// security and the review console.
async fn later_sections(md: &mut String, args: &Args, questions: &[String]) -> Result<()> {
    let models = models_dir();
    twin_bench::avatar::section(md, &models, args.twin_bin.as_deref())?;
    twin_bench::likeness::section(md, &models, &demo_pack())?;
    let sentences =
        twin_bench::lipsync::load_sentences(&root().join("assets/speech/sentences.txt"))?;
    twin_bench::listen::section(md, &models, &sentences)?;
    twin_bench::turns::section(md, &models, &root().join("assets/speech"), false)?;
    sections::voice_to_voice(md, &args.server_bin, args.twin_bin.as_deref(), questions)?;
    twin_bench::listen::duplex_section(md, &models)?;
    sections::headset(md, args.twin_bin.as_deref(), args.monado_json.as_deref())?;
    eprintln!("rooms…");
    twin_bench::rooms::section(md, &args.server_bin, &models, &demo_pack()).await?;
    eprintln!("security and faults…");
    twin_bench::security::section(md, &args.server_bin, &models, &demo_pack()).await?;
    eprintln!("review console…");
    twin_bench::console::section(md, &args.server_bin, &models, &demo_pack()).await?;
    Ok(())
}
