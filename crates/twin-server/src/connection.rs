//! One client's connection, from the WebSocket upgrade to its close: the socket (its frames read, pings while
//! the client is quiet, the idle timeout, the server's stop) and the one task writing to it; the handshake
//! (hello, the token's grant, its holder's place) that lets the client in as a one-to-one session or a room's
//! member, served then by [`crate::session::serve`] or [`crate::rooms::serve`]; admission (turns a minute) and
//! the fatal errors that close a connection.

use crate::app::AppState;
use crate::config::LimitsConfig;
use crate::rooms::{Joining, Membership};
use crate::session::{Session, Wanted};
use crate::shutdown::Stopping;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use twin_protocol::{ClientMessage, ErrorCode, ProtocolError, ServerMessage, close_code};

/// Frames beyond this are dropped by the WebSocket layer itself; between the protocol limit and this, the client
/// gets a `message_too_large` error and a clean close.
pub(crate) const HARD_FRAME_LIMIT: usize = 1 << 20;

/// What the connection itself sends down the socket, beside what the twin or the room says.
pub(crate) enum Outgoing {
    Message(ServerMessage),
    /// A WebSocket ping: the client's pong proves the link alive (it does not count as activity).
    Ping,
    Close(u16, String),
}

/// What the client did next.
pub(crate) enum Incoming {
    Text(Utf8Bytes),
    /// Reserved for audio in a later protocol version.
    Binary,
    /// It left, its link broke, or it stayed silent past the idle timeout (then told so, 1001).
    Gone,
    /// The server is stopping: the session ends its reply and closes with 1012.
    Stopping,
}

/// What a client's text frame says, once the connection has dealt with what ends it.
pub(crate) enum Read {
    Message(ClientMessage),
    /// It does not decode, but not so badly that the connection ends.
    Bad(ProtocolError),
    /// The client said bye, or sent what ends the connection (and was told why): it is closed.
    Over,
}

/// A client let in, ready to be served.
pub(crate) enum Joined {
    /// A one-to-one session, opened or resumed (its welcome and opening disclosure on their way).
    Solo(Session),
    /// A room's member, and its holder's place among the token's open sessions.
    Room(Membership, Admitted),
}

/// Serves one client's WebSocket from its hello to its close.
pub(crate) async fn run(socket: WebSocket, state: Arc<AppState>, peer: SocketAddr) {
    // Counted open until this returns: a stopping server waits for the reply in flight to be stored.
    let (_open, stopping) = state.shutdown.open();
    let mut link = Link::open(socket, state.config.limits.clone(), stopping);
    match handshake(&state, &mut link, peer).await {
        Some(Joined::Solo(session)) => crate::session::serve(session, link).await,
        Some(Joined::Room(membership, admitted)) => {
            crate::rooms::serve(&state, membership, admitted, link).await
        }
        None => link.end(None).await,
    }
}

/// Lets a client in: its hello, then the session it opens or resumes, or the room it joins. `None` when it is
/// not let in (then told why, and closed) or left first.
async fn handshake(state: &Arc<AppState>, link: &mut Link, peer: SocketAddr) -> Option<Joined> {
    let joined = match link.hello(state).await? {
        Ok(ClientMessage::Hello {
            room: Some(_),
            session_id: Some(_),
            ..
        }) => Err((
            ErrorCode::BadMessage,
            "a room is one shared session: join it without a session_id".into(),
        )),
        Ok(ClientMessage::Hello {
            token,
            room: Some(room),
            audio,
            client,
            remote,
            instance,
            ..
        }) => {
            let joining = Joining {
                audio: audio.is_some(),
                remote,
                instance,
            };
            join(state, link, peer, &token, &room, joining, client).await
        }
        Ok(ClientMessage::Hello {
            token,
            persona,
            session_id,
            client,
            audio,
            ..
        }) => {
            let wanted = Wanted {
                persona: persona.as_deref(),
                session_id: session_id.as_deref(),
                audio,
            };
            open(state, link, peer, &token, wanted, client).await
        }
        Ok(_) => Err((
            ErrorCode::HelloRequired,
            "the first message must be a hello".into(),
        )),
        Err(e) => {
            let code = match e.code() {
                ErrorCode::BadMessage => ErrorCode::HelloRequired,
                c => c,
            };
            Err((code, e.to_string()))
        }
    };
    match joined {
        Ok(joined) => Some(joined),
        Err((code, message)) => {
            link.fatal(state, code, message).await;
            None
        }
    }
}

