//! `twin talk`: a spoken conversation with the twin. The voice loop runs on its own thread (capture → echo
//! canceller → listener → barge-in; the player feeding the speaker), the link on this one; they meet through
//! a channel and the shared player.

use crate::cli::chat::Printer;
use crate::cli::connect::ConnectArgs;
use crate::cli::spoken::SpeechRecorder;
use anyhow::{Context, Result, bail};
use std::collections::VecDeque;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use twin::link::{Link, LinkError};
use twin::voice::TICK;
use twin::voice::capture::{Capture, FileCapture, MicCapture, StreamCapture};
use twin::voice::speaker::{SharedPlayer, Speaker, lock};
use twin_listen::player::Player;
use twin_listen::{Cue, Duplex, DuplexConfig, ListenerConfig};
use twin_protocol::{ClientMessage, Heard, ServerMessage, TwinState};

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
    /// A sherpa-onnx streaming model folder (transducer: encoder, decoder, joiner, tokens.txt; or zipformer2
    /// CTC): recognized as it is spoken, instead of Whisper on VAD segments.
    #[arg(long, value_name = "DIR")]
    streaming_model: Option<PathBuf>,
    /// One JSON object per line: the listener's cues and the server's events (speech left out).
    #[arg(long)]
    json: bool,
}

/// What the voice loop tells the link side.
enum FromLoop {
    Send(ClientMessage),
    /// A cue; a turn comes with its id and when its speech ended.
    Cue(Cue, Option<(String, Instant)>),
    /// The input has ended (and had time to be finalized).
    InputDone,
    Failed(String),
}

/// What both sides see.
struct Shared {
    player: SharedPlayer,
    /// The reply now being heard, for barge-in reports.
    reply: Mutex<Option<String>>,
    /// The twin has greeted: a file may start.
    may_speak: AtomicBool,
    stop: AtomicBool,
}

enum Source {
    File(FileCapture),
    Other(Box<dyn Capture + Send>),
}

