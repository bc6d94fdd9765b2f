//! `twin headset`: the headset app on the OpenXR runtime (the headset's own, or Monado's). With `--token`
//! it talks: the microphone (or `--input`) to the twin's server, the twin answering aloud in the headset.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Duration;
use twin::conversation::{Conversation, Options, Output, Source};
use twin::voice::capture::{FileCapture, MicCapture};

#[derive(clap::Args)]
pub struct HeadsetArgs {
    /// The avatar (glb or gltf).
    #[arg(long, default_value = "models/avatars/owen-marsh.glb")]
    avatar: PathBuf,
    /// Seed of the twin's idle motion (blinks, glances), so runs repeat.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// End the session after this many frames (tests, benchmarks).
    #[arg(long)]
    frames: Option<u64>,
    /// Print the run's report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Talk with the twin on this server (its session endpoint).
    #[arg(
        long,
        default_value = "ws://127.0.0.1:7878/v1/session",
        env = "TWIN_URL"
    )]
    url: String,
    /// Auth token of the server: with it the twin listens and answers; without it, it only stands there.
    #[arg(long, env = "TWIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Persona id; the server's default when absent.
    #[arg(long)]
    persona: Option<String>,
    /// Resume an earlier session.
    #[arg(long)]
    session: Option<String>,
    /// Speak from this WAV instead of the microphone (said once the twin has greeted you); the session ends
    /// once it has been answered.
    #[arg(long, value_name = "FILE", requires = "token")]
    input: Option<PathBuf>,
    /// The twin's voice on a virtual speaker (silent) even where a sound card is.
    #[arg(long)]
    no_speaker: bool,
    /// Let the twin finish: what you say during a reply is sent when the reply ends.
    #[arg(long)]
    no_barge_in: bool,
    /// Where `cargo xtask setup` put the models (the recognizer's).
    #[arg(long, env = "TWIN_MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
}

pub fn run(args: HeadsetArgs) -> Result<()> {
    let json = args.json;
    let conversation = match &args.token {
        Some(token) => Some(conversation(&args, token)?),
        None => None,
    };
    let report = twin::headset::run(
        twin::headset::Options {
            avatar: args.avatar,
            seed: args.seed,
            frames: args.frames,
            conversation,
        },
        // Scripts (and the screenshot test) learn when the twin is on screen.
        &mut |frames| {
            if json && frames == 30 {
                println!(
                    "{}",
                    serde_json::json!({"event": "on_screen", "frames": frames})
                );
            }
        },
    )?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        eprintln!(
            "{} frames on {} through {} ({} space, {}); the twin {:.2} m tall, {} away; app CPU {:.2} ms a frame (p95 {:.2})",
            report.frames,
            report.device,
            report.runtime,
            report.space,
            report.blend_mode,
            report.twin_height_m,
            report
                .placed_at_m
                .map_or("not placed".into(), |d| format!("{d:.2} m")),
            report.frame_cpu_ms_p50,
            report.frame_cpu_ms_p95
        );
        if let Some(d) = &report.dialogue {
            for turn in &d.turns {
                eprintln!("you: {turn}");
            }
            for reply in &d.replies {
                eprintln!("twin: {} {:?}", reply.text, reply.citations);
            }
            eprintln!(
                "the twin spoke for {} frames, its mouth moving in {}",
                d.speaking_frames, d.mouth_moving_frames
            );
        }
    }
    Ok(())
}

fn conversation(args: &HeadsetArgs, token: &str) -> Result<Conversation> {
    let source = match &args.input {
        Some(p) => Source::File(FileCapture::open(p)?),
        None => Source::Live(Box::new(MicCapture::open().context(
            "cannot listen (use --input FILE.wav where there is no microphone)",
        )?)),
    };
    // The headset's own recognizer shares two cores with the renderer here: one thread.
    let duplex = crate::cli::talk::duplex(&args.models_dir, 1, None, !args.no_barge_in)?;
    Conversation::start(Options {
        url: args.url.clone(),
        token: token.to_string(),
        persona: args.persona.clone(),
        session: args.session.clone(),
        client: concat!("twin-headset/", env!("CARGO_PKG_VERSION")).into(),
        source,
        duplex,
        output: if args.no_speaker {
            Output::Virtual
        } else {
            Output::Device
        },
        seconds: None,
        reconnect_for: Duration::from_secs(120),
    })
}
