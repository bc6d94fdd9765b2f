//! `cargo xtask demo --room`: a meeting, three people with the twin in one room (one asks aloud in the best
//! client here, two type), written to out/room-transcript.txt with every turn attributed.

use crate::SetupArgs;
use crate::client::Client;
use crate::demo::{DEMO_TOKEN, build_for_demo};
use crate::process::{run, step};
use crate::server::start_server;
use crate::setup::Setup;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// Who meets the twin in `cargo xtask demo --room` (tokens of assets/config/demo.toml) and what they say.
const ROOM: &str = "standup";
const ROOM_SPOKEN: &str = "What is the plan for the warehouse robots next year?";
const ROOM_TYPED: &[(&str, &str, &str)] = &[
    (
        "Ana",
        "ana-token-change-me",
        "How many days do we need to come into the office now?",
    ),
    (
        "Ben",
        "ben-token-change-me",
        "Why did we give away our robot simulator for free?",
    ),
];

pub fn room_demo(root: &Path, args: &SetupArgs) -> Result<()> {
    let (s, bin) = build_for_demo(root, args)?;
    let twin = bin.join("twin");
    step("edge server (embedded defaults), room \"standup\" for the demo token, Ana and Ben");
    let out = root.join("out");
    std::fs::create_dir_all(&out)?;
    // A meeting of its own: an earlier run's room would go on where it stopped.
    let store = out.join("room.db");
    for f in ["room.db", "room.db-wal", "room.db-shm"] {
        let _ = std::fs::remove_file(out.join(f));
    }
    let server = start_server(
        &bin.join("twin-server"),
        &root.join("assets/config/demo.toml"),
        &store,
        &s.models_dir,
    )?;
    let url = format!("wss://{}/v1/session", server.addr);
    println!("twin-server on {}", server.addr);
    step("the meeting: you ask aloud, Ana and Ben type at the same moment (one waits its turn)");
    meet(&twin, &url, &s, &out)?;
    step("the room's transcript, as the server stored it");
    let transcript = stored_transcript(&twin, &url, &s)?;
    print!("{transcript}");
    let path = out.join("room-transcript.txt");
    std::fs::write(&path, &transcript)?;
    drop(server);
    println!(
        "\nThe meeting's transcript is in {}, each turn with its speaker; the conversation is stored in {} (session room:{ROOM}).",
        path.display(),
        store.display()
    );
    Ok(())
}

/// You ask ROOM_SPOKEN aloud in the best client here while Ana and Ben type theirs; waits for all three.
fn meet(twin: &Path, url: &str, s: &Setup, out: &Path) -> Result<()> {
    let question = out.join("room-question.wav");
    run(Command::new(twin)
        .args(["say", ROOM_SPOKEN, "--voice", "espeak:en-us", "--out"])
        .arg(&question))?;
    let client = Client::pick(twin);
    println!("you: {} ({})", client.name(), client.why);
    let voice = out.join("room-voice");
    let _ = std::fs::remove_dir_all(&voice);
    let mut you = client.asking(twin, &question, &voice, 240);
    you.args(["--url", url, "--token", DEMO_TOKEN, "--room", ROOM])
        .env("TWIN_CA", &s.ca)
        .env("TWIN_MODELS_DIR", &s.models_dir)
        .stdout(Stdio::piped());
    let mut you = you.spawn().context("cannot start your client")?;
    let yours = you.stdout.take().context("no stdout")?;
    let said_by_you = std::thread::spawn(move || {
        BufReader::new(yours)
            .lines()
            .map_while(Result::ok)
            .map(|l| format!("[you] {l}"))
            .inspect(|l| println!("{l}"))
            .count()
    });
    // The twin greets the room first: Ana and Ben come in while it does.
    std::thread::sleep(std::time::Duration::from_secs(3));
    type_along(twin, url, &s.ca)?;
    let status = you.wait()?;
    let _ = said_by_you.join();
    if !status.success() {
        bail!("your {} failed ({status})", client.name());
    }
    Ok(())
}

/// Ana and Ben each type their question with `twin chat --once`, both at once; prints what each saw.
fn type_along(twin: &Path, url: &str, ca: &Path) -> Result<()> {
    let typed: Vec<_> = ROOM_TYPED
        .iter()
        .map(|(name, token, text)| {
            let child = Command::new(twin)
                .args(["chat", "--url", url, "--token", token, "--room", ROOM])
                .args(["--once", text])
                .env("TWIN_CA", ca)
                .stdout(Stdio::piped())
                .spawn()
                .context("cannot start twin chat")?;
            Ok((*name, child))
        })
        .collect::<Result<_>>()?;
    for (name, mut c) in typed {
        let out = c.stdout.take().context("no stdout")?;
        for line in BufReader::new(out).lines() {
            println!("[{name}] {}", line?);
        }
        let status = c.wait()?;
        if !status.success() {
            bail!("{name}'s twin chat failed ({status})");
        }
    }
    Ok(())
}

/// The room's history as the server stored it, one "speaker: text" turn a line.
fn stored_transcript(twin: &Path, url: &str, s: &Setup) -> Result<String> {
    let history = Command::new(twin)
        .args(["chat", "--url", url, "--token", DEMO_TOKEN, "--room", ROOM])
        .arg("--history")
        .env("TWIN_CA", &s.ca)
        .output()?;
    if !history.status.success() {
        bail!(
            "reading the room's history failed: {}",
            String::from_utf8_lossy(&history.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&history.stdout)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('['))
        .filter_map(|l| l.split_once("] "))
        .map(|(_, turn)| format!("{turn}\n"))
        .collect())
}
