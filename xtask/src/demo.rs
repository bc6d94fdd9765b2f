//! `cargo xtask demo`: the edge server on the demo config, a typed conversation with the twin, a question asked
//! aloud through speech in, and the twin's spoken replies rendered. The build is shared with `demo --room`.

use crate::SetupArgs;
use crate::client::Client;
use crate::process::{cargo, run, step, target_dir};
use crate::server::start_server;
use crate::setup::{Setup, setup};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const DEMO_TOKEN: &str = "demo-token-change-me";
/// The demo config's token for the review console (`capabilities = ["review"]`).
const DEMO_REVIEW_TOKEN: &str = "owen-review-token-change-me";
/// Asked aloud after the typed ones, through speech in.
const DEMO_SPOKEN_QUESTION: &str = "What is the plan for the warehouse robots next year?";

const DEMO_QUESTIONS: &[&str] = &[
    "Hi Owen, is this really you?",
    "How many days do I need to come into the office now?",
    "Why did we give away our robot simulator for free?",
    "What happens to warehouse jobs when our robots arrive?",
    "Can you approve two more engineers for my team?",
    "Which football club do you support?",
];

/// Setup and the build the demos run: the same as `cargo xtask test` (whole workspace, tests included), so the
/// two share every artifact (feature unification differs between a partial and a whole-workspace build).
pub fn build_for_demo(root: &Path, args: &SetupArgs) -> Result<(Setup, PathBuf)> {
    let s = setup(root, args)?;
    step("build");
    run(cargo().args(["test", "--workspace", "--no-run"]))?;
    Ok((s, target_dir(root).join("debug")))
}

pub fn demo(root: &Path, args: &SetupArgs) -> Result<()> {
    let (s, bin) = build_for_demo(root, args)?;
    let twin = bin.join("twin");
    step("edge server (embedded LLM and embeddings, demo persona Owen Marsh)");
    let out = root.join("out");
    std::fs::create_dir_all(&out)?;
    let server = start_server(
        &bin.join("twin-server"),
        &root.join("assets/config/demo.toml"),
        &out.join("demo.db"),
        &s.models_dir,
    )?;
    println!("twin-server on {}", server.addr);
    let url = format!("wss://{}/v1/session", server.addr);
    step("conversation (spoken replies saved as WAV, lip-sync track and plot)");
    let speech = out.join("demo-speech");
    // Replies of an earlier run would mix with this one's.
    let _ = std::fs::remove_dir_all(&speech);
    let (session, mut transcript) = converse(&twin, &url, &s, &speech)?;
    step(
        "a spoken question (espeak-ng's voice in a WAV) through speech in on the device: echo canceller, VAD, Whisper; the twin answers aloud",
    );
    let voice = out.join("demo-voice");
    let question = out.join("question.wav");
    let spoken = Spoken {
        question: &question,
        voice: &voice,
        session: session.as_deref(),
    };
    ask_aloud(&twin, &url, &s, &spoken, &mut transcript)?;
    std::fs::write(out.join("transcript.txt"), &transcript)?;
    drop(server);
    step(
        "the twin speaking its replies, rendered (Vulkan; lavapipe on the CPU where there is no GPU)",
    );
    let avatar = s.models_dir.join("avatars/owen-marsh.glb");
    let replies = render_replies(&twin, &avatar, &speech, &voice)?;
    closing_words(&out, &speech, &voice, &question, &replies);
    Ok(())
}

/// Types DEMO_QUESTIONS into `twin chat`, one after each answer; returns the session's id and what was said.
fn converse(twin: &Path, url: &str, s: &Setup, speech: &Path) -> Result<(Option<String>, String)> {
    let mut chat = Command::new(twin)
        .args(["chat", "--url", url, "--token", DEMO_TOKEN, "--speech"])
        .arg(speech)
        .env("TWIN_CA", &s.ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = chat.stdin.take().context("no stdin")?;
    let stdout = chat.stdout.take().context("no stdout")?;
    // Ask one question at a time, after the previous answer printed, like a person at the keyboard.
    let mut reader = BufReader::new(stdout);
    let mut questions = DEMO_QUESTIONS.iter();
    // The spoken question goes on the same session.
    let mut session: Option<String> = None;
    let mut buf = Vec::new();
    // What was said, typed and spoken, for out/transcript.txt.
    let mut transcript = String::new();
    loop {
        buf.clear();
        // The prompt "you: " has no newline: read up to it or a newline, whichever comes first.
        let n = read_until_prompt(&mut reader, &mut buf)?;
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buf);
        print!("{text}");
        transcript.push_str(&text);
        if let Some(id) = text.trim().strip_prefix("session ") {
            session = Some(id.to_string());
        }
        if text.ends_with("you: ") {
            match questions.next() {
                Some(q) => {
                    println!("{q}");
                    transcript.push_str(q);
                    transcript.push('\n');
                    writeln!(stdin, "{q}")?;
                }
                None => {
                    println!();
                    drop(stdin);
                    break;
                }
            }
        }
        std::io::stdout().flush()?;
    }
    let status = chat.wait()?;
    if !status.success() {
        bail!("twin chat failed ({status})");
    }
    Ok((session, transcript))
}

