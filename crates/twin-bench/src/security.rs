//! Security and faults: what TLS costs (its handshake, and what it adds to every message of a voice turn),
//! how many quiet sessions the server holds and at what memory, the attacks of issue 17 with the test that
//! shows each one held, and the property tests' time per target (`cargo xtask fuzz`, read from its log).

use crate::{Ws, next_message, percentile};
use anyhow::{Context, Result, bail};
use futures_util::SinkExt;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use twin_protocol::{ClientMessage, PROTOCOL_VERSION, ServerMessage, TwinState};

const TOKEN: &str = "bench";
/// Connections timed per scheme, and pings per session.
const HANDSHAKES: usize = 60;
const PINGS: usize = 200;
const IDLE: usize = 1_000;
const ACTIVE: usize = 100;

/// The attacks issue 17 names, and the test that shows each held.
const ATTACKS: &[(&str, &str)] = &[
    (
        "tokens and conversations in plaintext on the network",
        "twin-server tests/tls.rs; config: plaintext only on loopback or `plaintext = true`; tests/chat_cli.rs refuses ws:// off this machine",
    ),
    (
        "slowloris (headers a byte at a time)",
        "tests/limits.rs an_address_gets_its_share_of_connections_and_slow_headers_are_cut_off",
    ),
    (
        "many connections from one address",
        "tests/limits.rs (connections_per_ip)",
    ),
    (
        "guessing tokens (10,000 wrong ones)",
        "tests/limits.rs wrong_tokens_bar_the_address_for_the_rest_of_the_minute (429 after 10 a minute)",
    ),
    (
        "auth failures on /v1/audio/speech not counted",
        "tests/auth.rs each_token_reaches_only_its_personas_and_capabilities",
    ),
    (
        "a room member who stops reading freezes the room",
        "tests/limits.rs a_member_who_stops_reading_is_dropped_and_the_room_goes_on",
    ),
    (
        "emptying another person's stored reply with interrupted{chars:0}",
        "tests/rooms.rs only_the_asker_cuts_a_reply_and_late_comers_hear_the_disclosure",
    ),
    (
        "a made-up reply id jumps the queue",
        "tests/rooms.rs (same test: refused to the sender alone)",
    ),
    (
        "a stalled model server keeps the twin thinking forever",
        "tests/openai_backend.rs a_model_server_that_stalls_gets_an_answer_in_time_and_it_is_stored",
    ),
    (
        "the embedded model's unbounded queue",
        "twin-llm tests/queue.rs the_queue_is_bounded_and_abandoned_jobs_are_skipped",
    ),
    (
        "SIGTERM mid-reply drops the partial reply",
        "tests/durability.rs sigterm_mid_reply_stores_it_as_interrupted_and_says_when_to_come_back",
    ),
    (
        "/v1/audio/speech says any text in the person's voice",
        "tests/speech.rs the_persona_voice_always_begins_by_saying_it_is_an_ai; speech capability in tests/auth.rs",
    ),
    (
        "an empty or short token",
        "tests/auth.rs weak_or_duplicate_tokens_are_refused_at_start",
    ),
    (
        "any token reaches any persona",
        "tests/auth.rs each_token_reaches_only_its_personas_and_capabilities",
    ),
    (
        "glTF URIs to ../.., absolute paths, /dev/zero",
        "twin-avatar tests/gltf_limits.rs files_outside_the_avatars_folder_are_refused",
    ),
    (
        "glTF accessor arithmetic that wraps",
        "twin-avatar tests/gltf_limits.rs; twin-fuzz tests/gltf.rs",
    ),
    (
        "internal error text (model URL, upstream body, SQLite) to clients",
        "tests/openai_backend.rs, tests/voice_session.rs (no address in the message)",
    ),
    (
        "/metrics public",
        "tests/auth.rs (metrics capability; 401/403)",
    ),
    (
        "a room reconnect answered twice; participant ids colliding after a restart",
        "tests/rooms.rs a_participant_who_comes_back_is_the_same_one_and_is_answered_once",
    ),
    (
        "no disclosure on resume or for late joiners",
        "tests/rooms.rs only_the_asker_cuts_a_reply_and_late_comers_hear_the_disclosure; tests/session.rs a_resumed_session_hears_the_disclosure_again",
    ),
    (
        "too many sessions or turns from one token",
        "tests/limits.rs a_token_has_its_sessions_and_turns_a_minute",
    ),
    (
        "silent clients held forever",
        "tests/limits.rs silent_clients_are_pinged_then_closed",
    ),
];

