//! A room's shared timeline, end to end: three `twin talk --room` clients against a real server on
//! loopback, one of them behind a link that holds every byte back 120 ms each way (a slow Wi-Fi). One
//! asks aloud; the twin's answer starts playing on all three within 50 ms of each other. Each client reports
//! `playback_started` (when its speaker played sample 0, from its actual pulls) on its estimate of the
//! server's clock and on the machine's own clock; all three run on this machine, so its clock is the truth
//! the test compares (an error in a client's estimate of the server's clock shows there). Without the
//! shared start the slow client would start at least 120 ms after the others.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::twin;

const TOKEN: &str = "room-token";
const DELAY: Duration = Duration::from_millis(120);

/// A TCP proxy to `to` that delivers every byte `DELAY` after it arrived, both ways. Returns its address.
fn slow_link(to: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(to) else {
                continue;
            };
            for (from, into) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                pump(from, into);
            }
        }
    });
    addr
}

fn pump(mut from: TcpStream, mut into: TcpStream) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for (at, bytes) in rx {
            std::thread::sleep((at + DELAY).saturating_duration_since(Instant::now()));
            if into.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = into.shutdown(std::net::Shutdown::Both);
    });
}

fn talk(url: &str, input: &Path, remote: bool) -> Child {
    twin()
        .arg("talk")
        .args(remote.then_some("--remote"))
        .args([
            "--json",
            "--no-speaker",
            "--seconds",
            "180",
            "--room",
            "meeting",
            "--token",
            TOKEN,
            "--url",
            url,
            "--input",
        ])
        .arg(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A running `twin talk --json`'s events up to the start of `reply`'s playback (or `limit`), then it is stopped.
fn until_played(
    listener: &mut Child,
    reply: &serde_json::Value,
    limit: Duration,
) -> Vec<serde_json::Value> {
    use std::io::BufRead;
    let stdout = listener.stdout.take().expect("piped");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let played = event["event"] == "playback_started" && &event["reply_id"] == reply;
        seen.push(event);
        if played {
            break;
        }
    }
    let _ = listener.kill();
    let _ = listener.wait();
    seen
}

fn events(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// One more participant, on the link itself, counting the voice chunks relayed from the remote one for
/// 15 seconds; whether they came from someone marked remote in the room.
fn hear_remote_voices(url: &str) -> std::thread::JoinHandle<(u32, bool)> {
    let audio = Some(twin_protocol::AudioRequest { lipsync: false });
    common::in_room(
        url,
        TOKEN,
        "meeting",
        "voice-counter",
        audio,
        false,
        |mut link| async move {
            let (mut chunks, mut remote_ids) = (0u32, Vec::new());
            let mut from_remote = true;
            let until = tokio::time::Instant::now() + Duration::from_secs(15);
            while let Ok(Ok(m)) = tokio::time::timeout_at(until, link.next()).await {
                match m {
                    twin_protocol::ServerMessage::Room { participants, .. } => {
                        remote_ids = participants
                            .into_iter()
                            .filter(|p| p.remote)
                            .map(|p| p.id)
                            .collect();
                    }
                    twin_protocol::ServerMessage::Voice { participant, .. } => {
                        chunks += 1;
                        from_remote &= remote_ids.contains(&participant);
                    }
                    _ => {}
                }
            }
            (chunks, from_remote)
        },
    )
}

#[test]
fn the_answer_starts_on_every_client_at_once() {
    let server = common::TestServer::start(TOKEN, 32);
    let dir = tempfile::tempdir().unwrap();
    let question = dir.path().join("question.wav");
    common::spoken_wav(
        &question,
        "What did we gain by open sourcing the simulator?",
    );
    let quiet = dir.path().join("quiet.wav");
    common::silence_wav(&quiet, 170);
    let server_addr: std::net::SocketAddr = server
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/v1/session")
        .parse()
        .unwrap();
    let slow_url = format!("ws://{}/v1/session", slow_link(server_addr));

    // The asker opens the room; two listen, one of them over the slow link.
    let asker = talk(&server.url, &question, false);
    // The one on the slow link is in from afar: the others hear them through the server.
    let mut listeners = [
        talk(&server.url, &quiet, false),
        talk(&slow_url, &quiet, true),
    ];
    let voices = hear_remote_voices(&server.url);
    let asked = asker.wait_with_output().unwrap();
    assert!(
        asked.status.success(),
        "{}",
        String::from_utf8_lossy(&asked.stderr)
    );
    let asked = events(&asked.stdout);
    let answer = asked
        .iter()
        .find(|e| e["type"] == "reply_start" && e["turn_id"].is_string())
        .unwrap_or_else(|| panic!("no answer: {asked:#?}"))["reply_id"]
        .clone();
    // Each listener, once it says it started playing the answer (or after 30 s: the test then names it).
    let heard: Vec<Vec<serde_json::Value>> = listeners
        .iter_mut()
        .map(|l| until_played(l, &answer, Duration::from_secs(30)))
        .collect();
    let started: Vec<i64> = std::iter::once(&asked)
        .chain(&heard)
        .map(|events| {
            events
                .iter()
                .find(|e| e["event"] == "playback_started" && e["reply_id"] == answer)
                .and_then(|e| e["wall_ms"].as_i64())
                .unwrap_or_else(|| panic!("the answer never played: {events:#?}"))
        })
        .collect();
    let (remote_voices, from_remote) = voices.join().unwrap();
    assert!(
        remote_voices > 50 && from_remote,
        "{remote_voices} voice chunks from the remote participant"
    );
    let skew = started.iter().max().unwrap() - started.iter().min().unwrap();
    eprintln!("the answer started at {started:?} (Unix ms): {skew} ms apart");
    assert!(skew <= 50, "{skew} ms apart: {started:?}");
}
