//! `twin talk`: a spoken conversation with the twin in the terminal: the conversation engine
//! (`twin::conversation`) hears and speaks, this prints what happens and keeps the replies it is asked to.

use crate::cli::chat::Printer;
use crate::cli::connect::ConnectArgs;
use crate::cli::hearing::HearingArgs;
use crate::cli::spoken::SpeechRecorder;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::time::Duration;
use twin::conversation::{Conversation, Event, Options, Output, Source};
use twin::voice::capture::{FileCapture, MicCapture, StreamCapture};
use twin_listen::{Cue, Duplex, DuplexConfig};
use twin_protocol::ServerMessage;

#[derive(clap::Args)]
pub struct TalkArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Speak from this WAV instead of the microphone (it is said once the twin has finished greeting you);
    /// `-` reads raw 16 kHz mono 16-bit little-endian PCM from standard input.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Play the twin's voice on a virtual speaker (silent, on the loop's clock) even where a sound card is.
    #[arg(long)]
    no_speaker: bool,
    /// Let the twin finish: what you say during a reply is sent when the reply ends.
    #[arg(long)]
    no_barge_in: bool,
    /// Save every spoken reply in this folder (WAV, lip-sync track, picture), as `twin chat --speech` does.
    #[arg(long, value_name = "DIR")]
    speech: Option<PathBuf>,
    /// Stop after this many seconds. With a file the conversation ends by itself once it has been answered.
    #[arg(long)]
    seconds: Option<f64>,
    /// Where `cargo xtask setup` put the models.
    #[arg(long, env = "TWIN_MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
    /// Recognizer threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[command(flatten)]
    hearing: HearingArgs,
    /// A sherpa-onnx streaming model folder (transducer: encoder, decoder, joiner, tokens.txt; or zipformer2
    /// CTC): recognized as it is spoken, instead of an offline model on VAD segments.
    #[arg(long, value_name = "DIR")]
    streaming_model: Option<PathBuf>,
    /// One JSON object per line: the listener's cues and the server's events (speech left out).
    #[arg(long)]
    json: bool,
}

pub fn run(args: TalkArgs) -> Result<()> {
    // No token, no conversation: said before the microphone opens.
    args.connect.target()?;
    let source = match args.input.as_deref() {
        Some(p) if p == std::path::Path::new("-") => {
            Source::Live(Box::new(StreamCapture::new(std::io::stdin())))
        }
        Some(p) => Source::File(FileCapture::open(p)?),
        None => Source::Live(Box::new(MicCapture::open().context(
            "cannot listen (use --input FILE.wav where there is no microphone)",
        )?)),
    };
    let duplex = duplex(
        &args.models_dir,
        args.threads,
        args.streaming_model.as_deref(),
        args.hearing,
        !args.no_barge_in,
    )?;
    let conversation = Conversation::start(Options {
        target: args.connect.target.clone(),
        client: concat!("twin-talk/", env!("CARGO_PKG_VERSION")).into(),
        source,
        duplex,
        output: if args.no_speaker {
            Output::Virtual
        } else {
            Output::Device
        },
        seconds: args.seconds,
        reconnect_for: Duration::from_secs(60),
    })?;
    let mut shown = Shown {
        printer: Printer::new(args.json),
        recorder: args
            .speech
            .as_deref()
            .map(SpeechRecorder::new)
            .transpose()?,
        latency_line: None,
        ended: None,
    };
    for event in conversation.events() {
        match event {
            Event::Ended => return Ok(()),
            Event::Failed(e) => bail!("{e}"),
            event => shown.show(&event)?,
        }
    }
    bail!("the conversation stopped")
}

/// The listener with its echo canceller and barge-in rules, from the models `cargo xtask setup` fetched.
pub fn duplex(
    models_dir: &std::path::Path,
    threads: usize,
    streaming_model: Option<&std::path::Path>,
    hearing: HearingArgs,
    barge_in: bool,
) -> Result<Duplex> {
    let listener =
        crate::cli::transcribe::listener(models_dir, threads, streaming_model, hearing.config())?;
    Ok(Duplex::new(
        listener,
        DuplexConfig {
            barge_in,
            ..DuplexConfig::default()
        },
    ))
}

/// What the terminal shows.
struct Shown {
    printer: Printer,
    recorder: Option<SpeechRecorder>,
    /// Shown after the reply's text, in the human form.
    latency_line: Option<String>,
    /// The reply whose text has been shown whole.
    ended: Option<String>,
}

