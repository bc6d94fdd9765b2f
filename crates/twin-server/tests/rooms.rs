//! Rooms over the real server on loopback (embedded LLM), one test a rule: three people in one room with the
//! twin see who joined, each other's turns attributed by name, and the same replies; the twin hears "Name:
//! text" (the stored history says who said what); the turn rule (a turn said while the twin answers someone
//! else waits, more words from someone waiting join their turn, whoever cuts the twin off is answered at
//! once, each reply naming whom it answers); someone dropping and rejoining; a second room at the same time
//! hears nothing of the first; tokens without the room are refused; only the asker cuts a reply off. Poses,
//! voices and the twin's spot are in `room_presence.rs`.

mod common;
use common::Client;
use common::rooms::{error_of, final_turn, join, listening, quiet, reply_to, roster, server};
use std::time::Duration;
use twin_protocol::{ClientMessage, Heard, HistoryTurn, ServerMessage, Speaker};

/// Dana, Eli and Fay in one room with the twin, listening.
struct Meeting {
    dana: Client,
    eli: Client,
    fay: Client,
    dana_id: String,
    eli_id: String,
    /// Each roster as someone heard it on the way in: (who heard it, the names in it).
    rosters: Vec<(&'static str, Vec<String>)>,
}

/// The shared fixture: Dana, then Eli, then Fay come into `room` (a room of the test's own); each, and
/// whoever was there before, reads who is there; the room's first opening is greeted (to the end).
async fn three_in_a_room(room: &str) -> Meeting {
    let addr = server();
    let mut rosters = Vec::new();
    let mut dana = join(addr, "dana-token", room).await;
    let (dana_id, names) = roster(&mut dana).await;
    rosters.push(("Dana", names));
    listening(&mut dana).await;
    let mut eli = join(addr, "eli-token", room).await;
    let (eli_id, names) = roster(&mut eli).await;
    rosters.push(("Eli", names));
    listening(&mut eli).await;
    rosters.push(("Dana", roster(&mut dana).await.1));
    let mut fay = join(addr, "fay-token", room).await;
    rosters.push(("Fay", roster(&mut fay).await.1));
    listening(&mut fay).await;
    rosters.push(("Dana", roster(&mut dana).await.1));
    rosters.push(("Eli", roster(&mut eli).await.1));
    Meeting {
        dana,
        eli,
        fay,
        dana_id,
        eli_id,
        rosters,
    }
}

/// What the room saw of Dana's question "q1".
struct Asked {
    /// The `user_turn` Eli got for it.
    turn: ServerMessage,
    /// What Dana saw up to the end of her answer.
    dana_saw: Vec<ServerMessage>,
    /// The answer as Dana, Eli and Fay heard it.
    answers: [String; 3],
}

/// Dana asks; each of the three reads the answer to its end, and the twin listens again.
async fn dana_asks(m: &mut Meeting) -> Asked {
    m.dana
        .send(&final_turn(
            "q1",
            "How many days a week do we come into the office?",
        ))
        .await;
    let (turn, _) = m
        .eli
        .until(|m| matches!(m, ServerMessage::UserTurn { .. }))
        .await;
    let ServerMessage::UserTurn { turn_id, .. } = &turn else {
        unreachable!()
    };
    let (to_dana, dana_saw) = reply_to(&mut m.dana, "q1").await;
    let (to_eli, _) = reply_to(&mut m.eli, turn_id).await;
    let (to_fay, _) = reply_to(&mut m.fay, turn_id).await;
    for c in [&mut m.dana, &mut m.eli, &mut m.fay] {
        listening(c).await;
    }
    Asked {
        turn,
        dana_saw,
        answers: [to_dana, to_eli, to_fay],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_in_the_room_sees_who_is_there() {
    let m = three_in_a_room("who").await;
    let names = |n: &[&str]| n.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    // Who is there comes right after the welcome, and again to everyone there when someone comes in.
    assert_eq!(
        m.rosters,
        [
            ("Dana", names(&["Dana"])),
            ("Eli", names(&["Dana", "Eli"])),
            ("Dana", names(&["Dana", "Eli"])),
            ("Fay", names(&["Dana", "Eli", "Fay"])),
            ("Dana", names(&["Dana", "Eli", "Fay"])),
            ("Eli", names(&["Dana", "Eli", "Fay"])),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_others_see_a_turn_under_the_speakers_name() {
    let mut m = three_in_a_room("by-name").await;
    let ServerMessage::UserTurn { name, text, .. } = dana_asks(&mut m).await.turn else {
        unreachable!()
    };
    assert_eq!(name, "Dana");
    assert!(text.starts_with("How many days"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_askers_turn_is_acknowledged() {
    let mut m = three_in_a_room("ack").await;
    let seen = dana_asks(&mut m).await.dana_saw;
    assert!(
        seen.iter()
            .any(|m| matches!(m, ServerMessage::TurnAck { turn_id, .. } if turn_id == "q1")),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_in_the_room_hears_the_twin_answer_the_asker() {
    let mut m = three_in_a_room("same").await;
    // Dana under her own turn id, the others under the room's: the same answer.
    let [to_dana, to_eli, to_fay] = dana_asks(&mut m).await.answers;
    assert!(!to_dana.is_empty());
    assert_eq!(to_dana, to_eli);
    assert_eq!(to_dana, to_fay);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_room_hears_nothing_of_the_first() {
    let mut m = three_in_a_room("apart").await;
    // A second room at the same time, with its own twin conversation.
    let mut gus = join(server(), "gus-token", "board").await;
    assert_eq!(roster(&mut gus).await.1, ["Gus"]);
    listening(&mut gus).await;
    dana_asks(&mut m).await;
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
}

/// What the room saw when Eli spoke twice while the twin answered Dana.
struct Waited {
    /// The `reply_start` of the answer to Dana, as she got it.
    to_dana: ServerMessage,
    /// The first two `queued` Eli got.
    queued: Vec<ServerMessage>,
    /// The first `reply_end` Dana got after the start of her answer.
    dana_end: ServerMessage,
    /// The `reply_start` of the answer to Eli's "e3", and what Eli saw before it (after his `queued`).
    to_eli: ServerMessage,
    eli_saw: Vec<ServerMessage>,
}

/// Dana asks "q2"; once Eli sees her turn (the twin is answering it), he asks "e2" and adds "e3". Everyone
/// reads the answer to Eli to its end, and the twin listens again.
async fn eli_speaks_while_the_twin_answers_dana(m: &mut Meeting) -> Waited {
    m.dana
        .send(&final_turn(
            "q2",
            "What did we gain by open-sourcing the simulator?",
        ))
        .await;
    m.eli
        .until(|m| matches!(m, ServerMessage::UserTurn { .. }))
        .await;
    m.eli
        .send(&final_turn("e2", "And what about the warehouse jobs?"))
        .await;
    m.eli
        .send(&final_turn("e3", "I mean the people who work there now."))
        .await;
    let (to_dana, _) = m
        .dana
        .until(|m| matches!(m, ServerMessage::ReplyStart { turn_id: Some(t), .. } if t == "q2"))
        .await;
    let mut queued = Vec::new();
    for _ in ["e2", "e3"] {
        let (q, _) = m
            .eli
            .until(|m| matches!(m, ServerMessage::Queued { .. }))
            .await;
        queued.push(q);
    }
    let (dana_end, _) = m
        .dana
        .until(|m| matches!(m, ServerMessage::ReplyEnd { .. }))
        .await;
    let (to_eli, eli_saw) = m
        .eli
        .until(|m| matches!(m, ServerMessage::ReplyStart { turn_id: Some(t), .. } if t == "e3"))
        .await;
    let ServerMessage::ReplyStart { reply_id, .. } = &to_eli else {
        unreachable!()
    };
    for c in [&mut m.dana, &mut m.eli, &mut m.fay] {
        c.until(|m| matches!(m, ServerMessage::ReplyEnd { reply_id: r, .. } if r == reply_id))
            .await;
        listening(c).await;
    }
    Waited {
        to_dana,
        queued,
        dana_end,
        to_eli,
        eli_saw,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_said_while_the_twin_answers_someone_else_waits() {
    let mut m = three_in_a_room("waits").await;
    let w = eli_speaks_while_the_twin_answers_dana(&mut m).await;
    // Eli is told each of his turns waits, and Dana's answer is not cut.
    for (queued, id) in w.queued.into_iter().zip(["e2", "e3"]) {
        assert_eq!(
            queued,
            ServerMessage::Queued {
                turn_id: id.into(),
                behind: 1
            }
        );
    }
    assert!(
        matches!(
            w.dana_end,
            ServerMessage::ReplyEnd {
                interrupted: false,
                ..
            }
        ),
        "a waiting turn does not cut the answer: {:?}",
        w.dana_end
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_words_from_someone_waiting_join_their_turn() {
    let mut m = three_in_a_room("joins").await;
    // One reply (to "e3", the last) answers both of Eli's turns; both are acknowledged when answered.
    let seen = eli_speaks_while_the_twin_answers_dana(&mut m).await.eli_saw;
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reply_names_whom_it_answers() {
    let mut m = three_in_a_room("turned").await;
    let w = eli_speaks_while_the_twin_answers_dana(&mut m).await;
    let (to_dana, to_eli) = (&w.to_dana, &w.to_eli);
    assert!(
        matches!(to_dana, ServerMessage::ReplyStart { to: Some(p), .. } if *p == m.dana_id),
        "{to_dana:?}"
    );
    assert!(
        matches!(to_eli, ServerMessage::ReplyStart { to: Some(p), .. } if *p == m.eli_id),
        "{to_eli:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_said_again_after_a_reply_answered_it_is_acknowledged_as_answered() {
    let mut m = three_in_a_room("again").await;
    eli_speaks_while_the_twin_answers_dana(&mut m).await;
    // Eli's client lost the link and sends e2 again: the reply to e3 answered it, so the server says so and
    // no reply follows (else his client would wait for one forever).
    m.eli.send(&final_turn("e2", "said again")).await;
    let (ack, _) = m
        .eli
        .until(|m| matches!(m, ServerMessage::TurnAck { .. }))
        .await;
    assert!(
        matches!(&ack, ServerMessage::TurnAck { turn_id, answered: true, .. } if turn_id == "e2"),
        "{ack:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoever_cuts_the_twin_off_is_answered_at_once() {
    // Dana and Fay stay in the room (only the asker may cut a reply off).
    let Meeting {
        mut eli,
        eli_id,
        dana: _dana,
        fay: _fay,
        ..
    } = three_in_a_room("cut").await;
    // Eli asks; while the twin answers, he cuts it off and asks something else: the answer ends interrupted
    // and his new turn is answered at once, turned to him.
    eli.send(&final_turn(
        "e1",
        "Why did we open-source the robot simulator?",
    ))
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
    eli.send(&final_turn("e4", "Sorry, what about warehouse jobs?"))
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
}

/// What the room saw when Eli dropped out and came back.
struct Rejoined {
    /// Who is there as Dana heard it once Eli dropped.
    dana_saw: Vec<String>,
    /// Eli's welcome on coming back: `resumed`, and the history.
    resumed: bool,
    history: Vec<HistoryTurn>,
    /// Eli's id before and after, and who is there as he heard it on coming back.
    ids: (String, String),
    eli_saw: Vec<String>,
    /// The two rosters Fay heard: Eli gone, Eli back.
    fay_saw: [Vec<String>; 2],
}

/// Eli's connection closes, and he comes into the room again (a new connection, no instance).
async fn eli_drops_and_comes_back(m: Meeting, room: &str) -> Rejoined {
    let Meeting {
        mut dana,
        eli,
        mut fay,
        eli_id,
        ..
    } = m;
    drop(eli);
    let (_, dana_saw) = roster(&mut dana).await;
    let mut eli = join(server(), "eli-token", room).await;
    let (welcome, _) = eli
        .until(|m| matches!(m, ServerMessage::Welcome { .. }))
        .await;
    let ServerMessage::Welcome {
        resumed, history, ..
    } = welcome
    else {
        unreachable!()
    };
    let (new_id, eli_saw) = roster(&mut eli).await;
    let fay_saw = [roster(&mut fay).await.1, roster(&mut fay).await.1];
    Rejoined {
        dana_saw,
        resumed,
        history,
        ids: (eli_id, new_id),
        eli_saw,
        fay_saw,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_others_see_someone_drop_out_and_come_back() {
    let r = eli_drops_and_comes_back(three_in_a_room("back").await, "back").await;
    assert_eq!(r.dana_saw, ["Dana", "Fay"]);
    assert_eq!(r.eli_saw, ["Dana", "Eli", "Fay"]);
    assert_eq!(r.fay_saw[0], ["Dana", "Fay"]);
    assert_eq!(r.fay_saw[1], ["Dana", "Eli", "Fay"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_without_an_instance_is_a_new_participant() {
    let r = eli_drops_and_comes_back(three_in_a_room("new-id").await, "new-id").await;
    let (old, new) = r.ids;
    assert_ne!(
        new, old,
        "a new connection without an instance is a new participant"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoever_comes_back_gets_the_rooms_history_each_turn_naming_its_speaker() {
    let mut m = three_in_a_room("history").await;
    dana_asks(&mut m).await;
    m.eli
        .send(&final_turn("e4", "Sorry, what about warehouse jobs?"))
        .await;
    reply_to(&mut m.eli, "e4").await;
    for c in [&mut m.dana, &mut m.eli, &mut m.fay] {
        listening(c).await;
    }
    let r = eli_drops_and_comes_back(m, "history").await;
    assert!(r.resumed, "the room's conversation goes on");
    let said: Vec<&str> = r
        .history
        .iter()
        .filter(|t| t.speaker == Speaker::User)
        .map(|t| t.text.as_str())
        .collect();
    assert!(
        said.iter().any(|t| t.starts_with("Dana: How many days")),
        "{said:?}"
    );
    assert!(said.iter().any(|t| t.starts_with("Eli: Sorry")), "{said:?}");
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
    let mut dana = Client::join_room(
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
    let mut again = Client::join_room(
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
    let mut phone =
        Client::join_room(addr, "dana-token", "sync", false, false, Some("dana-phone")).await;
    let (phone_id, _) = roster(&mut phone).await;
    assert_ne!(phone_id, first_id);
}