/// A `twin-server` child process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `twin-server serve` with `config` and waits for its address.
pub fn start(server_bin: &Path, config: &Path) -> Result<Server> {
    let mut child = Command::new(server_bin)
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start twin-server")?;
    let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
    let addr = loop {
        let line = lines.next().context("twin-server exited")??;
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    Ok(Server { child, addr })
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Opens a session (`wss` with `tls`) and reads past the welcome and the disclosure.
async fn session(addr: &str, tls: Option<&std::sync::Arc<rustls::ClientConfig>>) -> Result<Ws> {
    let (scheme, connector) = match tls {
        Some(c) => ("wss", Some(tokio_tungstenite::Connector::Rustls(c.clone()))),
        None => ("ws", None),
    };
    let url = format!("{scheme}://{addr}/v1/session");
    let (mut ws, _) =
        tokio_tungstenite::connect_async_tls_with_config(url, None, true, connector).await?;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: TOKEN.into(),
        persona: None,
        session_id: None,
        client: Some("bench-security".into()),
        audio: None,
        room: None,
        remote: false,
        instance: None,
    };
    ws.send(WsMessage::Text(hello.encode().into())).await?;
    loop {
        match next_message(&mut ws).await? {
            ServerMessage::State {
                state: TwinState::Listening,
            } => return Ok(ws),
            ServerMessage::Error { message, .. } => bail!("{message}"),
            _ => {}
        }
    }
}

/// Milliseconds from connect to the twin listening, per session; and ping round trips on one session.
async fn timings(
    addr: &str,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut open = Vec::new();
    for _ in 0..HANDSHAKES {
        let started = Instant::now();
        let ws = session(addr, tls).await?;
        open.push(started.elapsed().as_secs_f64() * 1000.0);
        drop(ws);
    }
    let mut ws = session(addr, tls).await?;
    let mut rtt = Vec::new();
    for nonce in 0..PINGS as u64 {
        let started = Instant::now();
        ws.send(WsMessage::Text(
            ClientMessage::Ping { nonce }.encode().into(),
        ))
        .await?;
        loop {
            if let ServerMessage::Pong { nonce: n, .. } = next_message(&mut ws).await?
                && n == nonce
            {
                break;
            }
        }
        rtt.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((open, rtt))
}

pub async fn section(md: &mut String, server_bin: &Path, models: &Path, pack: &Path) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    let (pki, _) = twin_tls::make_demo_pki(&dir.path().join("tls"), &names)?;
    let client = twin_tls::client_config(Some(&pki.ca))?;
    let config = |name: &str, tls: bool| {
        let tls = tls.then_some((pki.cert.as_path(), pki.key.as_path()));
        write_config(dir.path(), name, tls, models, pack)
    };
    eprintln!("security: TLS against plaintext…");
    let plain = start(server_bin, &config("plain", false)?)?;
    let (plain_open, plain_rtt) = timings(&plain.addr, None).await?;
    drop(plain);
    let server = start(server_bin, &config("tls", true)?)?;
    let (tls_open, tls_rtt) = timings(&server.addr, Some(&client)).await?;
    let load = under_load(&server, &client).await?;
    drop(server);

    write_tls(md, [&plain_open, &tls_open], [&plain_rtt, &tls_rtt])?;
    write_load(md, &load)?;
    fuzz_table(md)?;
    writeln!(md, "| attack (issue 17) | held | shown by |\n|---|---|---|")?;
    for (attack, test) in ATTACKS {
        writeln!(md, "| {attack} | yes | {test} |")?;
    }
    md.push('\n');
    Ok(())
}

/// A server config in `dir` named `name`: the demo pack, embedded defaults, limits out of the way, and TLS
/// with `tls` (certificate, key) when given.
fn write_config(
    dir: &Path,
    name: &str,
    tls: Option<(&Path, &Path)>,
    models: &Path,
    pack: &Path,
) -> Result<std::path::PathBuf> {
    let path = dir.join(format!("{name}.toml"));
    let tls = match tls {
        Some((cert, key)) => format!(
            "[server.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            cert.display(),
            key.display()
        ),
        None => String::new(),
    };
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstore = \"{}\"\nmodels_dir = \"{}\"\npersonas = [\"{}\"]\n\
             {tls}[auth]\ndemo = true\n[[auth.tokens]]\nname = \"bench\"\ntoken = \"{TOKEN}\"\n\
             [llm]\nbackend = \"embedded\"\n\
             [limits]\nturns_per_minute = 1000000\nconnections_per_token = 100000\nconnections_per_ip = 100000\n",
            dir.join(format!("{name}.db")).display(),
            models.display(),
            pack.display(),
        ),
    )?;
    Ok(path)
}

