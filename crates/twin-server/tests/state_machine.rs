//! State-machine property tests of sessions and rooms: random sequences of what clients may do (turns, interruptions
//! of the current reply or of one that does not exist, partials, pings, leaving and resuming) against the real
//! server, whose model is a scripted OpenAI-compatible server streaming the person's own sentences in small
//! pieces (so the generated path runs: sentence splitting, the claim check). After every step:
//! - the deltas of each reply add up to its `reply_end` text (a prefix of them when it was cut off);
//! - at most one reply is open at a time;
//! - nothing fatal: no fatal error, no close the client did not ask for.
//!
//! `TWIN_FUZZ_CASES` sets the number of sequences (default 6; each step is a real round trip).

mod common;

use common::{Client, TOKEN};
use proptest::prelude::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;
use twin_protocol::{ClientMessage, Heard, ServerMessage};
use twin_server::{AppState, Config};

/// What the scripted model says, in pieces: sentences of the pack, so the claim check keeps them.
const SCRIPT: &[&str] = &[
    "Robots should take ",
    "the walking, not ",
    "the job. ",
    "Safety beats ",
    "speed, every single time.",
];

/// An OpenAI-compatible server that answers every request with the script, streamed; returns its base URL.
fn scripted_model() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 16_384];
                let _ = s.read(&mut buf);
                let mut body = String::new();
                for piece in SCRIPT {
                    let event = serde_json::json!({"choices": [{"delta": {"content": piece}}]});
                    body.push_str(&format!("data: {event}\n\n"));
                }
                body.push_str("data: [DONE]\n\n");
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    base
}

/// Two people who may meet the twin in room "sm".
const ROOM_TOKENS: &str = "[[auth.tokens]]\nname = \"Dana\"\ntoken = \"dana-token\"\nrooms = [\"sm\"]\n\
                           [[auth.tokens]]\nname = \"Eli\"\ntoken = \"eli-token\"\nrooms = [\"sm\"]\n";

fn server() -> &'static str {
    static ADDR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ADDR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let llm = format!(
            "backend = \"openai\"\nmax_tokens = 64\n[llm.openai]\nbase_url = \"{}\"\nmodel = \"script\"",
            scripted_model()
        );
        let text =
            common::config_text_with(&dir.join("t.db"), &llm, &common::demo_pack(), ROOM_TOKENS);
        let config = Config::parse(&dir.join("s.toml"), &text).unwrap();
        common::start_in_background(AppState::load(config).unwrap())
    })
}

#[derive(Debug, Clone)]
enum Step {
    Ask(usize),
    CutCurrent(usize),
    CutMadeUp,
    Partial,
    Ping,
    LeaveAndResume,
}

const QUESTIONS: &[&str] = &[
    "What happens to warehouse jobs when our robots arrive?",
    "Are you Owen?",
    "Do we have your blessing to hire two engineers?",
    "Which football club do you support?",
    "What would you tell a team that wants to skip the final safety review?",
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..QUESTIONS.len()).prop_map(Step::Ask),
        2 => (0usize..200).prop_map(Step::CutCurrent),
        1 => Just(Step::CutMadeUp),
        1 => Just(Step::Partial),
        1 => Just(Step::Ping),
        1 => Just(Step::LeaveAndResume),
    ]
}

/// What the client has seen of the replies.
#[derive(Default)]
struct Seen {
    open: Option<String>,
    deltas: HashMap<String, String>,
    last: Option<String>,
}

