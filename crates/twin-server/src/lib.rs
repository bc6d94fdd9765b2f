//! The Twin edge server.
//!
//! Data flows one way per turn: session (WebSocket) → reading the turn (normalised text, intent) → retrieval over
//! the persona pack (follow-ups resolved) → the person's own sentences (or LLM → sentence splitter → claim check)
//! → sentences with the source sentences they rest on → client, with every turn stored first; for voice
//! clients each checked sentence goes on to speech synthesis → lip-sync → client, on one sample clock.

pub mod app;
pub mod auth;
pub mod config;
pub mod connection;
pub mod console;
pub mod gate;
pub mod guardrails;
pub mod metrics;
pub mod persona;
pub mod reply;
pub mod rooms;
pub mod serve;
pub mod session;
pub mod sharing;
pub mod shutdown;
pub mod speaking;
pub mod speech;
pub mod store;
mod sync;
pub mod voices;

pub use app::{AppState, router};
pub use config::Config;

/// Binds, prints `listening on ADDR` (scripts wait for it) and serves until Ctrl-C or SIGTERM.
pub async fn serve(state: std::sync::Arc<AppState>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(&state.config.server.listen).await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    let scheme = if state.tls.is_some() {
        "https, wss"
    } else {
        "plaintext http, ws"
    };
    tracing::info!(%addr, scheme, "twin-server ready");
    serve_on(listener, state).await
}

/// Serves on a listener bound by the caller (tests, embedding in other programs) until Ctrl-C or SIGTERM: TLS
/// where the state has it (see [`serve::serve_until`]).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: std::sync::Arc<AppState>,
) -> std::io::Result<()> {
    serve::serve_until(listener, state, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
