//! What an employee shows the person, over the real server: `share` and `flag` are stored and confirmed with
//! `noted`, a flag names a reply of the session (the latest by default, never the disclosure), and the opening
//! disclosure says who sees what: a private conversation, or a room recorded for review.

mod common;
use common::{Client, TOKEN};
use twin_protocol::{ClientMessage, ErrorCode, NotedKind, ServerMessage};

const ROOMS: &str = r#"
[[auth.tokens]]
name = "Hal"
token = "hal-token"
rooms = ["review-me", "quiet"]
[rooms]
recorded = ["review-me"]
"#;

fn server() -> &'static str {
    static ADDR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ADDR.get_or_init(|| common::own_server(&common::demo_pack(), ROOMS))
}

/// What the server answers `message` with: a `noted` or an error.
async fn answer(c: &mut Client, message: ClientMessage) -> ServerMessage {
    c.send(&message).await;
    c.until(|m| matches!(m, ServerMessage::Noted { .. } | ServerMessage::Error { .. }))
        .await
        .0
}

fn flag(reply_id: Option<&str>, note: Option<&str>) -> ClientMessage {
    ClientMessage::Flag {
        reply_id: reply_id.map(str::to_string),
        note: note.map(str::to_string),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_shared_and_its_replies_flagged_only_when_the_employee_says_so() {
    let mut c = Client::hello(server(), TOKEN, None).await;
    c.welcome().await;
    // Only the disclosure so far: nothing to flag.
    match answer(&mut c, flag(None, Some("wrong"))).await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::UnknownReply),
        other => panic!("{other:?}"),
    }
    let reply = c.ask("t1", "Are we profitable yet?").await;
    let noted = answer(&mut c, flag(None, Some("that's old news"))).await;
    assert_eq!(
        noted,
        ServerMessage::Noted {
            noted: NotedKind::Flagged,
            reply_id: Some(reply.id.clone())
        }
    );
    match answer(&mut c, flag(Some("r-made-up"), None)).await {
        ServerMessage::Error { code, message } => {
            assert_eq!(code, ErrorCode::UnknownReply);
            assert!(message.contains("r-made-up"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    for (shared, kind) in [(true, NotedKind::Shared), (false, NotedKind::Unshared)] {
        let noted = answer(&mut c, ClientMessage::Share { shared }).await;
        assert!(matches!(noted, ServerMessage::Noted { noted, .. } if noted == kind));
    }
    // The session goes on.
    let next = c.ask("t2", "Are you Owen?").await;
    assert!(!next.text.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rooms_disclosure_says_whether_it_is_recorded_and_its_replies_can_be_flagged() {
    let mut c = Client::join_room(server(), "hal-token", "review-me", false, false, None).await;
    let recorded = disclosure(&mut c).await;
    assert!(
        recorded.contains("recorded for Owen to review"),
        "{recorded}"
    );
    // In a room, flags work and sharing is the config's to say.
    let reply = c.ask("t1", "Are we profitable yet?").await;
    let noted = answer(&mut c, flag(None, None)).await;
    assert!(matches!(noted, ServerMessage::Noted { reply_id: Some(ref r), .. } if *r == reply.id));
    match answer(&mut c, ClientMessage::Share { shared: true }).await {
        ServerMessage::Error { code, message } => {
            assert_eq!(code, ErrorCode::BadMessage);
            assert!(message.contains("recorded"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let mut quiet = Client::join_room(server(), "hal-token", "quiet", false, false, None).await;
    let private = disclosure(&mut quiet).await;
    assert!(
        private.contains("This conversation is private"),
        "{private}"
    );
    assert!(!private.contains("recorded"), "{private}");
}

async fn disclosure(c: &mut Client) -> String {
    match c
        .until(|m| matches!(m, ServerMessage::ReplyEnd { .. }))
        .await
        .0
    {
        ServerMessage::ReplyEnd { text, .. } => text,
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_session_opens_by_saying_so() {
    let mut c = Client::hello(server(), TOKEN, None).await;
    let text = disclosure(&mut c).await;
    assert!(
        text.contains("AI twin") && text.contains("This conversation is private"),
        "{text}"
    );
}
