//! `twin chat` against a real twin-server on loopback: one-shot JSON for scripts, the REPL, and bad input.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use twin_protocol::ServerMessage;

const TOKEN: &str = "cli-token";

mod common;

/// The server, over TLS with a CA of its own (as the demo's), and that CA.
fn tls_server() -> &'static (String, std::path::PathBuf) {
    static SERVER: OnceLock<(String, std::path::PathBuf)> = OnceLock::new();
    SERVER.get_or_init(|| common::start_tls_server(TOKEN, 64))
}

fn server() -> &'static String {
    &tls_server().0
}

/// `twin`, trusting the server's CA through `TWIN_CA`.
fn twin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twin"));
    c.env_remove("TWIN_TOKEN")
        .env_remove("TWIN_URL")
        .env("TWIN_CA", &tls_server().1);
    c
}

/// The events `twin chat --json` printed, one a line, after it exited well.
/// `twin chat` against the shared server with `lines` typed in, one after another, to its end.
fn repl(lines: &[&str]) -> std::process::Output {
    let mut child = twin()
        .args(["chat", "--url", server()])
        .env("TWIN_TOKEN", TOKEN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn json_events(out: &std::process::Output) -> Vec<ServerMessage> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            ServerMessage::decode(l).unwrap_or_else(|e| panic!("line {l:?} is not an event: {e}"))
        })
        .collect()
}

#[test]
fn once_with_json_prints_one_event_per_line_with_citations() {
    let url = server().clone();
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
    let events = json_events(&out);
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
    let out = repl(&[
        "Are you real?",
        "What is our policy on pay transparency?",
        "/quit",
    ]);
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
fn flag_and_share_in_the_repl_are_confirmed() {
    let out = repl(&[
        "How long is our release freeze?",
        "/flag it's two days not three",
        "/share",
        "/unshare",
        "/quit",
    ]);
    let (text, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{text}\n{err}");
    // The commands are offered, naming the person.
    assert!(text.contains("/flag [note]"), "{text}");
    assert!(text.contains("This conversation is private"), "{text}");
    let flagged = text
        .find("Flagged the last reply for Owen's review.")
        .unwrap_or_else(|| panic!("no flag confirmation: {text}\n{err}"));
    let shared = text
        .find("Shared with Owen for review.")
        .unwrap_or_else(|| panic!("no share confirmation: {text}\n{err}"));
    let unshared = text
        .find("No longer shared")
        .unwrap_or_else(|| panic!("no unshare confirmation: {text}\n{err}"));
    assert!(flagged < shared && shared < unshared, "{text}");
    // The flag came after the twin's answer, not before it.
    let answered = text.rfind("twin: ").unwrap();
    assert!(answered < flagged, "{text}");
    assert!(!err.contains("server error"), "{err}");
}

#[test]
fn flagging_before_any_answer_is_a_clear_error_and_the_repl_goes_on() {
    // Only the opening disclosure so far: nothing to flag.
    let out = repl(&["/flag", "/share", "/quit"]);
    let (text, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{text}\n{err}");
    assert!(err.contains("no reply in this session to flag"), "{err}");
    assert!(!text.contains("Flagged"), "{text}");
    assert!(text.contains("Shared with Owen for review."), "{text}");
}

#[test]
fn a_bad_token_or_an_unreachable_server_is_a_clear_error() {
    let url = server().clone();
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

    let out = twin()
        .args(["chat"])
        .env_remove("TWIN_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a token is required");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--token"),
        "the error says what to give: {err}"
    );
}

#[test]
fn a_server_it_cannot_trust_and_plaintext_off_this_machine_are_refused() {
    let url = server().clone();
    // Without the CA: the system's store does not vouch for the server.
    let out = twin()
        .env_remove("TWIN_CA")
        .args(["chat", "--url", &url, "--token", TOKEN, "--once", "hi"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("certificate") || err.contains("no certificate to trust"),
        "{err}"
    );

    // The CA file is named when it cannot be read.
    let out = twin()
        .args([
            "chat",
            "--url",
            &url,
            "--ca",
            "/nonexistent/ca.pem",
            "--token",
            TOKEN,
            "--once",
            "hi",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("/nonexistent/ca.pem"),
        "{err}"
    );

    // ws:// to another machine would send the token in the clear (TEST-NET-1: nothing is asked).
    let out = twin()
        .args([
            "chat",
            "--url",
            "ws://192.0.2.1:7878/v1/session",
            "--token",
            TOKEN,
            "--once",
            "hi",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("in the clear"),
        "{err}"
    );
}

#[test]
fn an_attached_plan_gets_feedback_and_bad_files_are_clear_errors() {
    let url = server().clone();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.md");
    std::fs::write(
        &plan,
        "# Launch plan\n\n- Skip the final safety review so the release makes the launch date.\n- Tell the customers afterwards.\n",
    )
    .unwrap();
    let ask = |file: &std::path::Path| {
        twin()
            .args([
                "chat", "--url", &url, "--token", TOKEN, "--json", "--attach",
            ])
            .arg(file)
            .args(["--once", "Any feedback on our plan?"])
            .output()
            .unwrap()
    };
    let out = ask(&plan);
    let events = json_events(&out);
    let feedback = events.iter().find_map(|e| match e {
        ServerMessage::ReplyEnd {
            citations,
            sentences,
            ..
        } if !citations.is_empty() => Some((citations, sentences)),
        _ => None,
    });
    let (citations, sentences) = feedback.expect("a reply citing the person");
    let kinds: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ServerMessage::ReplyStart { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert!(
        kinds.contains(&twin_protocol::ReplyKind::Feedback),
        "{kinds:?}"
    );
    assert!(sentences.iter().any(|s| s.quote.is_some()), "{sentences:?}");
    assert!(!citations.is_empty());

    let too_big = dir.path().join("big.md");
    std::fs::write(
        &too_big,
        "x".repeat(twin_protocol::MAX_ATTACHMENT_BYTES + 1),
    )
    .unwrap();
    let binary = dir.path().join("photo.png");
    std::fs::write(&binary, [0x89, b'P', b'N', b'G', 0xff, 0xfe]).unwrap();
    for (file, says) in [
        (too_big.as_path(), "at most"),
        (binary.as_path(), "not UTF-8"),
        (dir.path().join("missing.md").as_path(), "cannot read"),
    ] {
        let out = ask(file);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{file:?}: {err}");
    }
}