/// The server holding many quiet TLS sessions while more ask at once.
struct Load {
    /// The server's memory before and after the quiet sessions opened, KiB.
    before: u64,
    after: u64,
    open_s: f64,
    answered: usize,
    active_s: f64,
    /// Each answered session's time to its first sentence, ms.
    first_ms: Vec<f64>,
    /// Quiet sessions that still answered a ping afterwards.
    alive: usize,
}

async fn under_load(
    server: &Server,
    client: &std::sync::Arc<rustls::ClientConfig>,
) -> Result<Load> {
    eprintln!("security: {IDLE} quiet sessions, then {ACTIVE} asking at once…");
    let pid = server.child.id();
    let before = rss_kib(pid).unwrap_or(0);
    let mut idle = Vec::with_capacity(IDLE);
    let opened = Instant::now();
    for _ in 0..IDLE {
        idle.push(session(&server.addr, Some(client)).await?);
    }
    let open_s = opened.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid).unwrap_or(0);
    let asked = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..ACTIVE {
        let addr = server.addr.clone();
        let client = client.clone();
        tasks.push(tokio::spawn(async move { ask(&addr, &client, i).await }));
    }
    let mut answered = 0;
    let mut first_ms = Vec::new();
    for t in tasks {
        if let Ok(Ok(ms)) = t.await {
            answered += 1;
            first_ms.push(ms);
        }
    }
    let active_s = asked.elapsed().as_secs_f64();
    // The quiet ones are all still there.
    let mut alive = 0;
    for ws in &mut idle {
        ws.send(WsMessage::Text(
            ClientMessage::Ping { nonce: 1 }.encode().into(),
        ))
        .await?;
        if matches!(
            tokio::time::timeout(Duration::from_secs(10), next_message(ws)).await,
            Ok(Ok(ServerMessage::Pong { .. }))
        ) {
            alive += 1;
        }
    }
    Ok(Load {
        before,
        after,
        open_s,
        answered,
        active_s,
        first_ms,
        alive,
    })
}

/// TLS's cost: session opening times and round trips, each `[plaintext, TLS]`.
fn write_tls(md: &mut String, open: [&[f64]; 2], rtt: [&[f64]; 2]) -> Result<()> {
    let [plain_open, tls_open] = open;
    let [plain_rtt, tls_rtt] = rtt;
    let p50 = |v: &[f64]| percentile(v, 50.0);
    writeln!(
        md,
        "## Security and faults (twin-server, embedded defaults, loopback)\n\n\
         TLS is rustls (ring), TLS 1.3, a P-256 certificate from a local CA; the bench's client and the server \
         share the 2 cores. Opening a session is connect, handshake, WebSocket upgrade, hello, welcome and the \
         opening disclosure, {HANDSHAKES} times each way; a round trip is a protocol `ping` answered by `pong` \
         on an open session, {PINGS} times.\n\n\
         | figure | plaintext (ws) p50 | TLS (wss) p50 | TLS adds |\n|---|---|---|---|\n\
         | opening a session | {:.2} ms | {:.2} ms | {:.2} ms |\n\
         | one round trip | {:.3} ms | {:.3} ms | {:.3} ms |\n",
        p50(plain_open),
        p50(tls_open),
        p50(tls_open) - p50(plain_open),
        p50(plain_rtt),
        p50(tls_rtt),
        p50(tls_rtt) - p50(plain_rtt),
    )?;
    let added = p50(tls_rtt) - p50(plain_rtt);
    writeln!(
        md,
        "A voice turn crosses the link once each way after the session is open (the user's turn in, the \
         twin's first audio out), so TLS adds about one round trip's difference to voice-to-voice latency: \
         **{:.3} ms** at p50 (target ≤ 5 ms: **{}**). The handshake is paid once per connection.\n",
        added,
        if added <= 5.0 { "met" } else { "not met" }
    )?;
    Ok(())
}

