use crate::cli::connect::ConnectArgs;
use crate::cli::spoken::SpeechRecorder;
use anyhow::{Context, bail};
use std::io::{BufRead, Write};
use twin::conversation::review;
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

/// The REPL's commands, said once it is ready and again with `/help`. Conversations are private: the person
/// sees the questions only without names, unless the user shares the conversation or flags a reply. A room
/// is not shared by its members (the server's config says whether it is recorded).
fn help(first: &str, room: bool) -> String {
    let share = if room {
        String::new()
    } else {
        format!(
            "/share shares this conversation with {first} for review (/unshare takes it back), "
        )
    };
    format!(
        "Type a question, or: /flag [note] flags the twin's last reply for {first}'s review (\"that's not \
         right\"), {share}/attach FILE presents a plan with your next question, /quit leaves."
    )
}

/// What a line of the REPL asks for, besides a question.
#[derive(Debug, PartialEq)]
enum Command<'a> {
    Quit,
    Help,
    Attach(&'a str),
    Review(ClientMessage),
    /// A command that cannot be sent as typed: why.
    Refused(String),
}

/// The command `line` (trimmed) is, if it is one.
fn command(line: &str) -> Option<Command<'_>> {
    let (word, rest) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(w, r)| (w, r.trim()));
    Some(match word {
        "/quit" | "/exit" => Command::Quit,
        "/help" => Command::Help,
        "/attach" if !rest.is_empty() => Command::Attach(rest),
        "/share" | "/unshare" if !rest.is_empty() => {
            Command::Refused(format!("{word} takes nothing after it"))
        }
        "/share" => Command::Review(ClientMessage::Share { shared: true }),
        "/unshare" => Command::Review(ClientMessage::Share { shared: false }),
        "/flag" if rest.len() > twin_protocol::MAX_FLAG_NOTE_BYTES => Command::Refused(format!(
            "a flag's note is at most {} bytes; this one is {}",
            twin_protocol::MAX_FLAG_NOTE_BYTES,
            rest.len()
        )),
        "/flag" => Command::Review(ClientMessage::Flag {
            reply_id: None,
            note: (!rest.is_empty()).then(|| rest.to_string()),
        }),
        _ => return None,
    })
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
    /// The first name of the person the twin stands for, from the welcome.
    pub(crate) first: std::cell::RefCell<Option<String>>,
}

impl Printer {
    pub(crate) fn new(json: bool) -> Printer {
        Printer {
            json,
            mid_reply: std::cell::Cell::new(false),
            first: std::cell::RefCell::new(None),
        }
    }

    /// The person's first name, or "the person" before the welcome.
    pub(crate) fn first(&self) -> String {
        self.first
            .borrow()
            .clone()
            .unwrap_or_else(|| "the person".into())
    }

    /// Shows one server event; returns the id of a reply that just ended.
    pub(crate) fn show(&self, message: &ServerMessage) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        if let ServerMessage::Welcome { persona, .. } = message {
            *self.first.borrow_mut() = review::first_name(&persona.name).map(str::to_string);
        }
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
            ServerMessage::Noted { noted, .. } => writeln!(
                out,
                "{}",
                review::confirmation(*noted, self.first.borrow().as_deref())
            )?,
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
        let message = next_event(link).await?;
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

/// The server's next event; the session closing is an error naming why.
async fn next_event(link: &mut Link) -> anyhow::Result<ServerMessage> {
    match link.next().await {
        Ok(m) => Ok(m),
        Err(LinkError::Closed(reason)) => bail!(
            "the server closed the session{}",
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        ),
        Err(e) => Err(e.into()),
    }
}

/// Sends a share or flag and reads events until the server confirms it (`noted`, printed) or refuses it (an
/// error, printed; the conversation goes on).
async fn review_ask(link: &mut Link, printer: &Printer, ask: ClientMessage) -> anyhow::Result<()> {
    link.send(&ask).await?;
    loop {
        let message = next_event(link).await?;
        printer.show(&message)?;
        match &message {
            ServerMessage::Noted { .. } => return Ok(()),
            ServerMessage::Error { code, message } if code.is_fatal() => bail!("{message}"),
            // In a room a turn's error can come meanwhile (a room's other events are printed as they come).
            ServerMessage::Error {
                code:
                    twin_protocol::ErrorCode::UnknownReply
                    | twin_protocol::ErrorCode::BadMessage
                    | twin_protocol::ErrorCode::UnknownSession
                    | twin_protocol::ErrorCode::Internal,
                ..
            } => return Ok(()),
            _ => {}
        }
    }
}

async fn chat(args: ChatArgs) -> anyhow::Result<()> {
    // A file that can't be presented is an error before any session is opened.
    let mut pending = args.attach.as_deref().map(attachment).transpose()?;
    let printer = Printer::new(args.json);
    args.connect.target()?;
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
    let mut link = Link::connect(hello).await?;
    let welcome = link.next().await.context("no welcome from the server")?;
    printer.show(&welcome)?;
    let (resumed, room) = match &welcome {
        ServerMessage::Welcome {
            resumed,
            session_id,
            ..
        } => (*resumed, session_id.starts_with("room:")),
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
            revises: None,
        })
        .await?;
        until_reply_end(link, &printer, &mut recorder, Some(&turn_id)).await
    };
    if let Some(question) = args.once {
        ask(&mut link, question, pending.take()).await?;
    } else {
        if !args.json {
            println!("{}", help(&printer.first(), room));
        }
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
            if line.is_empty() {
                continue;
            }
            match command(line) {
                Some(Command::Quit) => break,
                Some(Command::Help) => println!("{}", help(&printer.first(), room)),
                Some(Command::Attach(path)) => match attachment(std::path::Path::new(path)) {
                    Ok(a) => {
                        println!("{} is presented with your next question.", a.name);
                        pending = Some(a);
                    }
                    Err(e) => println!("{e:#}"),
                },
                Some(Command::Review(message)) => review_ask(&mut link, &printer, message).await?,
                Some(Command::Refused(why)) => println!("{why}"),
                None => ask(&mut link, line.to_string(), pending.take()).await?,
            }
        }
    }
    link.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_commands_become_share_and_flag() {
        assert_eq!(
            command("/share"),
            Some(Command::Review(ClientMessage::Share { shared: true }))
        );
        assert_eq!(
            command("/unshare"),
            Some(Command::Review(ClientMessage::Share { shared: false }))
        );
        assert_eq!(
            command("/flag"),
            Some(Command::Review(ClientMessage::Flag {
                reply_id: None,
                note: None
            }))
        );
        assert_eq!(
            command("/flag   it's two days not three "),
            Some(Command::Review(ClientMessage::Flag {
                reply_id: None,
                note: Some("it's two days not three".into())
            }))
        );
        let long = format!(
            "/flag {}",
            "x".repeat(twin_protocol::MAX_FLAG_NOTE_BYTES + 1)
        );
        assert!(matches!(command(&long), Some(Command::Refused(_))));
        assert!(matches!(command("/share now"), Some(Command::Refused(_))));
        assert_eq!(command("/attach plan.md"), Some(Command::Attach("plan.md")));
        assert_eq!(command("/quit"), Some(Command::Quit));
        // Questions, and words that only start like a command, are questions.
        assert_eq!(command("What is the plan?"), None);
        assert_eq!(command("/flagged"), None);
        assert_eq!(command("/attach"), None);
    }
}
