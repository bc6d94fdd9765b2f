//! Measurements shared by the `twin-bench` binary (which writes BENCHMARKS.md) and the tests that hold the
//! same figures to their targets.

pub mod avatar;
pub mod console;
pub mod fidelity;
pub mod headset;
pub mod likeness;
pub mod lipsync;
pub mod listen;
pub mod rooms;
pub mod security;
pub mod spoken;
pub mod turns;
pub mod voice_to_voice;

/// The repository's root (assets, BENCHMARKS.md), and where `cargo xtask setup` put the models.
pub use twin_testkit::{models_dir, workspace_root as root};

/// The server's `/metrics` (Prometheus text) as `token` may read it; an error if it cannot be had.
pub fn metrics(addr: &str, token: &str) -> anyhow::Result<String> {
    let out = std::process::Command::new("curl")
        .args(["-fs", "-H", &format!("Authorization: Bearer {token}")])
        .arg(format!("http://{addr}/metrics"))
        .output()?;
    anyhow::ensure!(out.status.success(), "GET http://{addr}/metrics failed");
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The value at percentile `p` (0..=100) of `values`, nearest rank; NaN when there are none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[idx.min(v.len() - 1)]
}

/// A benchmark client's WebSocket to the server.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next server message on `ws` (control frames skipped).
pub async fn next_message(ws: &mut Ws) -> anyhow::Result<twin_protocol::ServerMessage> {
    use anyhow::Context as _;
    use futures_util::StreamExt as _;
    loop {
        match ws.next().await.context("the server closed the session")?? {
            tokio_tungstenite::tungstenite::Message::Text(t) => {
                return Ok(twin_protocol::ServerMessage::decode(&t)?);
            }
            _ => continue,
        }
    }
}

/// A session on the server at `addr` (token `bench`), past its welcome and opening disclosure (spoken to its
/// end for a voice session).
pub async fn open_session(
    addr: &str,
    audio: Option<twin_protocol::AudioRequest>,
) -> anyhow::Result<Ws> {
    use futures_util::SinkExt as _;
    use twin_protocol::{ClientMessage, PROTOCOL_VERSION, ServerMessage, TwinState};
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/session")).await?;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: "bench".into(),
        persona: None,
        session_id: None,
        client: Some("bench".into()),
        audio,
        room: None,
        remote: false,
        instance: None,
    };
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        hello.encode().into(),
    ))
    .await?;
    while !matches!(
        next_message(&mut ws).await?,
        ServerMessage::State {
            state: TwinState::Listening
        }
    ) {}
    Ok(ws)
}