impl Shown {
    fn show(&mut self, event: &Event) -> Result<()> {
        match event {
            Event::Server(message) => self.server_event(message),
            Event::Cue { cue, turn_id } => self.show_cue(cue, turn_id.as_deref()),
            Event::AnswerAudio {
                turn_id,
                after_speech_s,
            } => self.show_latency(turn_id, *after_speech_s),
            Event::LinkDown { reason } => {
                if self.printer.json {
                    println!(
                        "{}",
                        serde_json::json!({"event": "link_down", "reason": reason})
                    );
                } else {
                    println!("  [the server went away ({reason}); reconnecting…]");
                }
                Ok(())
            }
            Event::LinkUp {
                session_id,
                resumed,
            } => {
                if self.printer.json {
                    println!(
                        "{}",
                        serde_json::json!({"event": "link_up", "session_id": session_id, "resumed": resumed})
                    );
                } else {
                    println!("  [back on session {session_id}]");
                }
                Ok(())
            }
            Event::PlaybackStarted {
                reply_id,
                server_ms,
                wall_ms,
            } => {
                if self.printer.json {
                    println!(
                        "{}",
                        serde_json::json!({"event": "playback_started", "reply_id": reply_id, "server_ms": server_ms, "wall_ms": wall_ms})
                    );
                }
                Ok(())
            }
            Event::Ended | Event::Failed(_) => Ok(()),
        }
    }

    fn server_event(&mut self, message: &ServerMessage) -> Result<()> {
        if let Some(recorder) = self.recorder.as_mut()
            && let Some(saved) = recorder.observe(message)?
            && !self.printer.json
        {
            println!(
                "  [spoken: {} ({:.1} s, {} lip-sync frames)]",
                saved.wav.display(),
                saved.seconds,
                saved.frames
            );
        }
        // Speech is played and saved, not printed; a room's poses and voices are for clients with a view.
        if !matches!(
            message,
            ServerMessage::Audio { .. }
                | ServerMessage::LipSync { .. }
                | ServerMessage::Pose { .. }
                | ServerMessage::Voice { .. }
        ) {
            self.printer.show(message)?;
        }
        if let ServerMessage::ReplyStart { .. } = message {
            self.ended = None;
        }
        if let ServerMessage::ReplyEnd { reply_id, .. } = message {
            self.ended = Some(reply_id.clone());
            if let Some(line) = self.latency_line.take() {
                println!("{line}");
            }
        }
        Ok(())
    }

    fn show_cue(&self, cue: &Cue, turn_id: Option<&str>) -> Result<()> {
        if self.printer.json {
            let mut v = serde_json::to_value(cue)?;
            if let (Some(id), Some(o)) = (turn_id, v.as_object_mut()) {
                o.insert("turn_id".into(), id.into());
            }
            println!("{v}");
            return Ok(());
        }
        match cue {
            Cue::Partial { text, .. } => println!("  you … {text}"),
            Cue::Turn {
                text,
                end_s,
                ready_s,
                ..
            } => println!(
                "you: {text}   (heard {:.0} ms after you stopped)",
                (ready_s - end_s) * 1000.0
            ),
            Cue::BargeIn { .. } => println!("  [you cut in: the twin stops]"),
            Cue::NotATurn { text, .. } if !text.is_empty() => {
                println!("  [not taken as a turn: {text}]")
            }
            Cue::NotATurn { .. } | Cue::Duck { .. } | Cue::Unduck { .. } => {}
        }
        Ok(())
    }

    /// From the end of the user's speech to the first audio of the answer arriving (the device's output
    /// latency comes on top).
    fn show_latency(&mut self, turn_id: &str, seconds: f64) -> Result<()> {
        if self.printer.json {
            let v = serde_json::json!({
                "event": "answer_audio",
                "turn_id": turn_id,
                "after_speech_ms": (seconds * 1000.0).round(),
            });
            println!("{v}");
        } else {
            let line = format!(
                "  (the twin's voice came {:.0} ms after you stopped speaking)",
                seconds * 1000.0
            );
            // Its reply's text may already be shown whole (a short reply): then at once.
            if self.ended.is_some() {
                println!("{line}");
            } else {
                self.latency_line = Some(line);
            }
        }
        Ok(())
    }
}
