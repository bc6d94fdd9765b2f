//! One client's connection, under the protocol's sessions and rooms: what goes out to the socket, reading the
//! client's frames (pings while it is quiet, the idle timeout, the server's stop), and admission (a token's
//! grant and its holder's place, turns a minute).

use crate::app::AppState;
use crate::config::LimitsConfig;
use crate::shutdown::Stopping;
use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc;
use twin_protocol::{ErrorCode, ServerMessage, close_code};

/// What the writer task sends down the socket.
pub(crate) enum Outgoing {
    Message(ServerMessage),
    /// A WebSocket ping: the client's pong proves the link alive (it does not count as activity).
    Ping,
    Close(u16, String),
}

/// What the client did next.
pub(crate) enum Incoming {
    Frame(Message),
    /// It left, its link broke, or it stayed silent past the idle timeout (then told so, 1001).
    Gone,
    /// The server is stopping: the session ends its reply and closes with 1012.
    Stopping,
}

/// Reads a client's frames. While it is quiet the server pings it every `ping_interval_s`; its pongs keep the
/// link known alive but are not activity: after `idle_timeout_s` without a frame of its own the connection is
/// closed (1001).
pub(crate) struct Reader {
    pub stream: futures_util::stream::SplitStream<WebSocket>,
    pub out: mpsc::Sender<Outgoing>,
    pub limits: LimitsConfig,
    pub stopping: Stopping,
}

impl Reader {
    pub async fn next(&mut self) -> Incoming {
        let quiet_since = Instant::now();
        let idle = LimitsConfig::seconds(self.limits.idle_timeout_s);
        let ping = LimitsConfig::seconds(self.limits.ping_interval_s);
        loop {
            let left = idle.saturating_sub(quiet_since.elapsed());
            if left.is_zero() {
                let reason = format!("idle for {} s", self.limits.idle_timeout_s);
                let _ = self
                    .out
                    .send(Outgoing::Close(close_code::GOING_AWAY, reason))
                    .await;
                return Incoming::Gone;
            }
            let frame = tokio::select! {
                frame = tokio::time::timeout(ping.min(left), self.stream.next()) => frame,
                () = self.stopping.wait() => return Incoming::Stopping,
            };
            match frame {
                Ok(Some(Ok(Message::Pong(_)))) => continue,
                Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) => {
                    return Incoming::Gone;
                }
                Ok(Some(Ok(message))) => return Incoming::Frame(message),
                Err(_) => {
                    let _ = self.out.send(Outgoing::Ping).await;
                }
            }
        }
    }
}

/// The close that tells a client the server is restarting, and when to come back.
pub(crate) fn restarting() -> Outgoing {
    Outgoing::Close(
        close_code::SERVICE_RESTART,
        "the server is restarting: reconnect in a few seconds".into(),
    )
}

/// A token holder let in: their name, and their place among the token's open sessions.
pub(crate) struct Admitted {
    pub holder: String,
    pub(crate) _place: crate::gate::Place,
}

/// A store failure as the client sees it: what happened, not the database's words (those go to the log).
pub(crate) fn store_failed(e: crate::store::StoreError) -> (ErrorCode, String) {
    tracing::error!(error = %e, "the conversation store failed");
    (
        ErrorCode::Internal,
        "the server could not read or write the conversation; try again".into(),
    )
}

/// Whether `holder` may send another turn this minute; if not, the client is told so (the session goes on).
pub(crate) fn turn_allowed(state: &AppState, holder: &str, out: &mpsc::Sender<Outgoing>) -> bool {
    let Err(wait) = state.gate.turn(holder) else {
        return true;
    };
    state.metrics.turns_refused.fetch_add(1, Ordering::Relaxed);
    let message = format!(
        "more than {} turns a minute with this token: this one was not taken; try again in {} s",
        state.config.limits.turns_per_minute,
        wait.as_secs().max(1)
    );
    let _ = out.try_send(Outgoing::Message(ServerMessage::error(
        ErrorCode::RateLimited,
        message,
    )));
    false
}

/// The grant of a token that may converse, and its holder's place among the token's open sessions. An unknown
/// token counts against its address.
pub(crate) fn conversing(
    state: &AppState,
    token: &str,
    ip: std::net::IpAddr,
) -> Result<(crate::auth::Grant, Admitted), (ErrorCode, String)> {
    let Some(grant) = state.authenticate(token) else {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        state.gate.failed(ip);
        return Err((
            ErrorCode::Unauthorized,
            "unknown or missing auth token".into(),
        ));
    };
    if !grant.may(crate::auth::Capability::Converse) {
        return Err((
            ErrorCode::Unauthorized,
            "this token may not converse with the twin".into(),
        ));
    }
    let Some(place) = state.gate.holder(&grant.holder) else {
        return Err((
            ErrorCode::TooManyConnections,
            format!(
                "this token already has {} sessions open",
                state.config.limits.connections_per_token
            ),
        ));
    };
    let admitted = Admitted {
        holder: grant.holder.clone(),
        _place: place,
    };
    Ok((grant.clone(), admitted))
}

/// Refuses a persona the token does not reach.
pub fn reaching(grant: &crate::auth::Grant, persona: &str) -> Result<(), (ErrorCode, String)> {
    match grant.reaches(persona) {
        true => Ok(()),
        false => Err((
            ErrorCode::Unauthorized,
            format!("this token does not reach persona {persona:?}"),
        )),
    }
}

/// WebSocket close reasons are limited to 123 bytes; cut at a character boundary.
pub(crate) fn close_reason(message: &str) -> String {
    let mut end = message.len().min(120);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end].to_string()
}
