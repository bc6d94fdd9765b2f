//! Tokens over real sockets: weak secrets refused at start, each token held to its personas, rooms and
//! capabilities, empty and unknown tokens refused, and failures counted on every endpoint.

mod common;

use common::Client;
use std::io::{Read, Write};
use std::time::Duration;
use twin_protocol::{ErrorCode, ServerMessage};
use twin_server::{AppState, Config};
use twin_voice::{HttpVoice, HttpVoiceConfig, Synthesizer};

/// Two personas (the demo's, and the same pack as "second-twin"), and tokens scoped three ways.
fn scoped_config(demo: bool, extra_tokens: &str) -> Config {
    let dir = tempfile::tempdir().unwrap().keep();
    let second = common::demo_pack_as("second-twin");
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
store = "{store}"
models_dir = "{models}"
personas = ["{first}", "{second}"]
[auth]
demo = {demo}
[[auth.tokens]]
name = "scoped"
token = "Zq3xV8bN2mK7pL4wR9tY6uE1oI5aS0dF-scoped"
personas = ["second-twin"]
[[auth.tokens]]
name = "voice-only"
token = "Jh7Gf2Dk9Ls4Qw8Er3Ty6Ui1Op5Az0Xc-speech"
capabilities = ["speech"]
[[auth.tokens]]
name = "monitor"
token = "{MONITOR}"
capabilities = ["metrics"]
{extra_tokens}
[llm]
{llm}
"#,
        store = dir.join("twin.db").display(),
        models = common::models_dir().display(),
        first = common::demo_pack().display(),
        second = second.display(),
        llm = common::EMBEDDED_LLM,
    );
    Config::parse(&dir.join("server.toml"), &text).unwrap()
}

const SCOPED: &str = "Zq3xV8bN2mK7pL4wR9tY6uE1oI5aS0dF-scoped";
const MONITOR: &str = "Mn4Bv8Cx2Zl6Kj0Hg3Fd7Sa1Qp5Wo9Ei-metrics";
const VOICE_ONLY: &str = "Jh7Gf2Dk9Ls4Qw8Er3Ty6Ui1Op5Az0Xc-speech";

async fn hello(addr: &str, token: &str, persona: Option<&str>) -> Result<(), (ErrorCode, String)> {
    let mut c = Client::connect(addr).await;
    c.send(&common::hello_message(token, persona)).await;
    match c.next().await {
        Ok(ServerMessage::Welcome { .. }) => Ok(()),
        Ok(ServerMessage::Error { code, message }) => Err((code, message)),
        other => panic!("neither a welcome nor an error: {other:?}"),
    }
}

fn speech(addr: &str, token: &str, voice: &str) -> Result<u64, String> {
    let v = HttpVoice::new(HttpVoiceConfig {
        base_url: format!("http://{addr}/v1"),
        voice: voice.into(),
        api_key: Some(token.into()),
        sample_rate: 22_050,
        read_timeout: Duration::from_secs(20),
        ..Default::default()
    })
    .unwrap();
    v.synthesize("Safety beats speed.", &mut |_| true)
        .map(|s| s.samples)
        .map_err(|e| e.to_string())
}

fn get_metrics(addr: &str, token: &str) -> String {
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    write!(
        tcp,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).unwrap();
    text
}

fn auth_failures(addr: &str) -> i64 {
    get_metrics(addr, MONITOR)
        .lines()
        .find_map(|l| l.strip_prefix("twin_auth_failures_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the metric is there")
}

#[test]
fn weak_or_duplicate_tokens_are_refused_at_start() {
    let config = scoped_config(
        false,
        "[[auth.tokens]]\nname = \"weak\"\ntoken = \"letmein\"",
    );
    let e = AppState::load(config)
        .err()
        .expect("a weak token stops the server")
        .to_string();
    assert!(
        e.contains("\"weak\"") && e.contains("twin-server token"),
        "{e}"
    );
    // The demo's config may have memorable tokens.
    let config = scoped_config(
        true,
        "[[auth.tokens]]\nname = \"weak\"\ntoken = \"letmein\"",
    );
    assert!(AppState::load(config).is_ok());

    let dup = "[[auth.tokens]]\nname = \"scoped\"\ntoken = \"another-one-entirely\"";
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstore = \"t.db\"\npersonas = [\"p\"]\n\
         [[auth.tokens]]\nname = \"scoped\"\ntoken = \"x\"\n{dup}\n[llm]\nbackend = \"embedded\"\n"
    );
    let e = Config::parse(&dir.path().join("s.toml"), &text)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unique"), "{e}");
    let empty = text
        .replace(dup, "")
        .replace("token = \"x\"", "token = \"\"");
    let e = Config::parse(&dir.path().join("s.toml"), &empty)
        .unwrap_err()
        .to_string();
    assert!(e.contains("is empty"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_reaches_only_its_personas_and_capabilities() {
    let state = AppState::load(scoped_config(false, "")).expect("strong tokens start");
    let addr = common::start_in_background(state);

    let e = hello(&addr, SCOPED, Some("owen-marsh")).await.unwrap_err();
    assert_eq!(e.0, ErrorCode::Unauthorized);
    assert!(e.1.contains("does not reach persona"), "{e:?}");
    // Its default is the server's first persona, which it does not reach either.
    assert!(hello(&addr, SCOPED, None).await.is_err());
    hello(&addr, SCOPED, Some("second-twin"))
        .await
        .expect("its own persona");

    let e = hello(&addr, VOICE_ONLY, None).await.unwrap_err();
    assert!(e.1.contains("may not converse"), "{e:?}");
    let e = hello(&addr, "", None).await.unwrap_err();
    assert_eq!(e.0, ErrorCode::Unauthorized);

    let speaking = addr.clone();
    tokio::task::spawn_blocking(move || {
        let e = speech(&speaking, SCOPED, "second-twin").unwrap_err();
        assert!(e.contains("403") && e.contains("speech"), "{e}");
        assert!(speech(&speaking, VOICE_ONLY, "owen-marsh").unwrap() > 5_000);
        let before = auth_failures(&speaking);
        let e = speech(&speaking, "not-a-token", "owen-marsh").unwrap_err();
        assert!(e.contains("401"), "{e}");
        assert_eq!(
            auth_failures(&speaking),
            before + 1,
            "counted on the speech endpoint too"
        );
        // The counters are for a monitoring token only.
        assert!(get_metrics(&speaking, VOICE_ONLY).starts_with("HTTP/1.1 403"));
        assert!(get_metrics(&speaking, "").starts_with("HTTP/1.1 401"));
    })
    .await
    .unwrap();
}
