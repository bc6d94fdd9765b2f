//! Durability: kill -9 the server in the middle of a reply; after a restart every acknowledged turn is stored.

mod common;

use common::{Client, TOKEN};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use twin_protocol::{ClientMessage, ServerMessage, Speaker};

fn spawn_server(config: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_twin-server"))
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("server prints its address").unwrap();
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    (child, addr)
}

#[tokio::test]
async fn every_acknowledged_turn_survives_kill_9_mid_reply() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("twin.db");
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        common::config_text(&store, "backend = \"embedded\"\nmax_tokens = 96"),
    )
    .unwrap();

    let (mut server, addr) = spawn_server(&config);
    let mut c = Client::hello(&addr, TOKEN, None).await;
    let (session_id, _) = c.welcome().await;
    let first = c
        .ask("d1", "Why did we open-source the robot simulator?")
        .await;
    let questions = [
        "What is our remote work policy?",
        "Tell me about the wheel recall.",
    ];
    let mut acked = Vec::new();
    for (i, q) in questions.iter().enumerate() {
        let turn_id = format!("d{}", i + 2);
        c.send(&ClientMessage::UserFinal {
            turn_id: turn_id.clone(),
            text: q.to_string(),
            attachment: None,
            revises: None,
        })
        .await;
        let (ack, _) = c
            .until(|m| matches!(m, ServerMessage::TurnAck { .. }))
            .await;
        acked.push((ack, q.to_string()));
    }
    // The last question's reply is under way: kill the server mid-reply, without any chance to clean up.
    c.until(|m| {
        matches!(
            m,
            ServerMessage::ReplyStart { .. } | ServerMessage::Sentence { .. }
        )
    })
    .await;
    server.kill().unwrap();
    server.wait().unwrap();
    drop(c);

    let (mut server, addr) = spawn_server(&config);
    let mut c = Client::hello(&addr, TOKEN, Some(&session_id)).await;
    let (_, history) = c.welcome().await;
    let user_turns: Vec<&str> = history
        .iter()
        .filter(|t| t.speaker == Speaker::User)
        .map(|t| t.text.as_str())
        .collect();
    assert_eq!(user_turns[0], "Why did we open-source the robot simulator?");
    for (ack, question) in &acked {
        let ServerMessage::TurnAck { seq, .. } = ack else {
            unreachable!()
        };
        let stored = history
            .iter()
            .find(|t| t.seq == *seq)
            .unwrap_or_else(|| panic!("acked turn {seq} is stored"));
        assert_eq!(&stored.text, question);
    }
    assert!(
        history
            .iter()
            .any(|t| t.speaker == Speaker::Twin && t.text == first.text),
        "the completed reply is stored"
    );
    // The session goes on after the restart.
    let r = c.ask("d9", "What is our policy on pay transparency?").await;
    assert!(!r.text.is_empty());
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test]
async fn sigterm_mid_reply_stores_it_as_interrupted_and_says_when_to_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("twin.db");
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        common::config_text(&store, "backend = \"embedded\"\nmax_tokens = 96"),
    )
    .unwrap();
    let (mut server, addr) = spawn_server(&config);
    // A voice session: the reply's speech is paced to playback, so it is still going when the server stops.
    let mut c = Client::hello_voice(&addr, None).await;
    let (session_id, _) = c.welcome().await;
    c.send(&ClientMessage::UserFinal {
        turn_id: "t1".into(),
        text: "Why did we open-source the robot simulator?".into(),
        attachment: None,
        revises: None,
    })
    .await;
    c.until(|m| matches!(m, ServerMessage::Audio { .. })).await;
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // The reply in flight ends, stored as interrupted; then the close says the server is restarting.
    let mut ended = None;
    let code = loop {
        match c.next().await {
            Ok(ServerMessage::ReplyEnd {
                interrupted, text, ..
            }) => ended = Some((interrupted, text)),
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(code, Some(twin_protocol::close_code::SERVICE_RESTART));
    let (interrupted, heard) = ended.expect("the reply in flight was ended");
    assert!(interrupted, "cut by the stop");
    let status = server.wait().unwrap();
    assert!(status.success(), "the server exits cleanly: {status:?}");

    // Back up on the same store: the cut reply is in the session's history.
    let (mut server, addr) = spawn_server(&config);
    let mut again = Client::hello(&addr, TOKEN, Some(&session_id)).await;
    let (_, history) = again.welcome().await;
    let last_twin = history
        .iter()
        .rev()
        .find(|t| t.speaker == Speaker::Twin && t.text != history[0].text)
        .expect("the twin's cut reply is stored");
    assert_eq!(last_twin.text, heard);
    let _ = server.kill();
    let _ = server.wait();
}