/// A one-to-one session, opened or resumed for a token that may converse.
async fn open(
    state: &Arc<AppState>,
    link: &Link,
    peer: SocketAddr,
    token: &str,
    wanted: Wanted<'_>,
    client: Option<String>,
) -> Result<Joined, (ErrorCode, String)> {
    let (grant, admitted) = conversing(state, token, peer.ip())?;
    let session = crate::session::open(state, &grant, admitted, wanted, link.said()).await?;
    tracing::info!(session = %session.id(), client = client.as_deref().unwrap_or("?"), "session open");
    Ok(Joined::Solo(session))
}

/// A place in `room` for a token that may converse and is granted the room.
async fn join(
    state: &Arc<AppState>,
    link: &Link,
    peer: SocketAddr,
    token: &str,
    room: &str,
    joining: Joining,
    client: Option<String>,
) -> Result<Joined, (ErrorCode, String)> {
    let (grant, admitted) = conversing(state, token, peer.ip())?;
    let membership = state
        .rooms
        .join(state, room, &grant, joining, link.said())
        .await?;
    tracing::info!(%room, participant = %membership.participant.id, client = client.as_deref().unwrap_or("?"), "joined a room");
    Ok(Joined::Room(membership, admitted))
}

/// The client's socket: its frames read here, everything to it written by one task, in the order it was sent.
pub(crate) struct Link {
    stream: SplitStream<WebSocket>,
    /// The connection's own messages, pings and closes.
    out: mpsc::Sender<Outgoing>,
    /// What the twin or the room says to the client (see [`Link::said`]).
    said: mpsc::Sender<ServerMessage>,
    /// The close that goes out once nothing more can be said (see [`Link::end`]).
    last: oneshot::Sender<Outgoing>,
    writer: JoinHandle<()>,
    limits: LimitsConfig,
    stopping: Stopping,
}

impl Link {
    fn open(socket: WebSocket, limits: LimitsConfig, stopping: Stopping) -> Link {
        let (sink, stream) = socket.split();
        let (out, control) = mpsc::channel(limits.send_queue);
        let (said, messages) = mpsc::channel(limits.send_queue);
        let (last, last_word) = oneshot::channel();
        let writer = tokio::spawn(write(sink, messages, control, last_word));
        Link {
            stream,
            out,
            said,
            last,
            writer,
            limits,
            stopping,
        }
    }

    /// Where the twin or the room writes to this client. The writer takes it straight from there.
    pub(crate) fn said(&self) -> mpsc::Sender<ServerMessage> {
        self.said.clone()
    }

    pub(crate) async fn send(&self, item: Outgoing) {
        let _ = self.out.send(item).await;
    }

    /// The client's first frame, due within `limits.hello_timeout_s`; `None` if it left first or was too
    /// slow (then told so, and closed).
    async fn hello(&mut self, state: &AppState) -> Option<Result<ClientMessage, ProtocolError>> {
        let wait = LimitsConfig::seconds(self.limits.hello_timeout_s);
        match tokio::time::timeout(wait, self.stream.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => Some(ClientMessage::decode(&text)),
            Ok(Some(Ok(_))) => Some(Err(ProtocolError::Malformed(
                "the first frame must be a text hello".into(),
            ))),
            Ok(_) => None,
            Err(_) => {
                let message = format!("no hello within {} seconds", self.limits.hello_timeout_s);
                self.fatal(state, ErrorCode::HelloRequired, message).await;
                None
            }
        }
    }

    /// Reads the client's next frame. While it is quiet the server pings it every `ping_interval_s`; its pongs
    /// keep the link known alive but are not activity: after `idle_timeout_s` without a frame of its own the
    /// connection is closed (1001).
    pub(crate) async fn next(&mut self) -> Incoming {
        let mut quiet_since = Instant::now();
        let idle = LimitsConfig::seconds(self.limits.idle_timeout_s);
        let ping = LimitsConfig::seconds(self.limits.ping_interval_s);
        loop {
            let left = idle.saturating_sub(quiet_since.elapsed());
            if left.is_zero() {
                let reason = format!("idle for {} s", self.limits.idle_timeout_s);
                self.send(Outgoing::Close(close_code::GOING_AWAY, reason))
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
                Ok(Some(Ok(Message::Text(text)))) => return Incoming::Text(text),
                Ok(Some(Ok(Message::Binary(_)))) => return Incoming::Binary,
                // The client's own pings are activity.
                Ok(Some(Ok(_))) => quiet_since = Instant::now(),
                Err(_) => self.send(Outgoing::Ping).await,
            }
        }
    }