pub fn run(args: TalkArgs) -> Result<()> {
    let source = match args.input.as_deref() {
        Some(p) if p == std::path::Path::new("-") => {
            Source::Other(Box::new(StreamCapture::new(std::io::stdin())))
        }
        Some(p) => Source::File(FileCapture::open(p)?),
        None => Source::Other(Box::new(MicCapture::open().context(
            "cannot listen (use --input FILE.wav where there is no microphone)",
        )?)),
    };
    let listener = crate::cli::transcribe::listener(
        &args.models_dir,
        args.threads,
        args.streaming_model.as_deref(),
        ListenerConfig::default(),
    )?;
    let duplex = Duplex::new(
        listener,
        DuplexConfig {
            barge_in: !args.no_barge_in,
            ..DuplexConfig::default()
        },
    );
    // Piper's rate until a reply says otherwise.
    let shared = Arc::new(Shared {
        player: Arc::new(Mutex::new(Player::new(22_050))),
        reply: Mutex::new(None),
        may_speak: AtomicBool::new(false),
        stop: AtomicBool::new(false),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let voice_loop = {
        let shared = Arc::clone(&shared);
        let no_speaker = args.no_speaker;
        std::thread::Builder::new()
            .name("voice-loop".into())
            .spawn(move || {
                if let Err(e) = voice_loop(source, duplex, no_speaker, &shared, &tx) {
                    let _ = tx.send(FromLoop::Failed(format!("{e:#}")));
                }
            })?
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(converse(&args, &shared, rx));
    shared.stop.store(true, Ordering::Relaxed);
    let _ = voice_loop.join();
    result
}

fn voice_loop(
    mut source: Source,
    mut duplex: Duplex,
    no_speaker: bool,
    shared: &Shared,
    tx: &mpsc::UnboundedSender<FromLoop>,
) -> Result<()> {
    let open_speaker = || {
        if no_speaker {
            return Speaker::virtual_speaker();
        }
        Speaker::open_device(&shared.player).unwrap_or_else(|e| {
            eprintln!(
                "twin: no sound out ({e}); the twin's voice plays on a virtual speaker (--speech DIR keeps it)"
            );
            Speaker::virtual_speaker()
        })
    };
    let mut speaker = open_speaker();
    let describe = match &source {
        Source::File(f) => f.describe(),
        Source::Other(c) => c.describe(),
    };
    tracing::info!(
        "listening to {describe}, the twin on {}",
        speaker.describe()
    );
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let mut turns = 0u32;
    // Ticks of silence after the input ended, to let the last words be finalized.
    let mut after_end: Option<u32> = None;
    // When each recent tick was captured (its first sample on the listener's clock): a turn's end of speech
    // is then a moment, and the answer's latency is measured from it.
    let mut captured: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut fed = 0u64;
    let send = |m: FromLoop| tx.send(m).is_ok();
    while !shared.stop.load(Ordering::Relaxed) {
        let chunk = match &mut source {
            Source::File(f) => {
                if !f.done()
                    && shared.may_speak.load(Ordering::Relaxed)
                    && !lock(&shared.player).playing()
                {
                    f.start();
                }
                let chunk = f.next_chunk()?;
                if f.done() && after_end.is_none() {
                    after_end = Some(0);
                }
                chunk
            }
            Source::Other(c) if after_end.is_none() => match c.next_chunk()? {
                Some(chunk) => Some(chunk),
                None => {
                    after_end = Some(0);
                    None
                }
            },
            Source::Other(_) => None,
        };
        let chunk = chunk.unwrap_or_else(|| {
            // The input is over: silence on the wall clock.
            std::thread::sleep(Duration::from_millis(20));
            vec![0.0; TICK]
        });
        if let Some(n) = after_end.as_mut() {
            *n += 1;
            // 1.5 s: the listener's end of utterance and a decode.
            if *n == 75 && !send(FromLoop::InputDone) {
                break;
            }
        }
        captured.push_back((fed, Instant::now()));
        if captured.len() > 3_000 {
            captured.pop_front();
        }
        fed += TICK as u64;
        if speaker.tick(&shared.player) {
            speaker = open_speaker();
        }
        let (reference, playing) = {
            let mut p = lock(&shared.player);
            (p.reference(TICK), p.playing())
        };
        for cue in duplex.push(&chunk, &reference, playing) {
            let mut turn_id = None;
            match &cue {
                Cue::Duck { .. } => lock(&shared.player).duck(),
                Cue::Unduck { .. } => lock(&shared.player).unduck(),
                Cue::BargeIn { .. } => {
                    let heard = lock(&shared.player).fade_out();
                    let reply = shared
                        .reply
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone();
                    if let Some(reply_id) = reply {
                        send(FromLoop::Send(ClientMessage::Interrupted {
                            reply_id,
                            heard: Heard::Samples(heard),
                        }));
                    }
                }
                Cue::Partial { text, .. } => {
                    send(FromLoop::Send(ClientMessage::UserPartial {
                        text: text.clone(),
                    }));
                }
                Cue::Turn { text, end_s, .. } => {
                    turns += 1;
                    let id = format!("talk-{stamp}-{turns}");
                    turn_id = Some((id.clone(), moment(&captured, *end_s)));
                    send(FromLoop::Send(ClientMessage::UserFinal {
                        turn_id: id,
                        text: text.clone(),
                    }));
                }
                Cue::NotATurn { .. } => {}
            }
            if !send(FromLoop::Cue(cue, turn_id)) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// When the sample at `at_s` (the listener's clock) was captured.
fn moment(captured: &VecDeque<(u64, Instant)>, at_s: f64) -> Instant {
    let sample = (at_s * twin_listen::SAMPLE_RATE as f64).max(0.0) as u64;
    let (first, at) = captured
        .iter()
        .rev()
        .find(|(first, _)| *first <= sample)
        .or(captured.front())
        .copied()
        .unwrap_or((sample, Instant::now()));
    let ahead = sample.saturating_sub(first) as f64 / twin_listen::SAMPLE_RATE as f64;
    at + Duration::from_secs_f64(ahead)
}

struct Conversation {
    printer: Printer,
    recorder: Option<SpeechRecorder>,
    /// Turns sent and not yet answered.
    unanswered: HashSet<String>,
    /// When each turn's speech ended, until its answer's voice arrives.
    speech_end: HashMap<String, Instant>,
    /// Reply → the turn it answers.
    answering: HashMap<String, String>,
    listening: bool,
    input_done: bool,
    /// Shown after the reply's text, in the human form.
    latency_line: Option<String>,
    /// The reply whose text has been shown whole.
    ended: Option<String>,
}

async fn converse(
    args: &TalkArgs,
    shared: &Shared,
    mut from_loop: mpsc::UnboundedReceiver<FromLoop>,
) -> Result<()> {
    let hello = args.connect.hello(
        concat!("twin-talk/", env!("CARGO_PKG_VERSION")),
        Some(twin_protocol::AudioRequest { lipsync: true }),
    );
    let mut link = Link::connect(&args.connect.url, hello).await?;
    let mut c = Conversation {
        printer: Printer { json: args.json },
        recorder: args
            .speech
            .as_deref()
            .map(SpeechRecorder::new)
            .transpose()?,
        unanswered: HashSet::new(),
        speech_end: HashMap::new(),
        answering: HashMap::new(),
        listening: false,
        input_done: false,
        latency_line: None,
        ended: None,
    };
    match link.next().await.context("no welcome from the server")? {
        welcome @ ServerMessage::Welcome { resumed, .. } => {
            c.printer.show(&welcome)?;
            // A resumed session has no greeting to wait for.
            shared.may_speak.store(resumed, Ordering::Relaxed);
        }
        ServerMessage::Error { message, .. } => bail!("{message}"),
        other => bail!("expected a welcome, got {other:?}"),
    }
    let deadline = args
        .seconds
        .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    loop {
        let timeout = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = link.next() => {
                let message = match message {
                    Ok(m) => m,
                    Err(LinkError::Closed(reason)) => bail!(
                        "the server closed the session{}",
                        reason.map(|r| format!(": {r}")).unwrap_or_default()
                    ),
                    Err(e) => return Err(e.into()),
                };
                c.server_event(&message, shared)?;
            }
            from = from_loop.recv() => match from {
                Some(FromLoop::Send(m)) => {
                    if let ClientMessage::UserFinal { turn_id, .. } = &m {
                        c.unanswered.insert(turn_id.clone());
                    }
                    link.send(&m).await?;
                }
                Some(FromLoop::Cue(cue, turn)) => {
                    if let Some((id, ended)) = &turn {
                        c.speech_end.insert(id.clone(), *ended);
                    }
                    c.show_cue(&cue, turn.as_ref().map(|(id, _)| id.as_str()))?;
                }
                Some(FromLoop::InputDone) => c.input_done = true,
                Some(FromLoop::Failed(e)) => bail!("the voice loop stopped: {e}"),
                None => bail!("the voice loop stopped"),
            },
            () = timeout => break,
            // The end can come with nothing said: the speaker finishing the last reply.
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        if c.input_done && c.unanswered.is_empty() && c.listening && !lock(&shared.player).playing()
        {
            break;
        }
    }
    link.close().await;
    Ok(())
}

impl Conversation {
    fn server_event(&mut self, message: &ServerMessage, shared: &Shared) -> Result<()> {
        match message {
            ServerMessage::ReplyStart {
                reply_id, turn_id, ..
            } => {
                *shared.reply.lock().unwrap_or_else(|p| p.into_inner()) = Some(reply_id.clone());
                lock(&shared.player).start_reply();
                if let Some(t) = turn_id {
                    self.answering.insert(reply_id.clone(), t.clone());
                }
            }
            ServerMessage::Audio {
                reply_id,
                first_sample,
                sample_rate,
                pcm16,
            } => {
                let current = shared
                    .reply
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                if current.as_deref() == Some(reply_id) {
                    let pcm = twin_protocol::decode_pcm16(pcm16)?;
                    let samples: Vec<f32> = pcm.iter().map(|&s| s as f32 / 32768.0).collect();
                    let mut player = lock(&shared.player);
                    player.set_rate(*sample_rate);
                    player.queue(&samples);
                }
                let waiting = self
                    .answering
                    .get(reply_id)
                    .and_then(|t| Some((t.clone(), self.speech_end.remove(t)?)));
                if *first_sample == 0
                    && let Some((turn, ended)) = waiting
                {
                    self.show_latency(&turn, ended.elapsed().as_secs_f64())?;
                    if self.ended.as_deref() == Some(reply_id)
                        && let Some(line) = self.latency_line.take()
                    {
                        println!("{line}");
                    }
                }
            }
            ServerMessage::ReplyEnd { reply_id, .. } => {
                self.ended = Some(reply_id.clone());
                if let Some(turn) = self.answering.get(reply_id) {
                    self.unanswered.remove(turn);
                }
            }
            ServerMessage::AudioEnd { reply_id, .. } => {
                if let Some(turn) = self.answering.remove(reply_id) {
                    self.speech_end.remove(&turn);
                }
            }
            ServerMessage::State { state } => {
                self.listening = *state == TwinState::Listening;
                if self.listening {
                    shared.may_speak.store(true, Ordering::Relaxed);
                }
            }
            ServerMessage::Error { code, message } if code.is_fatal() => bail!("{message}"),
            _ => {}
        }
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
        // Speech is played and saved, not printed.
        if !matches!(
            message,
            ServerMessage::Audio { .. } | ServerMessage::LipSync { .. }
        ) {
            self.printer.show(message)?;
        }
        if matches!(message, ServerMessage::ReplyEnd { .. })
            && let Some(line) = self.latency_line.take()
        {
            println!("{line}");
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
            self.latency_line = Some(format!(
                "  (the twin's voice came {:.0} ms after you stopped speaking)",
                seconds * 1000.0
            ));
        }
        Ok(())
    }
}