/// The spoken question: the WAV it is said into, where the replies to it go, and the session it continues.
struct Spoken<'a> {
    question: &'a Path,
    voice: &'a Path,
    session: Option<&'a str>,
}

/// Says DEMO_SPOKEN_QUESTION into a WAV and asks it in the best client here; its output joins the transcript.
fn ask_aloud(
    twin: &Path,
    url: &str,
    s: &Setup,
    spoken: &Spoken,
    transcript: &mut String,
) -> Result<()> {
    let _ = std::fs::remove_dir_all(spoken.voice);
    run(Command::new(twin)
        .args([
            "say",
            DEMO_SPOKEN_QUESTION,
            "--voice",
            "espeak:en-us",
            "--out",
        ])
        .arg(spoken.question))?;
    let client = Client::pick(twin);
    println!("client: {} ({})", client.name(), client.why);
    let mut ask = client.asking(twin, spoken.question, spoken.voice, 120);
    ask.args(["--url", url, "--token", DEMO_TOKEN])
        .args(spoken.session.iter().flat_map(|id| ["--session", id]))
        .env("TWIN_CA", &s.ca)
        .env("TWIN_MODELS_DIR", &s.models_dir)
        .stdout(Stdio::piped());
    let mut asking = ask
        .spawn()
        .with_context(|| format!("cannot start {ask:?}"))?;
    transcript.push_str(&format!("\n[spoken, in {}]\n", client.name()));
    for line in BufReader::new(asking.stdout.take().context("no stdout")?).lines() {
        let line = line?;
        println!("{line}");
        transcript.push_str(&line);
        transcript.push('\n');
    }
    let status = asking.wait()?;
    if !status.success() {
        bail!("the spoken question in {} failed ({status})", client.name());
    }
    Ok(())
}

/// Renders every spoken reply (typed questions' in `speech`, the spoken one's in `voice`) with `twin render`;
/// returns the replies' WAVs, sorted.
fn render_replies(twin: &Path, avatar: &Path, speech: &Path, voice: &Path) -> Result<Vec<PathBuf>> {
    let mut replies: Vec<PathBuf> = std::fs::read_dir(speech)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    // The answer to the spoken question (saved where it was not seen live).
    replies.extend(
        std::fs::read_dir(voice)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "wav")),
    );
    replies.sort();
    for wav in &replies {
        let stem = wav.with_extension("");
        run(Command::new(twin)
            .args([
                "render", "--fps", "25", "--width", "360", "--height", "480", "--avatar",
            ])
            .arg(avatar)
            .arg("--lipsync")
            .arg(stem.with_extension("lipsync.json"))
            .arg("--audio")
            .arg(wav)
            .arg("--out")
            .arg(stem.with_extension("frames")))?;
    }
    Ok(replies)
}

/// Where everything the demo made is, and what to try next.
fn closing_words(out: &Path, speech: &Path, voice: &Path, question: &Path, replies: &[PathBuf]) {
    println!(
        "\nThe transcript is in {}; the conversation is stored in {}; the twin's spoken replies are in {} (typed questions) and {} (the spoken one, {}): WAV, lip-sync track, plot, and the rendered frames (an MP4 too where ffmpeg is installed).",
        out.join("transcript.txt").display(),
        out.join("demo.db").display(),
        speech.display(),
        voice.display(),
        question.display()
    );
    println!(
        "The person the twin stands for reviews what it said, corrects it and tries it at \
         https://localhost:7878/console while `cargo run -p twin-server -- serve --config assets/config/demo.toml` \
         runs (review token {DEMO_REVIEW_TOKEN}; docs/review.md)."
    );
    if let Some(first) = replies.first() {
        println!(
            "Watch the first in a window: cargo run -p twin -- desktop --audio {} --lipsync {}",
            first.display(),
            first.with_extension("lipsync.json").display()
        );
    }
}

/// Reads one byte at a time up to a newline or the prompt "you: ", whichever comes first; 0 at the end.
fn read_until_prompt(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> Result<usize> {
    let mut byte = [0u8; 1];
    let mut n = 0;
    loop {
        match std::io::Read::read(reader, &mut byte)? {
            0 => return Ok(n),
            _ => {
                buf.push(byte[0]);
                n += 1;
                if byte[0] == b'\n' || buf.ends_with(b"you: ") {
                    return Ok(n);
                }
            }
        }
    }
}
