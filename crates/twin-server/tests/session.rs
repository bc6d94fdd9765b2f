//! A real server session over a real WebSocket on loopback, with the embedded model and embeddings.

mod common;

use common::{Client, TOKEN, shared_server};
use twin_protocol::{
    ClientMessage, ErrorCode, Heard, MAX_CLIENT_FRAME_BYTES, ReplyKind, ServerMessage, close_code,
};

#[tokio::test]
async fn a_new_session_opens_with_the_disclosure_then_answers_grounded_with_citations() {
    let addr = shared_server();
    let mut c = Client::hello(addr, TOKEN, None).await;
    let (welcome, _) = c
        .until(|m| matches!(m, ServerMessage::Welcome { .. }))
        .await;
    let ServerMessage::Welcome {
        persona, resumed, ..
    } = welcome
    else {
        unreachable!()
    };
    assert!(!resumed);
    assert_eq!(persona.name, "Owen Marsh");
    let (start, _) = c
        .until(|m| matches!(m, ServerMessage::ReplyStart { .. }))
        .await;
    assert!(matches!(
        start,
        ServerMessage::ReplyStart {
            kind: ReplyKind::Disclosure,
            turn_id: None,
            ..
        }
    ));
    let (end, _) = c
        .until(|m| matches!(m, ServerMessage::ReplyEnd { .. }))
        .await;
    let ServerMessage::ReplyEnd { text, .. } = end else {
        unreachable!()
    };
    assert!(text.contains("AI twin"), "{text}");

    let reply = c
        .ask(
            "t1",
            "How many days a week do we have to be in the office these days?",
        )
        .await;
    assert_eq!(
        reply.ack,
        Some(2),
        "the disclosure is turn 1, this question turn 2"
    );
    assert_eq!(reply.kind, Some(ReplyKind::Grounded));
    assert!(!reply.sentences.is_empty() && !reply.text.is_empty());
    assert!(
        reply.sentences.len() <= 3,
        "the persona's style caps replies at 3 sentences: {:?}",
        reply.sentences
    );
    let ids: Vec<&str> = reply.citations.iter().map(|c| c.id.as_str()).collect();
    assert!(!ids.is_empty(), "a grounded reply cites its sources");
    assert!(
        ids.iter().any(|id| ["n003", "s007"].contains(id)),
        "the office-days reply cites the office policy sources, got {ids:?}: {}",
        reply.text
    );
    for c in &reply.citations {
        assert!(!c.title.is_empty() && !c.date.is_empty());
    }
    // Every sentence's citation is among the reply's citations.
    for (_, cites) in &reply.sentences {
        for id in cites {
            assert!(ids.contains(&id.as_str()));
        }
    }
}

#[tokio::test]
async fn guardrails_approval_identity_and_unknown_topics() {
    let addr = shared_server();
    let mut c = Client::hello(addr, TOKEN, None).await;
    c.welcome().await;

    let r = c
        .ask(
            "a1",
            "Can you approve my request to hire two more engineers?",
        )
        .await;
    assert_eq!(r.kind, Some(ReplyKind::Redirect));
    assert!(r.text.contains("can't approve"), "{}", r.text);
    assert!(r.text.contains("Owen directly"), "{}", r.text);

    let r = c.ask("a2", "Are you real?").await;
    assert_eq!(r.kind, Some(ReplyKind::Disclosure));
    assert!(
        r.text.contains("I'm an AI twin of Owen Marsh"),
        "{}",
        r.text
    );

    let r = c
        .ask("a3", "What is your favourite recipe for lasagne?")
        .await;
    assert_eq!(r.kind, Some(ReplyKind::Unknown), "{}", r.text);
    assert!(r.text.contains("I don't know Owen's view"), "{}", r.text);
    assert!(r.citations.is_empty());
}

#[tokio::test]
async fn a_wrong_token_gets_a_clear_error_and_a_clean_close() {
    let addr = shared_server();
    let mut c = Client::hello(addr, "not-a-token", None).await;
    let m = c.next().await.unwrap();
    assert!(
        matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::Unauthorized,
                ..
            }
        ),
        "{m:?}"
    );
    assert_eq!(c.next().await.unwrap_err(), Some(close_code::UNAUTHORIZED));
}

#[tokio::test]
async fn a_wrong_protocol_version_is_refused() {
    let addr = shared_server();
    let mut c = Client::connect(addr).await;
    c.send_raw(format!(
        r#"{{"type":"hello","protocol":999,"token":"{TOKEN}"}}"#
    ))
    .await;
    let m = c.next().await.unwrap();
    assert!(
        matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::UnsupportedVersion,
                ..
            }
        ),
        "{m:?}"
    );
    assert_eq!(
        c.next().await.unwrap_err(),
        Some(close_code::UNSUPPORTED_VERSION)
    );
}

