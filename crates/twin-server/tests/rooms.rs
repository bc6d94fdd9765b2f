//! Rooms over the real server on loopback (embedded LLM): three people in one room with the twin see who
//! joined, each other's turns attributed by name, and the same replies; the twin hears "Name: text" (the
//! stored history says who said what); the turn rule (a turn said while the twin answers someone else
//! waits, more words from someone waiting join their turn, and whoever cuts the twin off is answered at
//! once, the reply naming whom it answers); someone dropping and rejoining; poses and voice relayed to the
//! others only; the twin's spot on the room's floor marks kept and given to whoever comes in; a second room at the same time hears nothing of the first; tokens without the room are
//! refused.

mod common;
use common::Client;
use std::time::Duration;
use twin_protocol::{ClientMessage, Heard, Pose, ServerMessage, Speaker};

const ROOMS: &str = r#"
[[auth.tokens]]
name = "Dana"
token = "dana-token"
rooms = ["standup", "huddle", "retro", "sync"]
[[auth.tokens]]
name = "Eli"
token = "eli-token"
rooms = ["standup", "huddle", "retro", "sync"]
[[auth.tokens]]
name = "Fay"
token = "fay-token"
rooms = ["standup", "board", "huddle"]
[[auth.tokens]]
name = "Gus"
token = "gus-token"
rooms = ["board", "lobby"]
# Speech goes out as fast as it is made: the tests do not wait for the twin to finish talking in real time.
[tts]
lead_ms = 10000
"#;

/// One server for the tests of this file (each uses rooms of its own).
fn server() -> &'static str {
    static ADDR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ADDR.get_or_init(|| common::own_server(&common::demo_pack(), ROOMS))
}

async fn join(addr: &str, token: &str, room: &str) -> Client {
    join_as(addr, token, room, false, false).await
}

async fn join_as(addr: &str, token: &str, room: &str, audio: bool, remote: bool) -> Client {
    join_with(addr, token, room, audio, remote, None).await
}

