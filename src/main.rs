//! `twin`: the client tools. `twin chat` and `twin talk` talk to a twin-server (by text, by voice); `twin say` speaks with a twin's voice; `twin avatar`
//! builds and checks avatars; `twin render` and `twin desktop` show the twin speaking.

mod cli;

use clap::{Parser, Subcommand};

/// Meet a person's conversational digital twin.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Talk to a twin by text: a REPL (/flag [note] and /share for the person's review, /help), or one
    /// question with --once.
    Chat(cli::chat::ChatArgs),
    /// Speak text with a twin's voice; write the WAV, its lip-sync track (--lipsync) and a picture (--plot).
    Say(cli::say::SayArgs),
    /// Build a persona's avatar from the face model, or check an avatar file.
    Avatar(cli::avatar::AvatarArgs),
    /// Render the twin speaking a reply (its lip-sync track and audio) to PNG frames, and an MP4 with ffmpeg.
    Render(cli::render::RenderArgs),
    /// Talk with the twin by voice: microphone (or a WAV, or a PCM stream) in, its voice out, with echo
    /// cancellation and barge-in.
    Talk(cli::talk::TalkArgs),
    /// Transcribe a WAV with the on-device speech-in pipeline (VAD, recognizer): partials, finals, timing.
    Transcribe(cli::transcribe::TranscribeArgs),
    /// The headset app: the twin standing life-size in your room, through OpenXR.
    Headset(cli::headset::HeadsetArgs),
    /// What the OpenXR runtime offers the headset app.
    Xr(cli::xr::XrArgs),
    /// Show the twin in a window (orbit with the mouse) and play a reply with its lip-sync.
    Desktop(cli::desktop::DesktopArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Chat(args) => cli::chat::run(args),
        Command::Say(args) => cli::say::run(args),
        Command::Avatar(args) => cli::avatar::run(args),
        Command::Render(args) => cli::render::run(args),
        Command::Desktop(args) => cli::desktop::run(args),
        Command::Transcribe(args) => cli::transcribe::run(args),
        Command::Talk(args) => cli::talk::run(args),
        Command::Xr(args) => cli::xr::run(args),
        Command::Headset(args) => cli::headset::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("twin: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