#[tokio::test]
async fn a_turn_before_hello_is_refused() {
    let addr = shared_server();
    let mut c = Client::connect(addr).await;
    c.send(&ClientMessage::UserFinal {
        turn_id: "x".into(),
        text: "hi".into(),
        attachment: None,
        revises: None,
    })
    .await;
    let m = c.next().await.unwrap();
    assert!(
        matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::HelloRequired,
                ..
            }
        ),
        "{m:?}"
    );
    assert!(c.next().await.is_err());
}

#[tokio::test]
async fn malformed_frames_are_answered_and_the_session_goes_on_but_a_huge_one_closes_it_without_losing_turns()
 {
    let addr = shared_server();
    let mut c = Client::hello(addr, TOKEN, None).await;
    let (session_id, _) = c.welcome().await;
    c.send_raw("{not json".into()).await;
    let m = c.next().await.unwrap();
    assert!(
        matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::BadMessage,
                ..
            }
        ),
        "{m:?}"
    );
    c.send(&ClientMessage::UserFinal {
        turn_id: "e".into(),
        text: "   ".into(),
        attachment: None,
        revises: None,
    })
    .await;
    let m = c.next().await.unwrap();
    assert!(
        matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::EmptyText,
                ..
            }
        ),
        "{m:?}"
    );
    c.send(&ClientMessage::Ping { nonce: 9 }).await;
    assert!(matches!(
        c.next().await.unwrap(),
        ServerMessage::Pong { nonce: 9, server_ms } if server_ms > 0
    ));

    let r = c.ask("k1", "Why did we open-source our simulator?").await;
    assert!(r.ack.is_some());

    let huge = ClientMessage::UserFinal {
        turn_id: "huge".into(),
        text: "a".repeat(MAX_CLIENT_FRAME_BYTES * 2),
        attachment: None,
        revises: None,
    };
    c.send(&huge).await;
    let m = c.next().await.unwrap();
    assert!(
        matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::MessageTooLarge,
                ..
            }
        ),
        "{m:?}"
    );
    assert_eq!(c.next().await.unwrap_err(), Some(close_code::TOO_BIG));

    // Nothing stored was lost: the session resumes with its turns, and the huge one was never stored.
    let mut c = Client::hello(addr, TOKEN, Some(&session_id)).await;
    let (_, history) = c.welcome().await;
    let texts: Vec<&str> = history.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(history.len(), 3, "disclosure, question, reply: {texts:?}");
    assert_eq!(texts[1], "Why did we open-source our simulator?");
    assert_eq!(texts[2], r.text);
}

#[tokio::test]
async fn resuming_needs_the_same_token_and_returns_history() {
    let addr = shared_server();
    let mut c = Client::hello(addr, TOKEN, None).await;
    let (session_id, _) = c.welcome().await;
    let r = c.ask("r1", "What is our policy on pay transparency?").await;
    drop(c);

    let mut other = Client::hello(addr, "other-token", Some(&session_id)).await;
    let m = other.next().await.unwrap();
    assert!(
        matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::UnknownSession,
                ..
            }
        ),
        "{m:?}"
    );

    let mut again = Client::hello(addr, TOKEN, Some(&session_id)).await;
    let (resumed_id, history) = again.welcome().await;
    assert_eq!(resumed_id, session_id);
    assert_eq!(
        history.last().map(|t| t.text.as_str()),
        Some(r.text.as_str())
    );
    // A turn resent after a reconnect is acknowledged with its first seq and not answered twice.
    again
        .send(&ClientMessage::UserFinal {
            turn_id: "r1".into(),
            text: "What is our policy on pay transparency?".into(),
            attachment: None,
            revises: None,
        })
        .await;
    let m = again.next().await.unwrap();
    assert_eq!(
        m,
        ServerMessage::TurnAck {
            turn_id: "r1".into(),
            seq: r.ack.unwrap(),
            answered: true,
        }
    );
    again.send(&ClientMessage::Ping { nonce: 1 }).await;
    let m = again.next().await.unwrap();
    assert!(
        matches!(m, ServerMessage::Pong { nonce: 1, .. }),
        "no second reply was started: {m:?}"
    );
}

