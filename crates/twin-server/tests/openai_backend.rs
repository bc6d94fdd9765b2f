//! The OpenAI-compatible client against a real llama.cpp server on loopback.
//! `cargo xtask test` builds `llama-server` once (cached outside the clone) and sets TWIN_LLAMA_SERVER.

mod common;

use common::{Client, TOKEN};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use twin_llm::openai::{OpenAiCompatible, OpenAiConfig};
use twin_llm::{GenerateRequest, LlmBackend, LlmError, Message, Role};
use twin_protocol::ReplyKind;
use twin_server::{AppState, Config};

struct LlamaServer {
    child: Child,
    base_url: String,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_llama_server() -> LlamaServer {
    let bin = std::env::var("TWIN_LLAMA_SERVER")
        .expect("TWIN_LLAMA_SERVER must point at llama-server: run `cargo xtask test` (or `cargo xtask setup --with-test-tools`)");
    let port = free_port();
    let model = common::models_dir().join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let child = Command::new(bin)
        .args(["-m"])
        .arg(&model)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "-c",
            "2048",
            "-np",
            "1",
            "--alias",
            "smollm2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("llama-server starts");
    let server = LlamaServer {
        child,
        base_url: format!("http://127.0.0.1:{port}/v1"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(out) = Command::new("curl")
            .args(["-fs", &format!("http://127.0.0.1:{port}/health")])
            .output()
            && out.status.success()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "llama-server did not become healthy within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server
}

fn request(question: &str) -> GenerateRequest {
    GenerateRequest {
        messages: vec![
            Message::new(
                Role::System,
                "You are a helpful assistant. Answer in one short sentence.",
            ),
            Message::new(Role::User, question),
        ],
        max_tokens: 32,
        temperature: 0.0,
        seed: 1,
    }
}

#[tokio::test]
async fn streams_from_a_real_llama_server_and_reports_its_timings() {
    let llama = start_llama_server();
    let backend = OpenAiCompatible::new(OpenAiConfig {
        base_url: llama.base_url.clone(),
        model: "smollm2".into(),
        api_key: None,
        connect_timeout: Duration::from_secs(5),
    })
    .unwrap();
    let mut stream = backend
        .generate(request("What is the capital of France?"))
        .unwrap();
    let mut pieces = 0;
    let mut text = String::new();
    let usage = loop {
        match stream.next().await.expect("stream ends with Done").unwrap() {
            twin_llm::StreamEvent::Text(t) => {
                pieces += 1;
                text.push_str(&t);
            }
            twin_llm::StreamEvent::Done(u) => break u,
        }
    };
    assert!(
        pieces > 1,
        "the reply arrives in several pieces, not at once: {pieces}"
    );
    assert!(text.contains("Paris"), "{text}");
    assert!(
        usage.completion_tokens > 0 && usage.prompt_tokens > 0,
        "{usage:?}"
    );
    assert!(
        usage.prompt_ms.is_some() && usage.generation_ms.is_some(),
        "llama.cpp reports timings: {usage:?}"
    );

    // Same prefix again: llama.cpp reuses its prompt cache.
    let (_, usage) = backend
        .generate(request("What is the capital of France?"))
        .unwrap()
        .collect_text()
        .await
        .unwrap();
    assert!(usage.cached_tokens > 0, "{usage:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_retryable_error() {
    let backend = OpenAiCompatible::new(OpenAiConfig {
        base_url: format!("http://127.0.0.1:{}/v1", free_port()),
        model: "x".into(),
        api_key: None,
        connect_timeout: Duration::from_secs(2),
    })
    .unwrap();
    let err = backend
        .generate(request("hi"))
        .unwrap()
        .collect_text()
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_twin_session_answers_through_the_openai_backend() {
    let llama = start_llama_server();
    let dir = tempfile::tempdir().unwrap();
    let llm = format!(
        "backend = \"openai\"\nmax_tokens = 64\ntemperature = 0.0\n[llm.openai]\nbase_url = \"{}\"\nmodel = \"smollm2\"",
        llama.base_url
    );
    let config = Config::parse(
        &dir.path().join("s.toml"),
        &common::config_text(&dir.path().join("t.db"), &llm),
    )
    .unwrap();
    let addr = common::start_in_background(AppState::load(config).unwrap());
    let mut c = Client::hello(&addr, TOKEN, None).await;
    c.welcome().await;
    let r = c.ask("o1", "Why did we open-source our simulator?").await;
    assert_eq!(r.kind, Some(ReplyKind::Grounded));
    assert!(!r.text.is_empty() && !r.citations.is_empty(), "{r:?}");

    // The LLM server dies: the session gets a clear error and stays usable.
    drop(llama);
    c.send(&twin_protocol::ClientMessage::UserFinal {
        turn_id: "o2".into(),
        text: "What is our remote work policy?".into(),
        attachment: None,
        revises: None,
    })
    .await;
    let (m, _) = c
        .until(|m| matches!(m, twin_protocol::ServerMessage::Error { .. }))
        .await;
    assert!(
        matches!(
            m,
            twin_protocol::ServerMessage::Error {
                code: twin_protocol::ErrorCode::LlmUnavailable,
                ..
            }
        ),
        "{m:?}"
    );
    // Nothing of the server's insides: not the model server's address, not its answer.
    if let twin_protocol::ServerMessage::Error { message, .. } = &m {
        assert!(
            !message.contains("127.0.0.1") && !message.contains("http"),
            "{message}"
        );
    }
    c.send(&twin_protocol::ClientMessage::Ping { nonce: 3 })
        .await;
    let (m, _) = c
        .until(|m| matches!(m, twin_protocol::ServerMessage::Pong { .. }))
        .await;
    assert!(matches!(
        m,
        twin_protocol::ServerMessage::Pong { nonce: 3, .. }
    ));
}

#[tokio::test]
async fn a_model_server_that_stalls_gets_an_answer_in_time_and_it_is_stored() {
    use std::io::{Read, Write};
    // Accepts, answers with an event stream's headers, then says nothing at all.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
            );
            held.push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let llm = format!(
        "backend = \"openai\"\nmax_tokens = 64\nfirst_token_timeout_s = 1.0\nreply_timeout_s = 3.0\n\
         [llm.openai]\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"stalls\""
    );
    let config = Config::parse(
        &dir.path().join("s.toml"),
        &common::config_text(&dir.path().join("t.db"), &llm),
    )
    .unwrap();
    let addr = common::start_in_background(AppState::load(config).unwrap());
    let mut c = Client::hello(&addr, TOKEN, None).await;
    let (session, _) = c.welcome().await;
    let r = c.ask("s1", "Are we profitable yet?").await;
    assert!(r.text.contains("can't answer that right now"), "{r:?}");
    assert!(!r.interrupted);
    // Stored like any reply: a resumed session sees it in its history.
    drop(c);
    let mut again = Client::hello(&addr, TOKEN, Some(&session)).await;
    let (_, history) = again.welcome().await;
    assert!(
        history
            .iter()
            .any(|t| t.text.contains("can't answer that right now")),
        "{history:?}"
    );
}
