//! Presence in a room over the real server on loopback (embedded LLM), one test a rule: someone from afar
//! gets a seat beside the twin; poses and voice are relayed to the others in the room, in order, and to no
//! one else; poses and spots the server cannot use are refused; the twin's spot on the room's floor marks
//! reaches everyone and whoever comes in; the server's clock in a pong.

mod common;
use common::Client;
use common::rooms::{join_as, listening, quiet, refused, roster, server};
use std::time::Duration;
use twin_protocol::{ClientMessage, Participant, Pose, ServerMessage, SpotOnMarks};

/// Dana in the room, and Eli from afar with her; the twin listening.
struct Huddle {
    dana: Client,
    eli: Client,
    eli_id: String,
    /// Who is there as Eli heard it on coming in.
    participants: Vec<Participant>,
}

/// The shared fixture: Dana comes into `room` (a room of the test's own), then Eli from afar; both ask for
/// speech with `audio` (voice is relayed only to those who do; the room's speech takes seconds to make).
async fn two_in_a_huddle(room: &str, audio: bool) -> Huddle {
    let addr = server();
    let mut dana = join_as(addr, "dana-token", room, audio, false).await;
    roster(&mut dana).await;
    listening(&mut dana).await;
    let mut eli = join_as(addr, "eli-token", room, audio, true).await;
    let (m, _) = eli.until(|m| matches!(m, ServerMessage::Room { .. })).await;
    let ServerMessage::Room {
        you: eli_id,
        participants,
        ..
    } = m
    else {
        unreachable!()
    };
    listening(&mut eli).await;
    Huddle {
        dana,
        eli,
        eli_id,
        participants,
    }
}

fn pose(x: f32) -> Pose {
    Pose {
        position: [x, 1.6, 1.5],
        orientation: [0.0, 0.0, 0.0, 1.0],
    }
}

