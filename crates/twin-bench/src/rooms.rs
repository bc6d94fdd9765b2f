//! Rooms under load: how many people in how many rooms one server holds with the embedded defaults. Every
//! participant sends its head and hands 30 times a second; in every room one person talks (their voice in
//! 20 ms chunks). Measured: pose and voice relay latency (sent by one client → received by another, both in
//! this process, on one clock), what was lost, and the server's CPU. No turns are said: LLM calls are out of
//! these figures (each room's greeting is spoken before the window opens).

use crate::{Ws, next_message, percentile};
use anyhow::{Context, Result, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use twin_protocol::{ClientMessage, PROTOCOL_VERSION, Pose, ServerMessage};

/// (rooms, people per room) measured, smallest first.
const LOADS: [(usize, usize); 6] = [(1, 3), (1, 8), (4, 4), (10, 4), (20, 5), (40, 6)];
const WINDOW: Duration = Duration::from_secs(10);
/// Below this p95 pose relay, with nothing lost, a load is held.
const HELD_P95_MS: f64 = 50.0;

type Sent = Arc<Mutex<HashMap<(String, u64), Instant>>>;

#[derive(Default)]
struct Received {
    pose_ms: Vec<f64>,
    voice_ms: Vec<f64>,
}

struct Load {
    rooms: usize,
    people: usize,
    poses_sent: usize,
    voices_sent: usize,
    got: Received,
    /// Server CPU over the window, in % of one core.
    cpu: f64,
}

pub async fn section(md: &mut String, server_bin: &Path, models: &Path, pack: &Path) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let rooms: Vec<String> = (0..LOADS.iter().map(|(r, _)| r).sum::<usize>())
        .map(|i| format!("\"r{i}\""))
        .collect();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstore = \"{}\"\nmodels_dir = \"{}\"\npersonas = [\"{}\"]\n\
             [auth]\ndemo = true\n[[auth.tokens]]\nname = \"bench\"\ntoken = \"bench\"\nrooms = [{}]\n\
             [llm]\nbackend = \"embedded\"\n[tts]\nlead_ms = 10000\n\
             [limits]\nturns_per_minute = 1000000\nconnections_per_token = 100000\nconnections_per_ip = 100000\n",
            dir.path().join("bench.db").display(),
            models.display(),
            pack.display(),
            rooms.join(", ")
        ),
    )?;
    let mut child = Command::new(server_bin)
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start twin-server")?;
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
    let addr = loop {
        let line = lines.next().context("twin-server exited")??;
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    let mut first_room = 0;
    let mut loads = Vec::new();
    for (rooms, people) in LOADS {
        eprintln!("rooms: {rooms} × {people}…");
        let load = measure(&addr, pid, first_room, rooms, people).await;
        first_room += rooms;
        match load {
            Ok(l) => loads.push(l),
            Err(e) => {
                let _ = child.kill();
                return Err(e.context(format!("{rooms} rooms of {people}")));
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    writeln!(
        md,
        "## Rooms: pose and voice relay (twin-server, embedded defaults, loopback)\n\n\
         Every participant sends head and hands at 30 Hz; one person per room talks (20 ms voice chunks, \
         16 kHz). Relay latency is from one client's send to another's receipt (both in the bench process, \
         which shares the 2 cores with the server: the figures include the clients' own JSON work). No \
         turns, so no LLM calls; CPU is the server process over a {} s window, in % of one core. A load is \
         held when the pose relay p95 is under {HELD_P95_MS:.0} ms and nothing is lost.\n\n\
         | rooms × people | relayed poses/s | pose relay p50 | p95 | voice relay p50 | p95 | lost | server CPU | per participant | held |\n\
         |---|---|---|---|---|---|---|---|---|---|",
        WINDOW.as_secs()
    )?;
    for l in &loads {
        let expected_poses = l.poses_sent * (l.people - 1);
        let expected_voice = l.voices_sent * (l.people - 1);
        let lost = (expected_poses + expected_voice)
            .saturating_sub(l.got.pose_ms.len() + l.got.voice_ms.len());
        let p95 = percentile(&l.got.pose_ms, 95.0);
        writeln!(
            md,
            "| {} × {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {lost} of {} | {:.0} % | {:.2} % | {} |",
            l.rooms,
            l.people,
            l.got.pose_ms.len() as f64 / WINDOW.as_secs_f64(),
            percentile(&l.got.pose_ms, 50.0),
            p95,
            percentile(&l.got.voice_ms, 50.0),
            percentile(&l.got.voice_ms, 95.0),
            expected_poses + expected_voice,
            l.cpu,
            l.cpu / (l.rooms * l.people) as f64,
            if p95 < HELD_P95_MS && lost == 0 {
                "yes"
            } else {
                "no"
            },
        )?;
    }
    md.push('\n');
    Ok(())
}

/// Joins `room` and waits until the twin listens (its greeting spoken): returns the socket and own id.
async fn join(addr: &str, room: &str) -> Result<(Ws, String)> {
    // As the clients connect: Nagle's algorithm off.
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(format!("ws://{addr}/v1/session"), None, true)
            .await?;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: "bench".into(),
        persona: None,
        session_id: None,
        client: Some("bench-room".into()),
        audio: Some(twin_protocol::AudioRequest { lipsync: true }),
        room: Some(room.into()),
        remote: true,
        instance: None,
    };
    ws.send(WsMessage::Text(hello.encode().into())).await?;
    let mut me = None;
    loop {
        match next_message(&mut ws).await? {
            ServerMessage::Room { you, .. } => me = Some(you),
            ServerMessage::State {
                state: twin_protocol::TwinState::Listening,
            } if me.is_some() => break,
            ServerMessage::Error { message, .. } => bail!("{message}"),
            _ => {}
        }
    }
    Ok((ws, me.unwrap_or_default()))
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) close with ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

async fn measure(
    addr: &str,
    pid: u32,
    first_room: usize,
    rooms: usize,
    people: usize,
) -> Result<Load> {
    let mut joined = Vec::new();
    for r in 0..rooms {
        for p in 0..people {
            let (ws, me) = join(addr, &format!("r{}", first_room + r)).await?;
            joined.push((ws, me, p == 0));
        }
    }
    let sent: Sent = Arc::default();
    let got = Arc::new(Mutex::new(Received::default()));
    let counts = Arc::new(Mutex::new((0usize, 0usize)));
    let started = Instant::now();
    let end = tokio::time::Instant::now() + WINDOW;
    let ticks = cpu_ticks(pid);
    let mut tasks = Vec::new();
    for (ws, me, talks) in joined {
        let (tx, rx) = ws.split();
        let (sent_w, counts_w) = (sent.clone(), counts.clone());
        tasks.push(tokio::spawn(send_for_window(
            tx, me, talks, end, sent_w, counts_w,
        )));
        let (sent_r, got_r) = (sent.clone(), got.clone());
        tasks.push(tokio::spawn(receive_until(rx, end, sent_r, got_r)));
    }
    tokio::time::sleep_until(end).await;
    let window = started.elapsed().as_secs_f64();
    let ticks_after = cpu_ticks(pid);
    for t in tasks {
        let _ = t.await;
    }
    // Clock ticks are 100 a second on Linux.
    let cpu = match (ticks, ticks_after) {
        (Some(a), Some(b)) => (b - a) as f64 / 100.0 / window * 100.0,
        _ => f64::NAN,
    };
    let (poses_sent, voices_sent) = *lock(&counts);
    let got = std::mem::take(&mut *lock(&got));
    Ok(Load {
        rooms,
        people,
        poses_sent,
        voices_sent,
        got,
        cpu,
    })
}

/// One participant's sending until `end`: its pose 30 times a second and, when it `talks`, its voice every
/// 20 ms; each message's send time in `sent`, and (poses, voices) sent in `counts`.
async fn send_for_window(
    mut tx: SplitSink<Ws, WsMessage>,
    me: String,
    talks: bool,
    end: tokio::time::Instant,
    sent: Sent,
    counts: Arc<Mutex<(usize, usize)>>,
) {
    let mut poses = tokio::time::interval(Duration::from_micros(33_333));
    let mut voice = tokio::time::interval(Duration::from_millis(20));
    let chunk = twin_protocol::encode_pcm16(&[0; 320]);
    let (mut pose_seq, mut voice_seq) = (0u64, 0u64);
    let head = Pose {
        position: [0.4, 1.6, 1.3],
        orientation: [0.0, 0.0, 0.0, 1.0],
    };
    loop {
        let message = tokio::select! {
            _ = poses.tick() => {
                pose_seq += 1;
                ClientMessage::Pose { seq: pose_seq, head, left: Some(head), right: Some(head) }
            }
            _ = voice.tick(), if talks => {
                voice_seq += 1;
                ClientMessage::Voice { seq: voice_seq, sample_rate: 16_000, pcm16: chunk.clone() }
            }
            () = tokio::time::sleep_until(end) => break,
        };
        let key = match &message {
            ClientMessage::Pose { seq, .. } => (format!("{me}/p"), *seq),
            _ => (format!("{me}/v"), voice_seq),
        };
        lock(&sent).insert(key, Instant::now());
        if tx
            .send(WsMessage::Text(message.encode().into()))
            .await
            .is_err()
        {
            break;
        }
        let mut c = lock(&counts);
        if matches!(message, ClientMessage::Pose { .. }) {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
    }
    // What is still on its way arrives within the grace period of the readers.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = tx.close().await;
}

/// One participant's receiving until a second after `end`: each relayed pose's and voice chunk's latency
/// from its send time in `sent`.
async fn receive_until(
    mut rx: SplitStream<Ws>,
    end: tokio::time::Instant,
    sent: Sent,
    got: Arc<Mutex<Received>>,
) {
    let grace = end + Duration::from_secs(1);
    loop {
        let frame = tokio::select! {
            f = rx.next() => f,
            () = tokio::time::sleep_until(grace) => break,
        };
        let Some(Ok(WsMessage::Text(t))) = frame else {
            break;
        };
        let now = Instant::now();
        let key = match ServerMessage::decode(&t) {
            Ok(ServerMessage::Pose {
                participant, seq, ..
            }) => (format!("{participant}/p"), seq),
            Ok(ServerMessage::Voice {
                participant, seq, ..
            }) => (format!("{participant}/v"), seq),
            _ => continue,
        };
        let Some(at) = lock(&sent).get(&key).copied() else {
            continue;
        };
        let ms = (now - at).as_secs_f64() * 1000.0;
        let mut g = lock(&got);
        if key.0.ends_with("/p") {
            g.pose_ms.push(ms);
        } else {
            g.voice_ms.push(ms);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