#[tokio::test]
async fn an_interruption_stops_the_reply_and_stores_only_what_was_heard() {
    let addr = shared_server();
    let mut c = Client::hello(addr, TOKEN, None).await;
    let (session_id, _) = c.welcome().await;
    c.send(&ClientMessage::UserFinal {
        turn_id: "i1".into(),
        text: "What does automation mean for warehouse jobs?".into(),
        attachment: None,
        revises: None,
    })
    .await;
    let (first, _) = c
        .until(|m| matches!(m, ServerMessage::Sentence { .. }))
        .await;
    let ServerMessage::Sentence { reply_id, text, .. } = first else {
        unreachable!()
    };
    let heard = 12.min(text.chars().count());
    c.send(&ClientMessage::Interrupted {
        reply_id: reply_id.clone(),
        heard: Heard::Chars(heard),
    })
    .await;
    // Generation may have finished before the interruption arrived (as it usually has for voice clients, whose
    // playback lags): either way the server confirms with an interrupted reply_end carrying what was stored.
    let (end, _) = c
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
    let ServerMessage::ReplyEnd {
        text: stored,
        reply_id: ended,
        ..
    } = end
    else {
        unreachable!()
    };
    assert_eq!(ended, reply_id);
    assert_eq!(stored, text.chars().take(heard).collect::<String>());

    // An unknown reply id is a clear, non-fatal error.
    c.send(&ClientMessage::Interrupted {
        reply_id: "nope".into(),
        heard: Heard::Chars(1),
    })
    .await;
    let (m, _) = c.until(|m| matches!(m, ServerMessage::Error { .. })).await;
    assert!(matches!(
        m,
        ServerMessage::Error {
            code: ErrorCode::UnknownReply,
            ..
        }
    ));
    drop(c);

    let mut again = Client::hello(addr, TOKEN, Some(&session_id)).await;
    let (_, history) = again.welcome().await;
    assert_eq!(history.last().map(|t| t.text.clone()), Some(stored));
}

#[tokio::test]
async fn health_and_metrics() {
    let addr = shared_server();
    let health = http_get(addr, "/health").await;
    assert!(
        health.contains("\"status\":\"ok\"") && health.contains("owen-marsh"),
        "{health}"
    );
    let metrics = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("# TYPE twin_sessions_started_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("twin_retrieval_seconds_bucket"),
        "{metrics}"
    );
}

async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        // The test token may read the counters too.
        format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            common::TOKEN
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    body
}

#[tokio::test]
async fn a_resumed_session_hears_the_disclosure_again() {
    let addr = shared_server();
    let mut first = Client::hello(addr, TOKEN, None).await;
    let (session, _) = first.welcome().await;
    drop(first);
    // Whoever holds the device now may not be who opened the session.
    let mut again = Client::hello(addr, TOKEN, Some(&session)).await;
    let (_, seen) = again
        .until(|m| {
            matches!(
                m,
                ServerMessage::State {
                    state: twin_protocol::TwinState::Listening
                }
            )
        })
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
    assert!(
        seen.iter()
            .any(|m| matches!(m, ServerMessage::Welcome { resumed: true, .. })),
        "{seen:?}"
    );
}

/// A voice client that ended a turn too soon (the speaker paused, then went on) sends the whole turn again
/// with `revises`: the reply to the half is cut off, the whole is answered, and the half and what was said
/// to it are left out of what the twin reads back (a resumed session's history shows the whole alone).
#[tokio::test]
async fn a_turn_said_again_whole_takes_the_place_of_the_one_it_revises() {
    let addr = shared_server();
    let mut c = Client::hello(addr, TOKEN, None).await;
    let (session_id, _) = c.welcome().await;
    let half = "What is the plan for the";
    let whole = "What is the plan for the warehouse robots next year?";
    c.send(&ClientMessage::UserFinal {
        turn_id: "v1".into(),
        text: half.into(),
        attachment: None,
        revises: None,
    })
    .await;
    c.until(|m| matches!(m, ServerMessage::ReplyStart { turn_id: Some(t), .. } if t == "v1"))
        .await;
    let r = c
        .ask_message(&ClientMessage::UserFinal {
            turn_id: "v2".into(),
            text: whole.into(),
            attachment: None,
            revises: Some("v1".into()),
        })
        .await;
    assert!(!r.text.is_empty(), "the whole turn is answered");
    drop(c);
    let mut again = Client::hello(addr, TOKEN, Some(&session_id)).await;
    let (_, history) = again.welcome().await;
    let texts: Vec<&str> = history.iter().map(|t| t.text.as_str()).collect();
    assert!(!texts.contains(&half), "{texts:?}");
    assert_eq!(
        texts.len(),
        3,
        "disclosure, the whole turn, its reply: {texts:?}"
    );
    assert_eq!(texts[1], whole);
    assert_eq!(texts[2], r.text);
}
