use crate::cli::connect::ConnectArgs;
use crate::cli::spoken::SpeechRecorder;
use anyhow::{Context, bail};
use std::io::{BufRead, Write};
use twin::link::{Link, LinkError};
use twin_protocol::{ClientMessage, ServerMessage};

#[derive(clap::Args)]
pub struct ChatArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Ask one question, print the answer, and exit.
    #[arg(long, conflicts_with = "history")]
    once: Option<String>,
    /// Print the conversation so far (with --room, the room's: who said what) and exit.
    #[arg(long)]
    history: bool,
    /// Print every server event as one JSON object per line, for scripts.
    #[arg(long)]
    json: bool,
    /// Ask for the twin's speech and save every spoken reply in this folder: reply-N.wav, its lip-sync track
    /// reply-N.lipsync.json, and a picture of both, reply-N.png.
    #[arg(long, value_name = "DIR")]
    speech: Option<std::path::PathBuf>,
    /// Present a plan or proposal (a text or Markdown file, at most 64 KB) with the first question, for the
    /// twin's feedback: what the person has said that bears on it. In the REPL, `/attach FILE` presents one
    /// with the next question.
    #[arg(long, value_name = "FILE")]
    attach: Option<std::path::PathBuf>,
}

/// Reads a document to present with a turn: UTF-8 text within the protocol's limit.
fn attachment(path: &std::path::Path) -> anyhow::Result<twin_protocol::Attachment> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let limit = twin_protocol::MAX_ATTACHMENT_BYTES;
    if bytes.len() > limit {
        bail!(
            "{} is {} bytes; an attachment may be at most {limit} bytes (64 KB)",
            path.display(),
            bytes.len()
        );
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "{} is not UTF-8 text (attach a text or Markdown file)",
            path.display()
        )
    })?;
    if text.trim().is_empty() {
        bail!("{} is empty", path.display());
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment.md".into());
    Ok(twin_protocol::Attachment { name, text })
}

pub(crate) struct Printer {
    pub(crate) json: bool,
    /// A reply's words are being written on the current line (someone else's turn in a room breaks it).
    pub(crate) mid_reply: std::cell::Cell<bool>,
}

impl Printer {
    pub(crate) fn new(json: bool) -> Printer {
        Printer {
            json,
            mid_reply: std::cell::Cell::new(false),
        }
    }

    /// Shows one server event; returns the id of a reply that just ended.
    pub(crate) fn show(&self, message: &ServerMessage) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        if self.json {
            writeln!(out, "{}", message.encode())?;
            return Ok(());
        }
        // In a room, others' turns and arrivals come while the twin speaks: on lines of their own.
        let interjection = matches!(
            message,
            ServerMessage::UserTurn { .. }
                | ServerMessage::Room { .. }
                | ServerMessage::Queued { .. }
        );
        if interjection && self.mid_reply.get() {
            writeln!(out)?;
        }
        match message {
            ServerMessage::Welcome {
                session_id,
                resumed,
                persona,
                history,
                ..
            } => {
                writeln!(
                    out,
                    "Connected to the AI twin of {}, {} of {}.",
                    persona.name, persona.role, persona.organization
                )?;
                writeln!(
                    out,
                    "session {session_id}{}",
                    if *resumed { " (resumed)" } else { "" }
                )?;
                // A room's turns are stored with their speaker's name.
                let room = session_id.starts_with("room:");
                for turn in history {
                    let who = match turn.speaker {
                        twin_protocol::Speaker::User if room => "",
                        twin_protocol::Speaker::User => "you: ",
                        twin_protocol::Speaker::Twin => "twin: ",
                    };
                    writeln!(out, "  [{}] {who}{}", turn.seq, turn.text)?;
                }
            }
            ServerMessage::ReplyStart { .. } => {
                write!(out, "twin: ")?;
                self.mid_reply.set(true);
            }
            ServerMessage::ReplyDelta { text, .. } => {
                write!(out, "{text}")?;
                out.flush()?;
            }
            ServerMessage::ReplyEnd {
                citations,
                interrupted,
                ..
            } => {
                writeln!(out, "{}", if *interrupted { " [interrupted]" } else { "" })?;
                self.mid_reply.set(false);
                for c in citations {
                    let url = c.url.as_deref().unwrap_or("(internal note)");
                    writeln!(out, "  [{}] {} ({}) {url}", c.id, c.title, c.date)?;
                }
            }
            ServerMessage::Error { code, message } => eprintln!("server error {code:?}: {message}"),
            // Speech is saved by the recorder, not printed.
            ServerMessage::State { .. }
            | ServerMessage::TurnAck { .. }
            | ServerMessage::Sentence { .. }
            | ServerMessage::Audio { .. }
            | ServerMessage::LipSync { .. }
            | ServerMessage::AudioEnd { .. }
            | ServerMessage::Pong { .. }
            | ServerMessage::Pose { .. }
            | ServerMessage::Placed { .. }
            | ServerMessage::Voice { .. } => {}
            ServerMessage::Queued { behind, .. } => {
                writeln!(out, "[waiting: {behind} before you]")?
            }
            ServerMessage::Room {
                room, participants, ..
            } => {
                let names: Vec<&str> = participants.iter().map(|p| p.name.as_str()).collect();
                writeln!(out, "[room {room}: {}]", names.join(", "))?;
            }
            ServerMessage::UserTurn { name, text, .. } => writeln!(out, "{name}: {text}")?,
        }
        if interjection && self.mid_reply.get() {
            write!(out, "twin (goes on): ")?;
        }
        Ok(())
    }
}

