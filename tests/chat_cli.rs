//! `twin chat` against a real twin-server on loopback: one-shot JSON for scripts, the REPL, and bad input.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use twin_protocol::ServerMessage;
use twin_server::{AppState, Config};

const TOKEN: &str = "cli-token";

mod common;
use common::{models, root};

fn server() -> &'static String {
    static ADDR: OnceLock<String> = OnceLock::new();
    ADDR.get_or_init(|| {
        let models = models();
        let dir = tempfile::tempdir().unwrap().keep();
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstore = \"{}\"\nmodels_dir = \"{}\"\npersonas = [\"{}\"]\n\
             [[auth.tokens]]\nname = \"cli\"\ntoken = \"{TOKEN}\"\n[llm]\nbackend = \"embedded\"\nmax_tokens = 64\ntemperature = 0.0\n",
            dir.join("t.db").display(),
            models.display(),
            root().join("assets/personas/owen-marsh").display()
        );
        let config = Config::parse(&dir.join("s.toml"), &text).unwrap();
        let state = AppState::load(config).expect("run `cargo xtask setup` first: the server needs the models");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap().to_string()).unwrap();
                axum_serve(listener, state).await;
            });
        });
        rx.recv().unwrap()
    })
}

async fn axum_serve(listener: tokio::net::TcpListener, state: std::sync::Arc<AppState>) {
    twin_server::serve_on(listener, state).await.unwrap();
}

fn twin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twin"));
    c.env_remove("TWIN_TOKEN").env_remove("TWIN_URL");
    c
}

#[test]
fn once_with_json_prints_one_event_per_line_with_citations() {
    let url = format!("ws://{}/v1/session", server());
    let out = twin()
        .args([
            "chat",
            "--url",
            &url,
            "--token",
            TOKEN,
            "--json",
            "--once",
            "Why did we open-source our simulator?",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<ServerMessage> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            ServerMessage::decode(l).unwrap_or_else(|e| panic!("line {l:?} is not an event: {e}"))
        })
        .collect();
    assert!(matches!(events[0], ServerMessage::Welcome { .. }));
    let ends: Vec<&ServerMessage> = events
        .iter()
        .filter(|e| matches!(e, ServerMessage::ReplyEnd { .. }))
        .collect();
    assert_eq!(ends.len(), 2, "the disclosure, then the answer");
    let ServerMessage::ReplyEnd {
        citations, text, ..
    } = ends[1]
    else {
        unreachable!()
    };
    assert!(!text.is_empty());
    assert!(!citations.is_empty(), "the answer cites its sources");
}

#[test]
fn the_repl_answers_each_line_and_lists_citations() {
    let url = format!("ws://{}/v1/session", server());
    let mut child = twin()
        .args(["chat", "--url", &url])
        .env("TWIN_TOKEN", TOKEN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "Are you real?").unwrap();
    writeln!(stdin, "What is our policy on pay transparency?").unwrap();
    writeln!(stdin, "/quit").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Connected to the AI twin of Owen Marsh"),
        "{text}"
    );
    assert!(
        text.matches("I'm an AI twin of Owen Marsh").count() >= 2,
        "opening disclosure and the answer: {text}"
    );
    assert!(
        text.contains("https://"),
        "citations are listed with their URLs: {text}"
    );
}

#[test]
fn a_bad_token_or_an_unreachable_server_is_a_clear_error() {
    let url = format!("ws://{}/v1/session", server());
    let out = twin()
        .args(["chat", "--url", &url, "--token", "wrong", "--once", "hi"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("auth token"), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = twin()
        .args([
            "chat",
            "--url",
            &format!("ws://127.0.0.1:{port}/v1/session"),
            "--token",
            "x",
            "--once",
            "hi",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect"), "{err}");

    let out = twin().args(["chat"]).output().unwrap();
    assert!(!out.status.success(), "a token is required");
}
