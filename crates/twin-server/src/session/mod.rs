//! A conversation with the twin: a one-to-one session opened or resumed by a hello and served until the client
//! leaves, or a room's shared conversation, which the room drives (see [`crate::rooms`]). The user's turns are
//! in [`turns`], the reply in flight (starting, interrupting, keeping what was heard) in [`replies`], and the
//! task that makes, sends and stores a reply in [`reply_task`].

mod replies;
mod reply_task;
mod turns;

pub(crate) use turns::SaidTurn;

use crate::app::AppState;
use crate::connection::{
    Admitted, Incoming, Link, Read, code_name, reaching, restarting, store_failed,
};
use crate::persona::Persona;
use crate::reply::Sent;
use crate::speaking::SpeechControl;
use crate::store::Store;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use twin_protocol::{
    AudioRequest, ClientMessage, ErrorCode, MAX_HISTORY_TURNS, PROTOCOL_VERSION, ReplyKind,
    ServerMessage,
};

/// A reply being generated, and how much of it the client has been sent.
struct ActiveReply {
    id: String,
    turn_id: Option<String>,
    task: JoinHandle<()>,
    sent: Arc<Mutex<Sent>>,
    kind: ReplyKind,
    /// The reply's speech, for voice sessions whose voice loaded.
    speech: Option<SpeechControl>,
    /// Turns true once the complete reply is in the store.
    stored: tokio::sync::watch::Receiver<bool>,
}

pub(crate) struct Session {
    state: Arc<AppState>,
    persona: Arc<Persona>,
    id: String,
    out: mpsc::Sender<ServerMessage>,
    active: Option<ActiveReply>,
    /// What a voice client asked for in its hello (a room: whether anyone in it did).
    pub(crate) audio: Option<AudioRequest>,
    /// Who opened it (a room's shared session has no one holder).
    admitted: Option<Admitted>,
}

/// What a hello asks to open.
pub(crate) struct Wanted<'a> {
    pub(crate) persona: Option<&'a str>,
    pub(crate) session_id: Option<&'a str>,
    pub(crate) audio: Option<AudioRequest>,
}

/// Opens the session a hello asks for, or resumes the token's earlier one: the welcome (with the history) and
/// the opening disclosure go to `out`.
pub(crate) async fn open(
    state: &Arc<AppState>,
    grant: &crate::auth::Grant,
    admitted: Admitted,
    wanted: Wanted<'_>,
    out: mpsc::Sender<ServerMessage>,
) -> Result<Session, (ErrorCode, String)> {
    let Wanted {
        persona: persona_id,
        session_id,
        audio,
    } = wanted;
    let owner = grant.holder.clone();
    let internal = store_failed;
    let (persona, id, resumed) = match session_id {
        Some(id) => {
            let wanted = id.to_string();
            let record = state
                .store
                .run(move |c| Store::session(c, &wanted))
                .await
                .map_err(internal)?;
            let Some(record) = record.filter(|r| r.owner == owner) else {
                return Err((
                    ErrorCode::UnknownSession,
                    format!("no session {id:?} for this token"),
                ));
            };
            if persona_id.is_some_and(|p| p != record.persona) {
                return Err((
                    ErrorCode::UnknownPersona,
                    format!("session {id:?} is with persona {:?}", record.persona),
                ));
            }
            let persona = state.persona(Some(&record.persona)).ok_or((
                ErrorCode::UnknownPersona,
                format!("persona {:?} is not loaded", record.persona),
            ))?;
            reaching(grant, persona.id())?;
            (persona, record.id, true)
        }
        None => {
            let persona = state.persona(persona_id).ok_or_else(|| {
                (
                    ErrorCode::UnknownPersona,
                    format!("no persona {:?} on this server", persona_id.unwrap_or("")),
                )
            })?;
            reaching(grant, persona.id())?;
            let id = uuid::Uuid::new_v4().to_string();
            let (sid, pid, who) = (id.clone(), persona.id().to_string(), owner.clone());
            state
                .store
                .run(move |c| Store::create_session(c, &sid, &pid, &who))
                .await
                .map_err(internal)?;
            (persona, id, false)
        }
    };
    let sid = id.clone();
    let history = state
        .store
        .run(move |c| Store::history(c, &sid, MAX_HISTORY_TURNS))
        .await
        .map_err(internal)?;
    let welcome = ServerMessage::Welcome {
        protocol: PROTOCOL_VERSION,
        session_id: id.clone(),
        resumed,
        persona: persona.info(),
        history,
    };
    out.send(welcome)
        .await
        .map_err(|_| (ErrorCode::Internal, "client gone".into()))?;
    let metric = if resumed {
        &state.metrics.sessions_resumed
    } else {
        &state.metrics.sessions_started
    };
    metric.fetch_add(1, Ordering::Relaxed);
    let mut session = Session::new(state.clone(), persona, id, out, audio);
    session.admitted = Some(admitted);
    // Said plainly at the start of every session, a resumed one too (whoever holds the device now hears it),
    // and stored like any reply.
    session
        .start_reply(None, None, None, None, Vec::new())
        .await;
    Ok(session)
}