pub fn run(args: ChatArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(chat(args))
}

/// Reads events until the reply to `turn_id` (or, with `None`, any reply) has ended and the twin listens again
/// (for a voice session, after its speech).
async fn until_reply_end(
    link: &mut Link,
    printer: &Printer,
    recorder: &mut Option<SpeechRecorder>,
    turn_id: Option<&str>,
) -> anyhow::Result<()> {
    let mut ours: Option<String> = None;
    let mut ended = false;
    loop {
        let message = match link.next().await {
            Ok(m) => m,
            Err(LinkError::Closed(reason)) => bail!(
                "the server closed the session{}",
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ),
            Err(e) => return Err(e.into()),
        };
        printer.show(&message)?;
        if let Some(recorder) = recorder.as_mut()
            && let Some(saved) = recorder.observe(&message)?
            && !printer.json
        {
            println!(
                "  [spoken: {} ({:.1} s, {} lip-sync frames; .lipsync.json and .png beside it)]",
                saved.wav.display(),
                saved.seconds,
                saved.frames
            );
        }
        match &message {
            ServerMessage::ReplyStart {
                reply_id,
                turn_id: t,
                ..
            } if turn_id.is_none() || t.as_deref() == turn_id => {
                ours = Some(reply_id.clone());
            }
            ServerMessage::ReplyEnd { reply_id, .. } if ours.as_deref() == Some(reply_id) => {
                ended = true;
            }
            ServerMessage::State {
                state: twin_protocol::TwinState::Listening,
            } if ended => return Ok(()),
            ServerMessage::Error { code, message } if code.is_fatal() => bail!("{message}"),
            ServerMessage::Error {
                code: twin_protocol::ErrorCode::LlmUnavailable,
                message,
            } => bail!("{message}"),
            _ => {}
        }
    }
}

async fn chat(args: ChatArgs) -> anyhow::Result<()> {
    // A file that can't be presented is an error before any session is opened.
    let mut pending = args.attach.as_deref().map(attachment).transpose()?;
    let printer = Printer::new(args.json);
    let hello = args.connect.hello(
        concat!("twin-chat/", env!("CARGO_PKG_VERSION")),
        args.speech
            .as_ref()
            .map(|_| twin_protocol::AudioRequest { lipsync: true }),
    );
    let mut recorder = args
        .speech
        .as_deref()
        .map(SpeechRecorder::new)
        .transpose()?;
    let mut link = Link::connect(&args.connect.endpoint(), hello).await?;
    let welcome = link.next().await.context("no welcome from the server")?;
    printer.show(&welcome)?;
    let resumed = match &welcome {
        ServerMessage::Welcome { resumed, .. } => *resumed,
        ServerMessage::Error { message, .. } => bail!("{message}"),
        other => bail!("expected a welcome, got {other:?}"),
    };
    if args.history {
        link.close().await;
        return Ok(());
    }
    if !resumed {
        // A new session opens with the twin saying what it is.
        until_reply_end(&mut link, &printer, &mut recorder, None).await?;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let mut turn = 0u32;
    let mut ask = async |link: &mut Link,
                         text: String,
                         attached: Option<twin_protocol::Attachment>|
           -> anyhow::Result<()> {
        turn += 1;
        let turn_id = format!("chat-{stamp}-{turn}");
        link.send(&ClientMessage::UserFinal {
            turn_id: turn_id.clone(),
            text,
            attachment: attached,
        })
        .await?;
        until_reply_end(link, &printer, &mut recorder, Some(&turn_id)).await
    };
    if let Some(question) = args.once {
        ask(&mut link, question, pending.take()).await?;
    } else {
        let stdin = std::io::stdin();
        loop {
            if !args.json {
                print!("you: ");
                std::io::stdout().flush()?;
            }
            let mut line = String::new();
            if stdin.lock().read_line(&mut line)? == 0 {
                break;
            }
            let line = line.trim();
            match line {
                "" => continue,
                "/quit" | "/exit" => break,
                _ if line.starts_with("/attach ") => {
                    let path = std::path::Path::new(line["/attach ".len()..].trim());
                    match attachment(path) {
                        Ok(a) => {
                            println!("{} is presented with your next question.", a.name);
                            pending = Some(a);
                        }
                        Err(e) => println!("{e:#}"),
                    }
                }
                _ => ask(&mut link, line.to_string(), pending.take()).await?,
            }
        }
    }
    link.close().await;
    Ok(())
}