impl Seen {
    fn check(&mut self, m: &ServerMessage) -> Result<(), String> {
        match m {
            ServerMessage::ReplyStart { reply_id, .. } => {
                if let Some(open) = &self.open {
                    return Err(format!("{reply_id} started while {open} was open"));
                }
                self.open = Some(reply_id.clone());
                self.last = Some(reply_id.clone());
                self.deltas.insert(reply_id.clone(), String::new());
            }
            // A reply whose start this client did not see (it came into a room mid-answer) is not checked.
            ServerMessage::ReplyDelta { reply_id, text } => {
                if let Some(sent) = self.deltas.get_mut(reply_id) {
                    sent.push_str(text);
                }
            }
            ServerMessage::ReplyEnd { reply_id, .. } if !self.deltas.contains_key(reply_id) => {}
            ServerMessage::ReplyEnd {
                reply_id,
                text,
                interrupted,
                ..
            } => {
                let sent = self.deltas.get(reply_id).cloned().unwrap_or_default();
                let holds = if *interrupted {
                    sent.starts_with(text.as_str())
                } else {
                    sent == *text
                };
                if !holds {
                    return Err(format!(
                        "{reply_id}: deltas {sent:?} against reply_end {text:?}"
                    ));
                }
                if self.open.as_deref() == Some(reply_id) {
                    self.open = None;
                }
            }
            ServerMessage::Error { code, message } if code.is_fatal() => {
                return Err(format!("fatal {code:?}: {message}"));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Reads, checking every message, until nothing more comes for a moment and no reply is open (a reply must
/// end within 20 s). A step's answer may begin after that moment: the next step then runs beside it.
async fn settle(c: &mut Client, seen: &mut Seen) -> Result<(), String> {
    loop {
        let wait = match seen.open {
            Some(_) => Duration::from_secs(20),
            None => Duration::from_millis(400),
        };
        match tokio::time::timeout(wait, c.next()).await {
            Err(_) if seen.open.is_none() => return Ok(()),
            Err(_) => return Err(format!("reply {:?} never ended", seen.open)),
            Ok(Err(code)) => return Err(format!("closed unasked ({code:?})")),
            Ok(Ok(m)) => seen.check(&m)?,
        }
    }
}

async fn run(steps: Vec<Step>) -> Result<(), String> {
    let addr = server();
    let mut c = Client::hello(addr, TOKEN, None).await;
    let mut seen = Seen::default();
    let (session, _) = c.welcome().await;
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            Step::Ask(q) => {
                c.send(&ClientMessage::UserFinal {
                    turn_id: format!("t{i}"),
                    text: QUESTIONS[q].into(),
                    attachment: None,
                    revises: None,
                })
                .await
            }
            Step::CutCurrent(chars) => {
                if let Some(reply_id) = seen.last.clone() {
                    c.send(&ClientMessage::Interrupted {
                        reply_id,
                        heard: Heard::Chars(chars),
                    })
                    .await
                }
            }
            Step::CutMadeUp => {
                c.send(&ClientMessage::Interrupted {
                    reply_id: "r-made-up".into(),
                    heard: Heard::Chars(0),
                })
                .await
            }
            Step::Partial => {
                c.send(&ClientMessage::UserPartial {
                    text: "I was thinking".into(),
                })
                .await
            }
            Step::Ping => c.send(&ClientMessage::Ping { nonce: i as u64 }).await,
            Step::LeaveAndResume => {
                c.send(&ClientMessage::Bye).await;
                c = Client::hello(addr, TOKEN, Some(&session)).await;
                seen.open = None;
            }
        }
        settle(&mut c, &mut seen).await?;
    }
    // Whatever is still coming ends well too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    settle(&mut c, &mut seen).await
}

fn cases() -> u32 {
    std::env::var("TWIN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(6, |n: u32| n.min(200))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 20,
        ..ProptestConfig::default()
    })]

    #[test]
    fn sessions_keep_their_invariants(steps in prop::collection::vec(step(), 1..8)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let outcome = rt.block_on(run(steps));
        prop_assert!(outcome.is_ok(), "{:?}", outcome);
    }
}

#[derive(Debug, Clone)]
enum RoomStep {
    /// Member 0 or 1 asks.
    Ask(usize, usize),
    /// Member 0 or 1 tries to cut off the reply they last saw (theirs or not).
    Cut(usize),
    Ping(usize),
    /// Member 0 or 1 drops and comes back as the same client.
    Rejoin(usize),
}

fn room_step() -> impl Strategy<Value = RoomStep> {
    prop_oneof![
        4 => (0usize..2, 0..QUESTIONS.len()).prop_map(|(m, q)| RoomStep::Ask(m, q)),
        2 => (0usize..2).prop_map(RoomStep::Cut),
        1 => (0usize..2).prop_map(RoomStep::Ping),
        1 => (0usize..2).prop_map(RoomStep::Rejoin),
    ]
}

const MEMBERS: [(&str, &str); 2] = [("dana-token", "dana-laptop"), ("eli-token", "eli-phone")];

async fn join(room: &str, member: usize) -> Client {
    let (token, instance) = MEMBERS[member];
    Client::join_room(server(), token, room, false, false, Some(instance)).await
}

async fn run_room(room: String, steps: Vec<RoomStep>) -> Result<(), String> {
    let mut members = [join(&room, 0).await, join(&room, 1).await];
    let mut seen = [Seen::default(), Seen::default()];
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            RoomStep::Ask(m, q) => {
                members[m]
                    .send(&ClientMessage::UserFinal {
                        turn_id: format!("t{i}"),
                        text: QUESTIONS[q].into(),
                        attachment: None,
                        revises: None,
                    })
                    .await
            }
            RoomStep::Cut(m) => {
                if let Some(reply_id) = seen[m].last.clone() {
                    members[m]
                        .send(&ClientMessage::Interrupted {
                            reply_id,
                            heard: Heard::Chars(0),
                        })
                        .await
                }
            }
            RoomStep::Ping(m) => {
                members[m]
                    .send(&ClientMessage::Ping { nonce: i as u64 })
                    .await
            }
            RoomStep::Rejoin(m) => {
                members[m].send(&ClientMessage::Bye).await;
                members[m] = join(&room, m).await;
                seen[m].open = None;
            }
        }
        for (c, s) in members.iter_mut().zip(seen.iter_mut()) {
            settle(c, s).await?;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (c, s) in members.iter_mut().zip(seen.iter_mut()) {
        settle(c, s).await?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 20,
        ..ProptestConfig::default()
    })]

    #[test]
    fn rooms_keep_their_invariants(steps in prop::collection::vec(room_step(), 1..8)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let outcome = rt.block_on(run_room("sm".to_string(), steps));
        prop_assert!(outcome.is_ok(), "{:?}", outcome);
    }
}