/// Serves a one-to-one session after its handshake: the client's messages in order, until it leaves, the link
/// fails or the server stops; the reply in flight is then kept as interrupted, and the connection closed.
pub(crate) async fn serve(mut session: Session, mut link: Link) {
    let state = session.state.clone();
    state
        .metrics
        .sessions_active
        .fetch_add(1, Ordering::Relaxed);
    let stopped = loop {
        let text = match link.next().await {
            Incoming::Text(text) => text,
            Incoming::Binary => {
                session
                    .error(
                        ErrorCode::BadMessage,
                        "binary frames are reserved for audio in a later protocol version",
                    )
                    .await;
                continue;
            }
            Incoming::Gone => break false,
            Incoming::Stopping => break true,
        };
        match link.read(&state, &text).await {
            Read::Message(message) => session.take(message, &link).await,
            Read::Bad(e) => session.error(e.code(), &e.to_string()).await,
            Read::Over => break false,
        }
    };
    session.leave().await;
    state
        .metrics
        .sessions_active
        .fetch_sub(1, Ordering::Relaxed);
    drop(session);
    // Everything the session said goes out before the close.
    link.end(stopped.then(restarting)).await;
}

impl Session {
    /// A conversation that writes what the twin says to `out` (a client's writer, or a room's relay).
    pub(crate) fn new(
        state: Arc<AppState>,
        persona: Arc<Persona>,
        id: String,
        out: mpsc::Sender<ServerMessage>,
        audio: Option<AudioRequest>,
    ) -> Session {
        Session {
            state,
            persona,
            id,
            out,
            active: None,
            audio,
            admitted: None,
        }
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The session's current reply (being made, or its speech still playing, until the next one starts): its
    /// id and the turn it answers (`None`: the disclosure).
    pub(crate) fn current_reply(&self) -> Option<(&str, Option<&str>)> {
        self.active
            .as_ref()
            .map(|a| (a.id.as_str(), a.turn_id.as_deref()))
    }

    /// A reply is being made or its speech sent.
    pub(crate) fn replying(&self) -> bool {
        self.active.as_ref().is_some_and(|a| !a.task.is_finished())
    }

    /// The client (in a room, everyone) left mid-reply, or the server is stopping: keep what was sent, as
    /// interrupted.
    pub(crate) async fn leave(&mut self) {
        if let Some(active) = self.active.take() {
            self.cut_reply(active, None).await;
        }
    }

    /// Flags a reply of this session for the person's review (see [`crate::sharing`]).
    pub(crate) async fn flag(
        &self,
        reply_id: Option<String>,
        note: Option<String>,
    ) -> ServerMessage {
        crate::sharing::flag(&self.state.store, &self.id, reply_id, note).await
    }

    async fn error(&self, code: ErrorCode, message: &str) {
        self.state.metrics.error(&code_name(code));
        let _ = self.out.send(ServerMessage::error(code, message)).await;
    }

    /// One message of a one-to-one client (bye and what ends the connection were dealt with by `link`).
    async fn take(&mut self, message: ClientMessage, link: &Link) {
        match message {
            ClientMessage::Hello { .. } => {
                self.error(ErrorCode::BadMessage, "this session already said hello")
                    .await
            }
            ClientMessage::UserPartial { .. } | ClientMessage::Bye => {}
            ClientMessage::UserFinal {
                turn_id,
                text,
                attachment,
                revises,
            } => {
                let holder = self.admitted.as_ref().map(|a| a.holder.as_str());
                if holder.is_some_and(|h| !link.turn_allowed(&self.state, h)) {
                    return;
                }
                let said = SaidTurn {
                    id: turn_id,
                    text,
                    attachment,
                    revises,
                };
                self.user_turn(said, None).await
            }
            ClientMessage::Interrupted { reply_id, heard } => {
                self.interrupted(&reply_id, heard).await
            }
            ClientMessage::Share { shared } => {
                let noted = crate::sharing::share(&self.state.store, &self.id, shared).await;
                let _ = self.out.send(noted).await;
            }
            ClientMessage::Flag { reply_id, note } => {
                let noted = self.flag(reply_id, note).await;
                let _ = self.out.send(noted).await;
            }
            ClientMessage::Ping { nonce } => {
                let pong = ServerMessage::Pong {
                    nonce,
                    server_ms: twin_protocol::wall_ms(),
                };
                let _ = self.out.send(pong).await;
            }
            ClientMessage::Pose { .. }
            | ClientMessage::Voice { .. }
            | ClientMessage::Place { .. } => {
                self.error(
                    ErrorCode::BadMessage,
                    "poses and voice are relayed in rooms; this session is not in one",
                )
                .await
            }
        }
    }
}
