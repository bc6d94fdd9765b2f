//! Rooms over the real server on loopback (embedded LLM): three people in one room with the twin see who
//! joined, each other's turns attributed by name, and the same replies; the twin hears "Name: text" (the
//! stored history says who said what); a second participant's turn cuts a reply in progress; someone
//! dropping and rejoining; a second room at the same time hears nothing of the first; tokens without the
//! room are refused.

mod common;
use common::Client;
use std::time::Duration;
use twin_protocol::{ClientMessage, PROTOCOL_VERSION, ServerMessage, Speaker};

const ROOMS: &str = r#"
[[auth.tokens]]
name = "Dana"
token = "dana-token"
rooms = ["standup"]
[[auth.tokens]]
name = "Eli"
token = "eli-token"
rooms = ["standup"]
[[auth.tokens]]
name = "Fay"
token = "fay-token"
rooms = ["standup", "board"]
[[auth.tokens]]
name = "Gus"
token = "gus-token"
rooms = ["board"]
"#;

async fn join(addr: &str, token: &str, room: &str) -> Client {
    let mut c = Client::connect(addr).await;
    c.send(&ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: token.into(),
        persona: None,
        session_id: None,
        client: Some("room-test".into()),
        audio: None,
        room: Some(room.into()),
    })
    .await;
    c
}

/// The room as this client last heard it: (its own id, the names present, sorted).
async fn roster(c: &mut Client) -> (String, Vec<String>) {
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

async fn listening(c: &mut Client) {
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
async fn reply_to(c: &mut Client, turn_id: &str) -> (String, Vec<ServerMessage>) {
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

/// Nothing arrives for a while.
async fn quiet(c: &mut Client, for_: Duration) -> Vec<ServerMessage> {
    let mut got = Vec::new();
    while let Ok(Ok(m)) = tokio::time::timeout(for_, c.next()).await {
        got.push(m);
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_people_meet_the_twin_and_a_second_room_hears_nothing() {
    let addr = common::own_server(&common::demo_pack(), ROOMS);
    // Who is there comes right after the welcome; the room's first opening is greeted (to the end).
    let mut dana = join(&addr, "dana-token", "standup").await;
    assert_eq!(roster(&mut dana).await.1, ["Dana"]);
    listening(&mut dana).await;
    let mut eli = join(&addr, "eli-token", "standup").await;
    let (eli_id, names) = roster(&mut eli).await;
    assert_eq!(names, ["Dana", "Eli"]);
    listening(&mut eli).await;
    assert_eq!(roster(&mut dana).await.1, ["Dana", "Eli"]);
    let mut fay = join(&addr, "fay-token", "standup").await;
    assert_eq!(roster(&mut fay).await.1, ["Dana", "Eli", "Fay"]);
    listening(&mut fay).await;
    for c in [&mut dana, &mut eli] {
        assert_eq!(roster(c).await.1, ["Dana", "Eli", "Fay"]);
    }
    // A second room at the same time, with its own twin conversation.
    let mut gus = join(&addr, "gus-token", "board").await;
    assert_eq!(roster(&mut gus).await.1, ["Gus"]);
    listening(&mut gus).await;

    // Dana asks: the others see her turn by name, everyone hears the same answer, Dana under her own id.
    dana.send(&ClientMessage::UserFinal {
        turn_id: "q1".into(),
        text: "How many days a week do we come into the office?".into(),
    })
    .await;
    let (m, _) = eli
        .until(|m| matches!(m, ServerMessage::UserTurn { .. }))
        .await;
    let ServerMessage::UserTurn {
        turn_id: room_turn,
        name,
        text,
        ..
    } = m
    else {
        unreachable!()
    };
    assert_eq!(name, "Dana");
    assert!(text.starts_with("How many days"), "{text}");
    let (to_dana, seen) = reply_to(&mut dana, "q1").await;
    assert!(
        seen.iter()
            .any(|m| matches!(m, ServerMessage::TurnAck { turn_id, .. } if turn_id == "q1")),
        "{seen:?}"
    );
    let (to_eli, _) = reply_to(&mut eli, &room_turn).await;
    let (to_fay, _) = reply_to(&mut fay, &room_turn).await;
    assert!(!to_dana.is_empty());
    assert_eq!(to_dana, to_eli);
    assert_eq!(to_dana, to_fay);
    for c in [&mut dana, &mut eli, &mut fay] {
        listening(c).await;
    }

    // Nothing of it reached the other room.
    let leaked = quiet(&mut gus, Duration::from_millis(500)).await;
    assert!(
        !leaked.iter().any(|m| matches!(
            m,
            ServerMessage::UserTurn { .. }
                | ServerMessage::ReplyStart { .. }
                | ServerMessage::ReplyDelta { .. }
                | ServerMessage::Room { .. }
        )),
        "{leaked:?}"
    );

    // Eli asks; while the twin answers, Fay asks too: Fay's turn cuts Eli's answer, and Fay's is answered.
    eli.send(&ClientMessage::UserFinal {
        turn_id: "e1".into(),
        text: "Why did we open-source the robot simulator?".into(),
    })
    .await;
    eli.until(|m| matches!(m, ServerMessage::ReplyStart { turn_id: Some(t), .. } if t == "e1"))
        .await;
    fay.send(&ClientMessage::UserFinal {
        turn_id: "f1".into(),
        text: "Sorry, what about warehouse jobs?".into(),
    })
    .await;
    let (cut, _) = eli
        .until(|m| matches!(m, ServerMessage::ReplyEnd { .. }))
        .await;
    assert!(
        matches!(
            cut,
            ServerMessage::ReplyEnd {
                interrupted: true,
                ..
            }
        ),
        "{cut:?}"
    );
    reply_to(&mut fay, "f1").await;

    // Eli drops out (the connection closes) and comes back: the others see both, and Eli gets the room's
    // history, each turn saying who spoke.
    drop(eli);
    let (_, names) = roster(&mut dana).await;
    assert_eq!(names, ["Dana", "Fay"]);
    let mut eli = join(&addr, "eli-token", "standup").await;
    let (m, _) = eli
        .until(|m| matches!(m, ServerMessage::Welcome { .. }))
        .await;
    let ServerMessage::Welcome {
        resumed, history, ..
    } = m
    else {
        unreachable!()
    };
    assert!(resumed, "the room's conversation goes on");
    let said: Vec<&str> = history
        .iter()
        .filter(|t| t.speaker == Speaker::User)
        .map(|t| t.text.as_str())
        .collect();
    assert!(
        said.iter().any(|t| t.starts_with("Dana: How many days")),
        "{said:?}"
    );
    assert!(said.iter().any(|t| t.starts_with("Fay: Sorry")), "{said:?}");
    let (new_id, names) = roster(&mut eli).await;
    assert_ne!(new_id, eli_id, "a new connection is a new participant");
    assert_eq!(names, ["Dana", "Eli", "Fay"]);
    assert_eq!(roster(&mut fay).await.1, ["Dana", "Fay"]);
    assert_eq!(roster(&mut fay).await.1, ["Dana", "Eli", "Fay"]);
}

#[tokio::test]
async fn a_room_needs_a_token_that_grants_it() {
    let addr = common::own_server(&common::demo_pack(), ROOMS);
    for (token, room) in [("gus-token", "standup"), ("tester-token-x", "standup")] {
        let mut c = join(&addr, token, room).await;
        let m = c.next().await;
        assert!(
            matches!(
                &m,
                Ok(ServerMessage::Error {
                    code: twin_protocol::ErrorCode::Unauthorized,
                    ..
                })
            ),
            "{token}: {m:?}"
        );
    }
}