    /// Decodes a client's text frame; bye, and what ends the connection, are answered here (the close).
    pub(crate) async fn read(&self, state: &AppState, text: &str) -> Read {
        match ClientMessage::decode(text) {
            Ok(ClientMessage::Bye) => {
                self.send(Outgoing::Close(close_code::NORMAL, "bye".into()))
                    .await;
                Read::Over
            }
            Ok(message) => Read::Message(message),
            Err(e) if e.code().is_fatal() => {
                self.fatal(state, e.code(), e.to_string()).await;
                Read::Over
            }
            Err(e) => Read::Bad(e),
        }
    }

    /// Tells the client why it is closed, then closes with the code's close code.
    pub(crate) async fn fatal(&self, state: &AppState, code: ErrorCode, message: String) {
        tracing::info!(?code, %message, "closing session");
        let error = ServerMessage::error(code, message.clone());
        self.send(Outgoing::Message(error)).await;
        let reason = close_reason(&message);
        self.send(Outgoing::Close(code.close_code(), reason)).await;
        state.metrics.error(&code_name(code));
    }

    /// Whether `holder` may send another turn this minute; if not, the client is told so (the connection
    /// goes on).
    pub(crate) fn turn_allowed(&self, state: &AppState, holder: &str) -> bool {
        let Err(wait) = state.gate.turn(holder) else {
            return true;
        };
        state.metrics.turns_refused.fetch_add(1, Ordering::Relaxed);
        let message = format!(
            "more than {} turns a minute with this token: this one was not taken; try again in {} s",
            state.config.limits.turns_per_minute,
            wait.as_secs().max(1)
        );
        let refused = ServerMessage::error(ErrorCode::RateLimited, message);
        let _ = self.out.try_send(Outgoing::Message(refused));
        false
    }

    /// Ends the connection once everything said to the client is out, including what replies still finishing
    /// say; then `last` (a close) goes out, unless the connection was closed already.
    pub(crate) async fn end(self, last: Option<Outgoing>) {
        let Link {
            stream,
            out,
            said,
            last: last_word,
            writer,
            ..
        } = self;
        if let Some(close) = last {
            let _ = last_word.send(close);
        }
        // The writer finishes once every sender is gone: these, and those of the session or room.
        drop((stream, out, said));
        let _ = writer.await;
    }

    /// Closes the connection under a writer stuck on a full socket: `close` goes out only if the socket takes
    /// it within a moment.
    pub(crate) async fn abandon(self, close: Outgoing) {
        let _ = self.out.try_send(close);
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.writer.abort();
    }
}

/// The one task writing to the socket. What was said before a ping or a close goes out before it; the
/// writer stops after a close, or when the socket fails.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut said: mpsc::Receiver<ServerMessage>,
    mut control: mpsc::Receiver<Outgoing>,
    last: oneshot::Receiver<Outgoing>,
) {
    let mut open = true;
    while open {
        let item = tokio::select! {
            biased;
            Some(message) = said.recv() => Outgoing::Message(message),
            Some(item) = control.recv() => item,
            else => break,
        };
        open = send(&mut sink, item).await;
    }
    // Every sender is gone: nothing more can be said before the last word.
    if open && let Ok(close) = last.await {
        send(&mut sink, close).await;
    }
    let _ = sink.close().await;
}

/// Writes one item; whether the socket is still open for more.
async fn send(sink: &mut SplitSink<WebSocket, Message>, item: Outgoing) -> bool {
    let sent = match item {
        Outgoing::Message(m) => sink.send(Message::Text(m.encode().into())).await,
        Outgoing::Ping => sink.send(Message::Ping(Default::default())).await,
        Outgoing::Close(code, reason) => {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = sink.send(Message::Close(Some(frame))).await;
            return false;
        }
    };
    sent.is_ok()
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
    pub(crate) holder: String,
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

/// The grant of a token that may converse, and its holder's place among the token's open sessions. An unknown
/// token counts against its address.
fn conversing(
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
pub(crate) fn reaching(
    grant: &crate::auth::Grant,
    persona: &str,
) -> Result<(), (ErrorCode, String)> {
    match grant.reaches(persona) {
        true => Ok(()),
        false => Err((
            ErrorCode::Unauthorized,
            format!("this token does not reach persona {persona:?}"),
        )),
    }
}

/// The wire name of an error code (`llm_unavailable`), for metric labels.
pub(crate) fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// WebSocket close reasons are limited to 123 bytes; cut at a character boundary.
fn close_reason(message: &str) -> String {
    let mut end = message.len().min(120);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end].to_string()
}