fn write_load(md: &mut String, load: &Load) -> Result<()> {
    let Load {
        before,
        after,
        open_s,
        answered,
        active_s,
        first_ms,
        alive,
    } = load;
    let p50 = |v: &[f64]| percentile(v, 50.0);
    let per_idle_kib = after.saturating_sub(*before) as f64 / IDLE as f64;
    writeln!(
        md,
        "{IDLE} quiet sessions over TLS opened in {open_s:.1} s and held: the server's memory grew from \
         {:.0} MiB to {:.0} MiB, **{per_idle_kib:.0} KiB per quiet session**; with them open, {ACTIVE} more \
         sessions each asked a question at once: {answered} of {ACTIVE} answered in {active_s:.1} s (first \
         sentence p50 {:.0} ms, p95 {:.0} ms); afterwards {alive} of {IDLE} quiet sessions still answered a ping.\n",
        *before as f64 / 1024.0,
        *after as f64 / 1024.0,
        p50(first_ms),
        percentile(first_ms, 95.0),
    )?;
    Ok(())
}

/// Inputs per property for the figures here (`cargo xtask fuzz` takes `--cases`).
const FUZZ_CASES: u32 = 100_000;

/// The property-test targets of crates/twin-fuzz.
const FUZZ_TARGETS: [&str; 6] = ["protocol", "gltf", "persona", "wav", "sse", "sentences"];

/// Runs each property-test target of crates/twin-fuzz (release) and tabulates the harness's time.
fn fuzz_table(md: &mut String) -> Result<()> {
    eprintln!("security: the property tests, {FUZZ_CASES} inputs per property…");
    writeln!(
        md,
        "Property tests (`crates/twin-fuzz`, proptest on stable Rust; inputs are valid seeds mutated: bytes \
         flipped, cut, repeated, spliced; plus noise), {FUZZ_CASES} inputs per property, release:\n\n\
         | target | properties | time | failures |\n|---|---|---|---|"
    )?;
    for target in FUZZ_TARGETS {
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["test", "--release", "-p", "twin-fuzz", "--test", target])
            .env("TWIN_FUZZ_CASES", FUZZ_CASES.to_string())
            .current_dir(crate::root())
            .output()
            .context("cannot run cargo test -p twin-fuzz")?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!("the {target} property test failed:\n{text}");
        }
        let result = text
            .lines()
            .find_map(|l| l.strip_prefix("test result: ok. "))
            .context("no test result")?;
        let passed = result.split(' ').next().unwrap_or("?");
        let time = result.split("finished in ").nth(1).unwrap_or("?");
        writeln!(md, "| {target} | {passed} | {time} | 0 |")?;
    }
    writeln!(
        md,
        "\nSessions and rooms as state machines: `crates/twin-server/tests/state_machine.rs` drives random \
         sequences of turns, interruptions (of the current reply, someone else's, made up), partials, pings, \
         leaving and resuming (in a room: two people, rejoining as the same client) against the server with \
         a scripted model, checking after every step, for every client, that each reply's deltas add up to \
         its `reply_end`, that one reply is open at a time and that nothing is fatal (6 sequences each in the \
         suite; `TWIN_FUZZ_CASES` for more).\n"
    )?;
    Ok(())
}

/// One session asks one question; milliseconds from the turn to its first sentence.
async fn ask(addr: &str, client: &std::sync::Arc<rustls::ClientConfig>, i: usize) -> Result<f64> {
    let mut ws = session(addr, Some(client)).await?;
    let turn = ClientMessage::UserFinal {
        turn_id: format!("a{i}"),
        text: "What is our office policy?".into(),
        attachment: None,
        revises: None,
    };
    let started = Instant::now();
    ws.send(WsMessage::Text(turn.encode().into())).await?;
    let mut first = None;
    loop {
        match next_message(&mut ws).await? {
            ServerMessage::Sentence { .. } if first.is_none() => {
                first = Some(started.elapsed().as_secs_f64() * 1000.0)
            }
            ServerMessage::ReplyEnd { .. } => break,
            ServerMessage::Error { message, .. } => bail!("{message}"),
            _ => {}
        }
    }
    let _ = ws.close(None).await;
    first.context("no sentence")
}
