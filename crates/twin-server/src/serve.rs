//! The accept loop. Every connection, TLS or plaintext, takes a place of its address (`limits.
//! connections_per_ip`) or is closed at once; its TLS handshake runs beside the others with a deadline; hyper
//! serves it (HTTP/1.1 and WebSocket upgrades) with a deadline on the request's headers, so a client sending
//! them a byte at a time holds only its own place. Requests from an address barred for failed tokens get 429.

use crate::app::{AppState, router};
use crate::config::LimitsConfig;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt as _;

/// How long shutdown waits for plain HTTP requests in flight (WebSockets end with their sessions).
const DRAIN: Duration = Duration::from_secs(5);

/// Serves on `listener` until `shutdown` resolves: TLS where the state has it.
pub async fn serve_until(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let app = router(state.clone()).layer(axum::middleware::from_fn_with_state(
        state.clone(),
        turn_away_barred,
    ));
    let tls = state.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    // Each connection holds a sender: when all are gone, every connection has ended.
    let (open, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then go on.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(place) = state.gate.connection(peer.ip()) else {
            state
                .metrics
                .connections_refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(%peer, "too many connections from this address");
            continue;
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY not set on a connection: {e}");
        }
        let connection = Connection {
            app: app.clone(),
            peer,
            limits: state.config.limits.clone(),
            stop: stop.clone(),
            _open: open.clone(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let _place = place;
            match tls {
                Some(acceptor) => connection.serve_tls(acceptor, tcp).await,
                None => connection.serve(tcp).await,
            }
        });
    }
    drop(listener);
    // Sessions end first (each stores its reply in flight and says why it closes), then plain requests.
    state.shutdown.begin();
    let left = state.shutdown.drained(DRAIN).await;
    if left > 0 {
        tracing::warn!(
            sessions = left,
            "shutdown: sessions still open were dropped"
        );
    }
    let _ = stopping.send(true);
    drop(open);
    if tokio::time::timeout(DRAIN, all_closed.recv())
        .await
        .is_err()
    {
        tracing::info!("shutdown: HTTP requests still in flight were dropped");
    }
    Ok(())
}

/// One accepted connection and what serving it needs.
struct Connection {
    app: axum::Router,
    peer: SocketAddr,
    limits: LimitsConfig,
    /// Turns true when the server stops: the connection finishes its request and closes.
    stop: tokio::sync::watch::Receiver<bool>,
    _open: tokio::sync::mpsc::Sender<()>,
}

impl Connection {
    async fn serve_tls(self, acceptor: tokio_rustls::TlsAcceptor, tcp: TcpStream) {
        let deadline = LimitsConfig::seconds(self.limits.handshake_timeout_s);
        match tokio::time::timeout(deadline, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => self.serve(tls).await,
            Ok(Err(e)) => tracing::debug!(peer = %self.peer, "TLS handshake failed: {e}"),
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn serve<Io>(self, io: Io)
    where
        Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let service = self
            .app
            .map_request(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let service = hyper_util::service::TowerToHyperService::new(service);
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(LimitsConfig::seconds(self.limits.header_timeout_s));
        let connection = http
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let mut connection = std::pin::pin!(connection);
        let mut stop = self.stop;
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            _ = stopped(&mut stop) => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = ended {
            tracing::debug!(%peer, "connection ended: {e}");
        }
    }
}

/// Resolves once the server is stopping (or gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// 429 for an address with too many failed tokens this minute, with when to come back.
async fn turn_away_barred(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    match state.gate.barred(peer.ip()) {
        None => next.run(request).await,
        Some(wait) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
            "too many wrong tokens from this address: try again later\n",
        )
            .into_response(),
    }
}
