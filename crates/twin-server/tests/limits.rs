//! The limits over real sockets: connections per address and per token, a slow request's headers, wrong
//! tokens from one address, turns a minute, the hello and idle timeouts.

mod common;

use common::{Client, TOKEN};
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use twin_protocol::{ClientMessage, ErrorCode, ServerMessage, close_code};

/// A server of its own with these `[limits]`.
fn limited(limits: &str) -> String {
    common::own_server(&common::demo_pack(), &format!("[limits]\n{limits}\n"))
}

/// Whether the server closed `tcp` within `within` (end of stream or a reset).
fn closed_within(tcp: &mut std::net::TcpStream, within: Duration) -> bool {
    tcp.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

fn get(addr: &str, path: &str) -> String {
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = tcp.read_to_string(&mut text);
    text
}

#[test]
fn an_address_gets_its_share_of_connections_and_slow_headers_are_cut_off() {
    let addr = limited("connections_per_ip = 3\nheader_timeout_s = 0.5");
    let mut held: Vec<_> = (0..3)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let mut fourth = std::net::TcpStream::connect(&addr).unwrap();
    assert!(
        closed_within(&mut fourth, Duration::from_secs(5)),
        "the fourth is closed at once"
    );
    // Slowloris: headers begun and never finished.
    held[0]
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    assert!(
        closed_within(&mut held[0], Duration::from_secs(5)),
        "cut off"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Its place is free again.
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    assert!(get(&addr, "/health").contains("200 OK"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tokens_bar_the_address_for_the_rest_of_the_minute() {
    let addr = limited("auth_failures_per_minute = 3");
    for _ in 0..3 {
        let mut c = Client::connect(&addr).await;
        c.send(&common::hello_message("wrong-token", None)).await;
        match c.next().await {
            Ok(ServerMessage::Error { code, .. }) => assert_eq!(code, ErrorCode::Unauthorized),
            other => panic!("{other:?}"),
        }
    }
    let health = get(&addr, "/health");
    assert!(health.starts_with("HTTP/1.1 429"), "{health}");
    assert!(health.to_lowercase().contains("retry-after"), "{health}");
    // Even the right token waits: the address is barred, not the token.
    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/session")).await;
    let e = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("429"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_has_its_sessions_and_turns_a_minute() {
    let addr = limited("connections_per_token = 1\nturns_per_minute = 2");
    let mut first = Client::hello(&addr, TOKEN, None).await;
    first.welcome().await;
    let mut second = Client::connect(&addr).await;
    second.send(&common::hello_message(TOKEN, None)).await;
    match second.next().await {
        Ok(ServerMessage::Error { code, message }) => {
            assert_eq!(code, ErrorCode::TooManyConnections, "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        second.next().await.err(),
        Some(Some(close_code::TOO_MANY_CONNECTIONS))
    );
    // Another holder is not affected.
    let mut other = Client::hello(&addr, "other-token", None).await;
    other.welcome().await;

    first.ask("t1", "Are you Owen?").await;
    first.ask("t2", "What is our office policy?").await;
    first
        .send(&ClientMessage::UserFinal {
            turn_id: "t3".into(),
            text: "And one more?".into(),
            attachment: None,
            revises: None,
        })
        .await;
    match first.next().await {
        Ok(ServerMessage::Error { code, message }) => {
            assert_eq!(code, ErrorCode::RateLimited);
            assert!(message.contains("2 turns a minute"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // The session goes on.
    first.send(&ClientMessage::Ping { nonce: 9 }).await;
    assert!(matches!(
        first.next().await,
        Ok(ServerMessage::Pong { nonce: 9, .. })
    ));

    // Its place comes back when it leaves.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut again = Client::hello(&addr, TOKEN, None).await;
    again.welcome().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_are_pinged_then_closed() {
    let addr = limited("hello_timeout_s = 0.5\nidle_timeout_s = 1.5\nping_interval_s = 0.4");
    let mut mute = Client::connect(&addr).await;
    let started = Instant::now();
    match mute.next().await {
        Ok(ServerMessage::Error { code, message }) => {
            assert_eq!(code, ErrorCode::HelloRequired);
            assert!(message.contains("0.5 seconds"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));

    let mut quiet = Client::hello(&addr, TOKEN, None).await;
    quiet.welcome().await;
    let started = Instant::now();
    // Reading answers the server's pings (tungstenite does), which keeps the link alive but is not activity.
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut pings = 0;
    let code = loop {
        match quiet.socket.next().await {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        }
    };
    assert!(pings >= 2, "pinged while quiet: {pings}");
    assert_eq!(code, Some(close_code::GOING_AWAY));
    let quiet_for = started.elapsed();
    assert!(
        quiet_for >= Duration::from_millis(1_400) && quiet_for < Duration::from_secs(5),
        "{quiet_for:?}"
    );
}

const ROOM_TOKENS: &str = r#"
[[auth.tokens]]
name = "Ann"
token = "ann-token"
rooms = ["small"]
[[auth.tokens]]
name = "Bo"
token = "bo-token"
rooms = ["small"]
[[auth.tokens]]
name = "Cy"
token = "cy-token"
rooms = ["small"]
[tts]
lead_ms = 10000
"#;

async fn join_small(addr: &str, token: &str, audio: bool) -> Client {
    Client::join_room(addr, token, "small", audio, false, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_takes_its_share_of_people_and_of_waiting_turns() {
    let addr = common::own_server(
        &common::demo_pack(),
        &format!("[limits]\nroom_participants = 2\nqueued_turns = 1\n{ROOM_TOKENS}"),
    );
    // Ann wants the twin's speech: its answers play for seconds, and turns said meanwhile wait.
    let mut ann = join_small(&addr, "ann-token", true).await;
    ann.until(|m| matches!(m, ServerMessage::Room { .. })).await;
    let mut bo = join_small(&addr, "bo-token", false).await;
    bo.until(|m| matches!(m, ServerMessage::Room { .. })).await;
    let mut cy = join_small(&addr, "cy-token", false).await;
    let m = cy.next().await.expect("an error, then the close");
    assert!(
        matches!(&m, ServerMessage::Error { code: ErrorCode::TooManyConnections, message } if message.contains("full")),
        "{m:?}"
    );
    assert_eq!(
        cy.next().await.err(),
        Some(Some(close_code::TOO_MANY_CONNECTIONS))
    );

    ann.send(&ClientMessage::UserFinal {
        turn_id: "a1".into(),
        text: "What is our office policy?".into(),
        attachment: None,
        revises: None,
    })
    .await;
    bo.until(|m| matches!(m, ServerMessage::UserTurn { .. }))
        .await;
    for id in ["b1", "b2"] {
        bo.send(&ClientMessage::UserFinal {
            turn_id: id.into(),
            text: "And for the warehouse teams?".into(),
            attachment: None,
            revises: None,
        })
        .await;
    }
    let (queued, _) = bo
        .until(|m| matches!(m, ServerMessage::Queued { .. }))
        .await;
    assert!(
        matches!(&queued, ServerMessage::Queued { turn_id, .. } if turn_id == "b1"),
        "{queued:?}"
    );
    let (m, _) = bo.until(|m| matches!(m, ServerMessage::Error { .. })).await;
    assert!(
        matches!(&m, ServerMessage::Error { code: ErrorCode::RateLimited, message } if message.contains("waiting")),
        "{m:?}"
    );
    // The waiting turn is answered after Ann's; the test ends once the twin has finished speaking (a voice
    // still synthesizing when the test process exits would take it down).
    bo.until(|m| matches!(m, ServerMessage::ReplyStart { turn_id: Some(t), .. } if t == "b1"))
        .await;
    drop(bo);
    until_listening(&mut ann).await;
}

/// Reads until the twin listens again, then leaves: the room closes and stops its speech. The test ends a
/// moment later (a voice still synthesizing when the test process exits would take it down).
async fn until_listening(c: &mut Client) {
    c.until(|m| {
        matches!(
            m,
            ServerMessage::State {
                state: twin_protocol::TwinState::Listening
            }
        )
    })
    .await;
    c.send(&ClientMessage::Bye).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_stops_reading_is_dropped_and_the_room_goes_on() {
    use futures_util::SinkExt;
    let addr = common::own_server(
        &common::demo_pack(),
        &format!("[limits]\nsend_queue = 32\n{ROOM_TOKENS}"),
    );
    // Cy asks for the twin's speech and never reads: a small receive window fills at once.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr.parse().unwrap()).await.unwrap();
    let (mut stalled, _) = tokio_tungstenite::client_async(format!("ws://{addr}/v1/session"), tcp)
        .await
        .unwrap();
    let hello = tokio_tungstenite::tungstenite::Message::Text(
        common::room_hello("cy-token", "small", true, false, None)
            .encode()
            .into(),
    );
    stalled.send(hello).await.unwrap();

    let mut ann = join_small(&addr, "ann-token", false).await;
    let (m, _) = ann
        .until(|m| matches!(m, ServerMessage::Room { participants, .. } if participants.len() == 2))
        .await;
    assert!(matches!(m, ServerMessage::Room { .. }));
    let questions = [
        "Why did we give away our robot simulator for free?",
        "What happens to warehouse jobs when our robots arrive?",
        "How fast do the robots go when people are close by?",
        "What is our office policy?",
        "Why did you start Halyard Labs?",
    ];
    for (i, question) in questions.iter().enumerate() {
        ann.send(&ClientMessage::UserFinal {
            turn_id: format!("a{i}"),
            text: question.to_string(),
            attachment: None,
            revises: None,
        })
        .await;
        // Ann hears every answer whole while Cy's speech piles up; the room tells her when Cy is gone.
        let (m, _) = ann
            .until(|m| {
                matches!(
                    m,
                    ServerMessage::Room { .. } | ServerMessage::ReplyEnd { .. }
                )
            })
            .await;
        match m {
            ServerMessage::Room { participants, .. } => {
                assert_eq!(participants.len(), 1, "Cy was dropped: {participants:?}");
                until_listening(&mut ann).await;
                return;
            }
            ServerMessage::ReplyEnd { interrupted, .. } => assert!(!interrupted),
            _ => unreachable!(),
        }
    }
    let (m, _) = tokio::time::timeout(
        Duration::from_secs(60),
        ann.until(|m| matches!(m, ServerMessage::Room { .. })),
    )
    .await
    .expect("Cy is dropped while the twin's speech piles up");
    assert!(
        matches!(m, ServerMessage::Room { ref participants, .. } if participants.len() == 1),
        "{m:?}"
    );
    until_listening(&mut ann).await;
}