async fn join_with(
    addr: &str,
    token: &str,
    room: &str,
    audio: bool,
    remote: bool,
    instance: Option<&str>,
) -> Client {
    Client::join_room(addr, token, room, audio, remote, instance).await
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

/// The next error `c` gets is `bad_message` (and the session goes on).
async fn refused(c: &mut Client) {
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
    let addr = server();
    // Who is there comes right after the welcome; the room's first opening is greeted (to the end).
    let mut dana = join(addr, "dana-token", "standup").await;
    let (dana_id, names) = roster(&mut dana).await;
    assert_eq!(names, ["Dana"]);
    listening(&mut dana).await;
    let mut eli = join(addr, "eli-token", "standup").await;
    let (eli_id, names) = roster(&mut eli).await;
    assert_eq!(names, ["Dana", "Eli"]);
    listening(&mut eli).await;
    assert_eq!(roster(&mut dana).await.1, ["Dana", "Eli"]);
    let mut fay = join(addr, "fay-token", "standup").await;
    let (_, names) = roster(&mut fay).await;
    assert_eq!(names, ["Dana", "Eli", "Fay"]);
    listening(&mut fay).await;
    for c in [&mut dana, &mut eli] {
        assert_eq!(roster(c).await.1, ["Dana", "Eli", "Fay"]);
    }
    // A second room at the same time, with its own twin conversation.
    let mut gus = join(addr, "gus-token", "board").await;
    assert_eq!(roster(&mut gus).await.1, ["Gus"]);
    listening(&mut gus).await;

    // Dana asks: the others see her turn by name, everyone hears the same answer, Dana under her own id.
    dana.send(&ClientMessage::UserFinal {
        turn_id: "q1".into(),
        text: "How many days a week do we come into the office?".into(),
        attachment: None,
        revises: None,
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

    // Turn rule: Dana asks; while the twin answers her, Eli asks and then adds something: he waits (told
    // so), Dana's answer is not cut, then one reply answers both his turns, turned to him.
    dana.send(&ClientMessage::UserFinal {
        turn_id: "q2".into(),
        text: "What did we gain by open-sourcing the simulator?".into(),
        attachment: None,
        revises: None,
    })
    .await;
    // Once Eli sees her turn, the twin is answering it.
    eli.until(|m| matches!(m, ServerMessage::UserTurn { .. }))
        .await;
    for (id, text) in [
        ("e2", "And what about the warehouse jobs?"),
        ("e3", "I mean the people who work there now."),
    ] {
        eli.send(&ClientMessage::UserFinal {
            turn_id: id.into(),
            text: text.into(),
            attachment: None,
            revises: None,
        })
        .await;
    }
    let (start, _) = dana
        .until(|m| matches!(m, ServerMessage::ReplyStart { turn_id: Some(t), .. } if t == "q2"))
        .await;
    assert!(
        matches!(&start, ServerMessage::ReplyStart { to: Some(p), .. } if *p == dana_id),
        "{start:?}"
    );
    for id in ["e2", "e3"] {
        let (queued, _) = eli
            .until(|m| matches!(m, ServerMessage::Queued { .. }))
            .await;
        assert_eq!(
            queued,
            ServerMessage::Queued {
                turn_id: id.into(),
                behind: 1
            }
        );
    }
    let (end, _) = dana
        .until(|m| matches!(m, ServerMessage::ReplyEnd { .. }))
        .await;
    assert!(
        matches!(
            end,
            ServerMessage::ReplyEnd {
                interrupted: false,
                ..
            }
        ),
        "a waiting turn does not cut the answer: {end:?}"
    );
    let (start, seen) = eli
        .until(|m| matches!(m, ServerMessage::ReplyStart { turn_id: Some(t), .. } if t == "e3"))
        .await;
    assert!(
        matches!(&start, ServerMessage::ReplyStart { to: Some(p), .. } if *p == eli_id),
        "{start:?}"
    );
    for id in ["e2", "e3"] {
        assert!(
            seen.iter()
                .any(|m| matches!(m, ServerMessage::TurnAck { turn_id, .. } if turn_id == id)),
            "{id} acknowledged when answered: {seen:?}"
        );
    }
    assert!(
        !seen
            .iter()
            .any(|m| matches!(m, ServerMessage::ReplyStart { turn_id: Some(t), .. } if t == "e2")),
        "one reply answers both of Eli's turns: {seen:?}"
    );
    let ServerMessage::ReplyStart { reply_id, .. } = start else {
        unreachable!()
    };
    for c in [&mut dana, &mut eli, &mut fay] {
        c.until(|m| matches!(m, ServerMessage::ReplyEnd { reply_id: r, .. } if *r == reply_id))
            .await;
        listening(c).await;
    }

    // Eli's client lost the link and sends e2 again: the reply to e3 answered it, so the server says so and
    // no reply follows (else his client would wait for one forever).
    eli.send(&ClientMessage::UserFinal {
        turn_id: "e2".into(),
        text: "said again".into(),
        attachment: None,
        revises: None,
    })
    .await;
    let (ack, _) = eli
        .until(|m| matches!(m, ServerMessage::TurnAck { .. }))
        .await;
    assert!(
        matches!(&ack, ServerMessage::TurnAck { turn_id, answered: true, .. } if turn_id == "e2"),
        "{ack:?}"
    );

    // Eli asks; while the twin answers, he cuts it off and asks something else: the answer ends interrupted
    // and his new turn is answered at once, turned to him (only the asker may cut a reply off).
    eli.send(&ClientMessage::UserFinal {
        turn_id: "e1".into(),
        text: "Why did we open-source the robot simulator?".into(),
        attachment: None,
        revises: None,
    })
    .await;
    let (start, _) = eli
        .until(|m| matches!(m, ServerMessage::ReplyStart { turn_id: Some(t), .. } if t == "e1"))
        .await;
    let ServerMessage::ReplyStart { reply_id, .. } = start else {
        unreachable!()
    };
    eli.send(&ClientMessage::Interrupted {
        reply_id,
        heard: Heard::Chars(0),
    })
    .await;
    eli.send(&ClientMessage::UserFinal {
        turn_id: "e4".into(),
        text: "Sorry, what about warehouse jobs?".into(),
        attachment: None,
        revises: None,
    })
    .await;
    // The person's own words leave at once, so the answer may be complete already: then its stored turn is
    // cut to what Eli heard, and a second `reply_end` says so.
    let (cut, _) = eli
        .until(|m| {
            matches!(
                m,
                ServerMessage::ReplyEnd {
                    interrupted: true,
                    ..
                }
            )
        })
        .await;
    assert!(matches!(cut, ServerMessage::ReplyEnd { .. }), "{cut:?}");
    let (_, seen) = reply_to(&mut eli, "e4").await;
    assert!(
        seen.iter()
            .any(|m| matches!(m, ServerMessage::ReplyStart { to: Some(p), .. } if *p == eli_id)),
        "{seen:?}"
    );

    // Eli drops out (the connection closes) and comes back: the others see both, and Eli gets the room's
    // history, each turn saying who spoke.
    drop(eli);
    let (_, names) = roster(&mut dana).await;
    assert_eq!(names, ["Dana", "Fay"]);
    let mut eli = join(addr, "eli-token", "standup").await;
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
    assert!(said.iter().any(|t| t.starts_with("Eli: Sorry")), "{said:?}");
    let (new_id, names) = roster(&mut eli).await;
    assert_ne!(
        new_id, eli_id,
        "a new connection without an instance is a new participant"
    );
    assert_eq!(names, ["Dana", "Eli", "Fay"]);
    assert_eq!(roster(&mut fay).await.1, ["Dana", "Fay"]);
    assert_eq!(roster(&mut fay).await.1, ["Dana", "Eli", "Fay"]);
}

#[tokio::test]
async fn a_room_needs_a_token_that_grants_it() {
    let addr = server();
    for (token, room) in [("gus-token", "standup"), ("tester-token-x", "standup")] {
        let mut c = join(addr, token, room).await;
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

fn pose(x: f32) -> Pose {
    Pose {
        position: [x, 1.6, 1.5],
        orientation: [0.0, 0.0, 0.0, 1.0],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poses_and_voices_reach_the_others_in_the_room_only() {
    let addr = server();
    let mut dana = join_as(addr, "dana-token", "huddle", true, false).await;
    roster(&mut dana).await;
    listening(&mut dana).await;
    // Eli joins from afar: he gets the first seat beside the twin.
    let mut eli = join_as(addr, "eli-token", "huddle", true, true).await;
    let (m, _) = eli.until(|m| matches!(m, ServerMessage::Room { .. })).await;
    let ServerMessage::Room {
        you: eli_id,
        participants,
        ..
    } = m
    else {
        unreachable!()
    };
    let me = participants.iter().find(|p| p.id == eli_id).unwrap();
    assert!(me.remote && me.seat == Some(0), "{participants:?}");
    assert!(
        participants
            .iter()
            .any(|p| p.name == "Dana" && !p.remote && p.seat.is_none())
    );
    let mut gus = join_as(addr, "gus-token", "lobby", true, false).await;
    listening(&mut gus).await;
    listening(&mut eli).await;

    // A second of Eli's head and hands at 30 Hz, and his voice in 20 ms chunks.
    for seq in 0..30u64 {
        eli.send(&ClientMessage::Pose {
            seq,
            head: pose(seq as f32 * 0.01),
            left: None,
            right: Some(pose(0.3)),
        })
        .await;
        if seq < 10 {
            eli.send(&ClientMessage::Voice {
                seq,
                sample_rate: 16_000,
                pcm16: twin_protocol::encode_pcm16(&[seq as i16; 320]),
            })
            .await;
        }
        tokio::time::sleep(Duration::from_millis(33)).await;
    }
    let got = quiet(&mut dana, Duration::from_millis(300)).await;
    let poses: Vec<(u64, f32)> = got
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Pose {
                participant,
                seq,
                head,
                right,
                ..
            } if *participant == eli_id && right.is_some() => Some((*seq, head.position[0])),
            _ => None,
        })
        .collect();
    assert_eq!(poses.len(), 30, "{got:?}");
    assert!(poses.windows(2).all(|w| w[0].0 < w[1].0), "in order");
    assert!((poses[29].1 - 0.29).abs() < 1e-6);
    let voices: Vec<u64> = got
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Voice {
                participant, seq, ..
            } if *participant == eli_id => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(voices, (0..10).collect::<Vec<_>>());
    // Not echoed to Eli, nothing in the other room.
    for c in [&mut eli, &mut gus] {
        let got = quiet(c, Duration::from_millis(200)).await;
        assert!(
            !got.iter()
                .any(|m| matches!(m, ServerMessage::Pose { .. } | ServerMessage::Voice { .. })),
            "{got:?}"
        );
    }

    // A broken pose is refused and the session goes on; a pose outside a room is refused too.
    eli.send(&ClientMessage::Pose {
        seq: 99,
        head: pose(500.0),
        left: None,
        right: None,
    })
    .await;
    refused(&mut eli).await;
    let mut alone = Client::hello(addr, common::TOKEN, None).await;
    alone.welcome().await;
    alone
        .send(&ClientMessage::Pose {
            seq: 1,
            head: pose(0.0),
            left: None,
            right: None,
        })
        .await;
    refused(&mut alone).await;

    // Colocated alignment: Dana places the twin relative to the room's floor marks; Eli hears it, and Fay,
    // coming in later, gets it before the room's roster. A spot far outside the room is refused.
    let spot = twin_protocol::SpotOnMarks {
        x: 0.5,
        z: 1.5,
        yaw: -0.4,
    };
    dana.send(&ClientMessage::Place { spot }).await;
    let (m, _) = eli
        .until(|m| matches!(m, ServerMessage::Placed { .. }))
        .await;
    assert!(
        matches!(m, ServerMessage::Placed { spot: s, .. } if s == spot),
        "{m:?}"
    );
    let mut fay = join_as(addr, "fay-token", "huddle", false, false).await;
    let (m, seen) = fay
        .until(|m| matches!(m, ServerMessage::Placed { .. }))
        .await;
    assert!(
        matches!(m, ServerMessage::Placed { spot: s, .. } if s == spot),
        "{m:?}"
    );
    assert!(!seen.iter().any(|m| matches!(m, ServerMessage::Room { .. })));
    roster(&mut fay).await;
    dana.send(&ClientMessage::Place {
        spot: twin_protocol::SpotOnMarks {
            x: 1e6,
            z: 0.0,
            yaw: 0.0,
        },
    })
    .await;
    refused(&mut dana).await;
    drop(fay);
    roster(&mut eli).await;

    // Leaving stops the relays at once: Dana leaves, Eli's poses go nowhere (the room is still open).
    drop(dana);
    roster(&mut eli).await;
    eli.send(&ClientMessage::Ping { nonce: 5 }).await;
    let (m, _) = eli.until(|m| matches!(m, ServerMessage::Pong { .. })).await;
    let ServerMessage::Pong { server_ms, .. } = m else {
        unreachable!()
    };
    let skew = server_ms as i64 - twin_protocol::wall_ms() as i64;
    assert!(skew.abs() < 1_000, "the server's clock: {skew} ms off");
}

fn final_turn(id: &str, text: &str) -> ClientMessage {
    ClientMessage::UserFinal {
        turn_id: id.into(),
        text: text.into(),
        attachment: None,
        revises: None,
    }
}

/// The next error `c` gets: its code and message.
async fn error_of(c: &mut Client) -> (twin_protocol::ErrorCode, String) {
    let (m, _) = c.until(|m| matches!(m, ServerMessage::Error { .. })).await;
    let ServerMessage::Error { code, message } = m else {
        unreachable!()
    };
    (code, message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_asker_cuts_a_reply_and_late_comers_hear_the_disclosure() {
    let addr = server();
    let mut dana = join(addr, "dana-token", "retro").await;
    roster(&mut dana).await;
    listening(&mut dana).await;
    // Eli comes in after the room's greeting: the disclosure comes to him alone.
    let mut eli = join(addr, "eli-token", "retro").await;
    let (end, seen) = eli
        .until(|m| matches!(m, ServerMessage::ReplyEnd { .. }))
        .await;
    assert!(
        seen.iter().any(|m| matches!(
            m,
            ServerMessage::ReplyStart {
                kind: twin_protocol::ReplyKind::Disclosure,
                ..
            }
        )),
        "{seen:?}"
    );
    let ServerMessage::ReplyEnd { text, .. } = end else {
        unreachable!()
    };
    assert!(text.contains("AI"), "{text}");
    listening(&mut eli).await;

    dana.send(&final_turn("q1", "Are we profitable yet?")).await;
    let (start, _) = eli
        .until(|m| {
            matches!(
                m,
                ServerMessage::ReplyStart {
                    turn_id: Some(_),
                    ..
                }
            )
        })
        .await;
    let ServerMessage::ReplyStart { reply_id, .. } = start else {
        unreachable!()
    };
    // Eli tries to cut off the answer to Dana, then names a reply that does not exist.
    let cut = |reply_id: &str| ClientMessage::Interrupted {
        reply_id: reply_id.into(),
        heard: twin_protocol::Heard::Chars(0),
    };
    eli.send(&cut(&reply_id)).await;
    let (code, message) = error_of(&mut eli).await;
    assert_eq!(code, twin_protocol::ErrorCode::BadMessage);
    assert!(message.contains("only the person"), "{message}");
    eli.send(&cut("r-made-up")).await;
    let (code, _) = error_of(&mut eli).await;
    assert_eq!(code, twin_protocol::ErrorCode::UnknownReply);

    // Dana's answer is whole, and she heard of none of it.
    let (text, seen) = reply_to(&mut dana, "q1").await;
    assert!(!text.is_empty());
    let later = quiet(&mut dana, Duration::from_millis(500)).await;
    for m in seen.iter().chain(&later) {
        assert!(!matches!(m, ServerMessage::Error { .. }), "{m:?}");
        assert!(
            !matches!(
                m,
                ServerMessage::ReplyEnd {
                    interrupted: true,
                    ..
                }
            ),
            "{m:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_who_comes_back_is_the_same_one_and_is_answered_once() {
    let addr = server();
    let mut dana = join_with(
        addr,
        "dana-token",
        "sync",
        false,
        false,
        Some("dana-laptop"),
    )
    .await;
    let (first_id, _) = roster(&mut dana).await;
    listening(&mut dana).await;
    dana.send(&final_turn("d1", "Who led our Series C?")).await;
    let (answer, _) = reply_to(&mut dana, "d1").await;
    assert!(!answer.is_empty());
    listening(&mut dana).await;
    drop(dana);

    // The same laptop comes back (a dropped connection) and resends the turn it never saw acknowledged.
    let mut again = join_with(
        addr,
        "dana-token",
        "sync",
        false,
        false,
        Some("dana-laptop"),
    )
    .await;
    let (id, _) = roster(&mut again).await;
    assert_eq!(id, first_id, "the same participant");
    listening(&mut again).await;
    again.send(&final_turn("d1", "Who led our Series C?")).await;
    let (ack, _) = again
        .until(|m| matches!(m, ServerMessage::TurnAck { .. }))
        .await;
    assert!(
        matches!(ack, ServerMessage::TurnAck { ref turn_id, .. } if turn_id == "d1"),
        "{ack:?}"
    );
    let after = quiet(&mut again, Duration::from_millis(1_500)).await;
    assert!(
        !after.iter().any(|m| matches!(
            m,
            ServerMessage::ReplyStart {
                turn_id: Some(_),
                ..
            }
        )),
        "answered once: {after:?}"
    );

    // Another device of the same person is another participant.
    let mut phone = join_with(addr, "dana-token", "sync", false, false, Some("dana-phone")).await;
    let (phone_id, _) = roster(&mut phone).await;
    assert_ne!(phone_id, first_id);
}