/// A second of Eli's head and hands at 30 Hz, and his voice in 20 ms chunks; what Dana got up to his last
/// pose and his last chunk of voice, and up to the answer to a ping she sends then.
async fn eli_moves_and_speaks(h: &mut Huddle) -> Vec<ServerMessage> {
    for seq in 0..30u64 {
        h.eli
            .send(&ClientMessage::Pose {
                seq,
                head: pose(seq as f32 * 0.01),
                left: None,
                right: Some(pose(0.3)),
            })
            .await;
        if seq < 10 {
            h.eli
                .send(&ClientMessage::Voice {
                    seq,
                    sample_rate: 16_000,
                    pcm16: twin_protocol::encode_pcm16(&[seq as i16; 320]),
                })
                .await;
        }
        // The pace of a headset, not a wait for anything.
        tokio::time::sleep(Duration::from_millis(33)).await;
    }
    let mut got = Vec::new();
    let (mut last_pose, mut last_voice) = (false, false);
    // Waits for the last of each (the asserts then say what is missing if they never come).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(last_pose && last_voice) {
        let Ok(m) = tokio::time::timeout_at(deadline, h.dana.next()).await else {
            break;
        };
        let m = m.expect("Dana's session stays open");
        match &m {
            ServerMessage::Pose {
                participant, seq, ..
            } if *participant == h.eli_id => last_pose |= *seq == 29,
            ServerMessage::Voice {
                participant, seq, ..
            } if *participant == h.eli_id => last_voice |= *seq == 9,
            _ => {}
        }
        got.push(m);
    }
    // And whatever was on its way to Dana behind them (a pose sent twice, say): all that comes before the
    // answer to her ping.
    h.dana.send(&ClientMessage::Ping { nonce: 1 }).await;
    let (_, behind) = h
        .dana
        .until(|m| matches!(m, ServerMessage::Pong { .. }))
        .await;
    got.extend(behind);
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_from_afar_gets_the_first_seat_beside_the_twin() {
    let Huddle {
        eli_id,
        participants,
        ..
    } = two_in_a_huddle("seat", false).await;
    let me = participants.iter().find(|p| p.id == eli_id).unwrap();
    assert!(me.remote && me.seat == Some(0), "{participants:?}");
    // Dana, in the room, has no seat.
    assert!(
        participants
            .iter()
            .any(|p| p.name == "Dana" && !p.remote && p.seat.is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poses_and_voices_reach_the_others_in_the_room_in_order() {
    let mut h = two_in_a_huddle("relay", true).await;
    let got = eli_moves_and_speaks(&mut h).await;
    let poses: Vec<(u64, f32)> = got
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Pose {
                participant,
                seq,
                head,
                right,
                ..
            } if *participant == h.eli_id && right.is_some() => Some((*seq, head.position[0])),
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
            } if *participant == h.eli_id => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(voices, (0..10).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poses_and_voices_are_not_echoed_nor_heard_in_another_room() {
    let mut h = two_in_a_huddle("echo", true).await;
    let mut gus = join_as(server(), "gus-token", "lobby", true, false).await;
    listening(&mut gus).await;
    eli_moves_and_speaks(&mut h).await;
    // Dana has had all of it: not echoed to Eli, nothing in the other room.
    for c in [&mut h.eli, &mut gus] {
        let got = quiet(c, Duration::from_millis(200)).await;
        assert!(
            !got.iter()
                .any(|m| matches!(m, ServerMessage::Pose { .. } | ServerMessage::Voice { .. })),
            "{got:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_pose_is_refused() {
    let Huddle { mut eli, .. } = two_in_a_huddle("bad-pose", false).await;
    eli.send(&ClientMessage::Pose {
        seq: 99,
        head: pose(500.0),
        left: None,
        right: None,
    })
    .await;
    refused(&mut eli).await;
}

#[tokio::test]
async fn a_pose_outside_a_room_is_refused() {
    let mut alone = Client::hello(server(), common::TOKEN, None).await;
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
}

const SPOT: SpotOnMarks = SpotOnMarks {
    x: 0.5,
    z: 1.5,
    yaw: -0.4,
};

/// Colocated alignment: Dana places the twin relative to the room's floor marks; the `placed` Eli gets.
async fn dana_places_the_twin(h: &mut Huddle) -> ServerMessage {
    h.dana.send(&ClientMessage::Place { spot: SPOT }).await;
    let (m, _) = h
        .eli
        .until(|m| matches!(m, ServerMessage::Placed { .. }))
        .await;
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_others_hear_where_the_twin_is_placed() {
    let m = dana_places_the_twin(&mut two_in_a_huddle("spot", false).await).await;
    assert!(
        matches!(m, ServerMessage::Placed { spot: s, .. } if s == SPOT),
        "{m:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoever_comes_in_hears_where_the_twin_stands_before_who_is_there() {
    let mut h = two_in_a_huddle("spot-late", false).await;
    dana_places_the_twin(&mut h).await;
    let mut fay = join_as(server(), "fay-token", "spot-late", false, false).await;
    let (m, seen) = fay
        .until(|m| matches!(m, ServerMessage::Placed { .. }))
        .await;
    assert!(
        matches!(m, ServerMessage::Placed { spot: s, .. } if s == SPOT),
        "{m:?}"
    );
    assert!(!seen.iter().any(|m| matches!(m, ServerMessage::Room { .. })));
    roster(&mut fay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_far_outside_the_room_is_refused() {
    let Huddle { mut dana, .. } = two_in_a_huddle("far", false).await;
    dana.send(&ClientMessage::Place {
        spot: SpotOnMarks {
            x: 1e6,
            z: 0.0,
            yaw: 0.0,
        },
    })
    .await;
    refused(&mut dana).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pong_in_a_room_tells_the_servers_clock() {
    let Huddle { mut eli, .. } = two_in_a_huddle("clock", false).await;
    eli.send(&ClientMessage::Ping { nonce: 5 }).await;
    let (m, _) = eli.until(|m| matches!(m, ServerMessage::Pong { .. })).await;
    let ServerMessage::Pong { server_ms, .. } = m else {
        unreachable!()
    };
    let skew = server_ms as i64 - twin_protocol::wall_ms() as i64;
    assert!(skew.abs() < 1_000, "the server's clock: {skew} ms off");
}
