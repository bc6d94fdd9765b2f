//! Measurements shared by the `twin-bench` binary (which writes BENCHMARKS.md) and the tests that hold the
//! same figures to their targets.

pub mod avatar;
pub mod headset;
pub mod lipsync;
pub mod listen;
pub mod rooms;

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
