//! Support for the room tests (`rooms.rs`, `room_presence.rs`): one server with the room tokens, joining,
//! reading the roster, the reply to a turn, and refusals.

use super::Client;
use std::time::Duration;
use twin_protocol::{ClientMessage, ServerMessage};

/// Rooms Dana and Eli may join: each test has rooms of its own (tests run at the same time on one server).
const DANA_AND_ELI: &[&str] = &[
    "standup",
    "huddle",
    "retro",
    "sync",
    "who",
    "by-name",
    "ack",
    "same",
    "apart",
    "waits",
    "joins",
    "turned",
    "again",
    "cut",
    "back",
    "new-id",
    "history",
    "seat",
    "relay",
    "echo",
    "bad-pose",
    "spot",
    "spot-late",
    "far",
    "clock",
];
/// Rooms Fay may join (Gus may join "board" and "lobby", none of the others').
const FAY: &[&str] = &[
    "standup",
    "board",
    "huddle",
    "who",
    "by-name",
    "ack",
    "same",
    "apart",
    "waits",
    "joins",
    "turned",
    "again",
    "cut",
    "back",
    "new-id",
    "history",
    "spot-late",
];

fn config() -> String {
    let list = |rooms: &[&str]| format!("{rooms:?}");
    format!(
        r#"
[[auth.tokens]]
name = "Dana"
token = "dana-token"
rooms = {dana}
[[auth.tokens]]
name = "Eli"
token = "eli-token"
rooms = {dana}
[[auth.tokens]]
name = "Fay"
token = "fay-token"
rooms = {fay}
[[auth.tokens]]
name = "Gus"
token = "gus-token"
rooms = ["board", "lobby"]
# Speech goes out as fast as it is made: the tests do not wait for the twin to finish talking in real time.
[tts]
lead_ms = 10000
"#,
        dana = list(DANA_AND_ELI),
        fay = list(FAY),
    )
}

/// One server for the tests of a file (each uses rooms of its own).
pub fn server() -> &'static str {
    static ADDR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ADDR.get_or_init(|| super::own_server(&super::demo_pack(), &config()))
}

pub async fn join(addr: &str, token: &str, room: &str) -> Client {
    join_as(addr, token, room, false, false).await
}

pub async fn join_as(addr: &str, token: &str, room: &str, audio: bool, remote: bool) -> Client {
    Client::join_room(addr, token, room, audio, remote, None).await
}

/// The room as this client last heard it: (its own id, the names present, sorted).
pub async fn roster(c: &mut Client) -> (String, Vec<String>) {
    let (m, _) = c.until(|m| matches!(m, ServerMessage::Room { .. })).await;
    let ServerMessage::Room {
        you, participants, ..
    } = m
    else {
        unreachable!()
    };
    let mut names: Vec<String> = participants.into_iter().map(|p| p.name).collect();
    names.sort();
    (you, names)
}

pub async fn listening(c: &mut Client) {
    c.until(|m| {
        matches!(
            m,
            ServerMessage::State {
                state: twin_protocol::TwinState::Listening
            }
        )
    })
    .await;
}

/// Reads until the reply to `turn_id` ends; returns its text and everything seen on the way.
pub async fn reply_to(c: &mut Client, turn_id: &str) -> (String, Vec<ServerMessage>) {
    let (start, mut seen) = c
        .until(|m| matches!(m, ServerMessage::ReplyStart { turn_id: Some(t), .. } if t == turn_id))
        .await;
    let ServerMessage::ReplyStart { reply_id, .. } = &start else {
        unreachable!()
    };
    let rid = reply_id.clone();
    let (end, more) = c
        .until(|m| matches!(m, ServerMessage::ReplyEnd { reply_id, .. } if *reply_id == rid))
        .await;
    seen.push(start);
    seen.extend(more);
    let ServerMessage::ReplyEnd { text, .. } = end else {
        unreachable!()
    };
    (text, seen)
}

/// The next error `c` gets is `bad_message` (and the session goes on).
pub async fn refused(c: &mut Client) {
    let (m, _) = c.until(|m| matches!(m, ServerMessage::Error { .. })).await;
    assert!(
        matches!(
            m,
            ServerMessage::Error {
                code: twin_protocol::ErrorCode::BadMessage,
                ..
            }
        ),
        "{m:?}"
    );
}

/// What arrives until nothing has for `for_` (to check that something does not come).
pub async fn quiet(c: &mut Client, for_: Duration) -> Vec<ServerMessage> {
    let mut got = Vec::new();
    while let Ok(Ok(m)) = tokio::time::timeout(for_, c.next()).await {
        got.push(m);
    }
    got
}

pub fn final_turn(id: &str, text: &str) -> ClientMessage {
    ClientMessage::UserFinal {
        turn_id: id.into(),
        text: text.into(),
        attachment: None,
        revises: None,
    }
}

/// The next error `c` gets: its code and message.
pub async fn error_of(c: &mut Client) -> (twin_protocol::ErrorCode, String) {
    let (m, _) = c.until(|m| matches!(m, ServerMessage::Error { .. })).await;
    let ServerMessage::Error { code, message } = m else {
        unreachable!()
    };
    (code, message)
}
