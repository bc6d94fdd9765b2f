//! One client session over a WebSocket: hello and auth, then user turns and twin replies until the client leaves.

use crate::app::AppState;
use crate::connection::{
    Admitted, Incoming, Outgoing, Reader, close_reason, conversing, reaching, restarting,
    store_failed, turn_allowed,
};
use crate::persona::Persona;
use crate::reply::{Replier, ReplyError, Sent, Turn};
use crate::rooms::Joining;
use crate::speaking::{SpeechControl, SpeechFeed, SpeechOptions};
use crate::store::{ReplyRecord, Store};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use twin_protocol::{
    Attachment, AudioRequest, ClientMessage, ErrorCode, Heard, HistoryTurn, MAX_HISTORY_TURNS,
    PROTOCOL_VERSION, ProtocolError, ReplyKind, ServerMessage, TwinState, close_code,
};

/// Frames beyond this are dropped by the WebSocket layer itself; between the protocol limit and this, the client
/// gets a `message_too_large` error and a clean close.
pub const HARD_FRAME_LIMIT: usize = 1 << 20;

/// A user turn as said: the client's id for it, its words and the document it presents, if any.
#[derive(Debug, Clone)]
pub(crate) struct SaidTurn {
    pub id: String,
    pub text: String,
    pub attachment: Option<Attachment>,
    /// The earlier turn (its id, as stored) this one says again whole.
    pub revises: Option<String>,
}

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

pub async fn run(socket: WebSocket, state: Arc<AppState>, peer: std::net::SocketAddr) {
    let limits = state.config.limits.clone();
    // Counted open until this returns: a stopping server waits for the reply in flight to be stored.
    let (_open, stopping) = state.shutdown.open();
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(limits.send_queue);
    let writer = tokio::spawn(async move {
        while let Some(item) = out_rx.recv().await {
            let result = match item {
                Outgoing::Message(m) => sink.send(Message::Text(m.encode().into())).await,
                Outgoing::Ping => sink.send(Message::Ping(Default::default())).await,
                Outgoing::Close(code, reason) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })))
                        .await;
                    break;
                }
            };
            if result.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    // Replies write through a channel of plain messages; forward them to the writer.
    let (msg_tx, mut msg_rx) = mpsc::channel::<ServerMessage>(limits.send_queue);
    let forward_tx = out_tx.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(m) = msg_rx.recv().await {
            if forward_tx.send(Outgoing::Message(m)).await.is_err() {
                break;
            }
        }
    });

    let fatal = |code: ErrorCode, message: String| {
        let out = out_tx.clone();
        let metrics_code = code_name(code);
        async move {
            tracing::info!(?code, %message, "closing session");
            let _ = out
                .send(Outgoing::Message(ServerMessage::error(
                    code,
                    message.clone(),
                )))
                .await;
            let _ = out
                .send(Outgoing::Close(code.close_code(), close_reason(&message)))
                .await;
            metrics_code
        }
    };

    let hello_timeout = crate::config::LimitsConfig::seconds(limits.hello_timeout_s);
    let hello = match tokio::time::timeout(hello_timeout, stream.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => ClientMessage::decode(&text),
        Ok(Some(Ok(_))) => Err(ProtocolError::Malformed(
            "the first frame must be a text hello".into(),
        )),
        Ok(_) => return finish(writer, forwarder).await,
        Err(_) => {
            let code = fatal(
                ErrorCode::HelloRequired,
                format!("no hello within {} seconds", limits.hello_timeout_s),
            )
            .await;
            state.metrics.error(&code);
            drop((out_tx, msg_tx));
            return finish(writer, forwarder).await;
        }
    };
    if let Ok(ClientMessage::Hello {
        token,
        room: Some(room),
        audio,
        session_id,
        client,
        remote,
        instance,
        ..
    }) = &hello
    {
        let admitted = match session_id {
            Some(_) => Err((
                ErrorCode::BadMessage,
                "a room is one shared session: join it without a session_id".into(),
            )),
            None => conversing(&state, token, peer.ip()),
        };
        let joined = match &admitted {
            Err(refused) => Err(refused.clone()),
            Ok((grant, _)) => {
                state
                    .rooms
                    .join(
                        &state,
                        room,
                        grant,
                        Joining {
                            audio: audio.is_some(),
                            remote: *remote,
                            instance: instance.clone(),
                        },
                        msg_tx.clone(),
                    )
                    .await
            }
        };
        let membership = match joined {
            Ok(m) => m,
            Err((code, message)) => {
                state.metrics.error(&fatal(code, message).await);
                drop((out_tx, msg_tx));
                return finish(writer, forwarder).await;
            }
        };
        tracing::info!(%room, participant = %membership.participant.id, client = client.as_deref().unwrap_or("?"), "joined a room");
        drop(msg_tx);
        let holder = admitted.map(|(_, a)| a).ok();
        let mut reader = Reader {
            stream,
            out: out_tx.clone(),
            limits,
            stopping,
        };
        let mut stopped = false;
        loop {
            let frame = tokio::select! {
                frame = reader.next() => frame,
                () = membership.dropped() => {
                    // Its writer is stuck on a full socket: close the connection under it.
                    tracing::info!(%room, participant = %membership.participant.id, "dropped: too slow for the room");
                    let _ = out_tx.try_send(Outgoing::Close(close_code::TOO_SLOW, "too slow to keep up with the room".into()));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    writer.abort();
                    forwarder.abort();
                    return;
                }
            };
            let text = match frame {
                Incoming::Frame(Message::Text(text)) => text,
                Incoming::Frame(_) => continue,
                Incoming::Gone => break,
                Incoming::Stopping => {
                    stopped = true;
                    break;
                }
            };
            match ClientMessage::decode(&text) {
                Ok(ClientMessage::Bye) => {
                    let _ = out_tx
                        .send(Outgoing::Close(close_code::NORMAL, "bye".into()))
                        .await;
                    break;
                }
                Ok(ClientMessage::UserFinal { .. })
                    if holder
                        .as_ref()
                        .is_some_and(|h| !turn_allowed(&state, &h.holder, &out_tx)) => {}
                Ok(m) => {
                    if !membership.say(m).await {
                        break;
                    }
                }
                Err(e) if e.code().is_fatal() => {
                    state.metrics.error(&fatal(e.code(), e.to_string()).await);
                    break;
                }
                Err(e) => {
                    let _ = out_tx
                        .send(Outgoing::Message(ServerMessage::error(
                            e.code(),
                            e.to_string(),
                        )))
                        .await;
                }
            }
        }
        // Leaving stops every relay to this client.
        drop((membership, reader));
        if stopped {
            let _ = out_tx.send(restarting()).await;
        }
        drop(out_tx);
        return finish(writer, forwarder).await;
    }
    let session = match hello {
        Ok(ClientMessage::Hello {
            token,
            persona,
            session_id,
            client,
            audio,
            ..
        }) => {
            let opened = match conversing(&state, &token, peer.ip()) {
                Ok((grant, admitted)) => {
                    let wanted = Wanted {
                        persona: persona.as_deref(),
                        session_id: session_id.as_deref(),
                        audio,
                    };
                    open(&state, &grant, admitted, wanted, msg_tx.clone()).await
                }
                Err(refused) => Err(refused),
            };
            match opened {
                Ok(session) => {
                    tracing::info!(session = %session.id, client = client.as_deref().unwrap_or("?"), "session open");
                    Some(session)
                }
                Err((code, message)) => {
                    state.metrics.error(&fatal(code, message).await);
                    None
                }
            }
        }
        Ok(_) => {
            state.metrics.error(
                &fatal(
                    ErrorCode::HelloRequired,
                    "the first message must be a hello".into(),
                )
                .await,
            );
            None
        }
        Err(e) => {
            let code = match e.code() {
                ErrorCode::BadMessage => ErrorCode::HelloRequired,
                c => c,
            };
            state.metrics.error(&fatal(code, e.to_string()).await);
            None
        }
    };
    let Some(mut session) = session else {
        drop((out_tx, msg_tx));
        return finish(writer, forwarder).await;
    };
    drop(msg_tx);
    state
        .metrics
        .sessions_active
        .fetch_add(1, Ordering::Relaxed);

    let mut reader = Reader {
        stream,
        out: out_tx.clone(),
        limits,
        stopping,
    };
    let mut stopped = false;
    loop {
        let text = match reader.next().await {
            Incoming::Frame(Message::Text(text)) => text,
            Incoming::Gone => break,
            Incoming::Stopping => {
                stopped = true;
                break;
            }
            Incoming::Frame(Message::Binary(_)) => {
                session
                    .error(
                        ErrorCode::BadMessage,
                        "binary frames are reserved for audio in a later protocol version",
                    )
                    .await;
                continue;
            }
            Incoming::Frame(_) => continue,
        };
        let message = match ClientMessage::decode(&text) {
            Ok(m) => m,
            Err(e) if e.code().is_fatal() => {
                state.metrics.error(&fatal(e.code(), e.to_string()).await);
                break;
            }
            Err(e) => {
                session.error(e.code(), &e.to_string()).await;
                continue;
            }
        };
        match message {
            ClientMessage::Hello { .. } => {
                session
                    .error(ErrorCode::BadMessage, "this session already said hello")
                    .await
            }
            ClientMessage::UserPartial { .. } => {}
            ClientMessage::UserFinal {
                turn_id,
                text,
                attachment,
                revises,
            } => {
                let holder = session.admitted.as_ref().map(|a| a.holder.clone());
                if holder.is_some_and(|h| !turn_allowed(&state, &h, &out_tx)) {
                    continue;
                }
                let said = SaidTurn {
                    id: turn_id,
                    text,
                    attachment,
                    revises,
                };
                session.user_turn(said, None).await
            }
            ClientMessage::Interrupted { reply_id, heard } => {
                session.interrupted(&reply_id, heard).await
            }
            ClientMessage::Share { shared } => {
                let noted = crate::sharing::share(&state.store, &session.id, shared).await;
                let _ = session.out.send(noted).await;
            }
            ClientMessage::Flag { reply_id, note } => {
                let noted = session.flag(reply_id, note).await;
                let _ = session.out.send(noted).await;
            }
            ClientMessage::Ping { nonce } => {
                let pong = ServerMessage::Pong {
                    nonce,
                    server_ms: twin_protocol::wall_ms(),
                };
                let _ = session.out.send(pong).await;
            }
            ClientMessage::Pose { .. }
            | ClientMessage::Voice { .. }
            | ClientMessage::Place { .. } => {
                session
                    .error(
                        ErrorCode::BadMessage,
                        "poses and voice are relayed in rooms; this session is not in one",
                    )
                    .await
            }
            ClientMessage::Bye => {
                let _ = out_tx
                    .send(Outgoing::Close(close_code::NORMAL, "bye".into()))
                    .await;
                break;
            }
        }
    }
    if let Some(active) = session.active.take() {
        // The client left mid-reply, or the server is stopping: keep what it was sent, as interrupted.
        session.cut_reply(active, None).await;
    }
    state
        .metrics
        .sessions_active
        .fetch_sub(1, Ordering::Relaxed);
    drop((session, reader));
    // Everything the session said goes out before the close.
    let _ = forwarder.await;
    if stopped {
        let _ = out_tx.send(restarting()).await;
    }
    drop(out_tx);
    let _ = writer.await;
}

async fn finish(writer: JoinHandle<()>, forwarder: JoinHandle<()>) {
    let _ = forwarder.await;
    let _ = writer.await;
}

/// What a hello asks to open.
struct Wanted<'a> {
    persona: Option<&'a str>,
    session_id: Option<&'a str>,
    audio: Option<AudioRequest>,
}

async fn open(
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

    /// A reply is being made or its speech sent.
    /// The session's current reply (being made, or its speech still playing, until the next one starts): its
    /// id and the turn it answers (`None`: the disclosure).
    pub(crate) fn current_reply(&self) -> Option<(&str, Option<&str>)> {
        self.active
            .as_ref()
            .map(|a| (a.id.as_str(), a.turn_id.as_deref()))
    }

    pub(crate) fn replying(&self) -> bool {
        self.active.as_ref().is_some_and(|a| !a.task.is_finished())
    }

    /// Everyone left mid-reply: keep what was sent.
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

    /// A user turn; in a room `speaker` names who said it.
    pub(crate) async fn user_turn(&mut self, turn: SaidTurn, speaker: Option<&str>) {
        self.user_turns(vec![turn], speaker).await
    }

    /// Turns of one speaker answered by one reply (in a room, what someone said while waiting for the
    /// floor): each stored and acknowledged under its own id, the reply naming the last.
    pub(crate) async fn user_turns(&mut self, turns: Vec<SaidTurn>, speaker: Option<&str>) {
        let arrived = Instant::now();
        let Some(last_id) = turns.last().map(|t| t.id.clone()) else {
            return;
        };
        if turns.len() == 1
            && self.active.as_ref().is_some_and(|a| {
                a.turn_id.as_deref() == Some(last_id.as_str()) && !a.task.is_finished()
            })
        {
            // A resend of the turn being answered right now: acknowledge it again, let the answer go on.
            let (sid, tid) = (self.id.clone(), last_id.clone());
            if let Ok(Some(seq)) = self
                .state
                .store
                .run(move |c| Store::user_turn_seq(c, &sid, &tid))
                .await
            {
                let _ = self
                    .out
                    .send(ServerMessage::TurnAck {
                        turn_id: last_id,
                        seq,
                        answered: false,
                    })
                    .await;
            }
            return;
        }
        if let Some(active) = self.active.take() {
            // Talking over the twin is an interruption: everything sent so far counts as heard.
            self.cut_reply(active, None).await;
        }
        let mut first: Option<(u64, Vec<HistoryTurn>)> = None;
        let (mut any_created, mut answered) = (false, false);
        let mut seqs = Vec::with_capacity(turns.len());
        for SaidTurn {
            id: turn_id,
            text,
            attachment,
            revises,
        } in &turns
        {
            // In a room the stored turn says who spoke; the twin answers the words themselves.
            let body = match speaker {
                Some(name) => format!("{name}: {text}"),
                None => text.clone(),
            };
            let (sid, tid, attachment) = (self.id.clone(), turn_id.clone(), attachment.clone());
            let revises = revises.clone();
            // The history before the batch is read with its first turn only.
            let want_history = first.is_none();
            let stored = self
                .state
                .store
                .run(move |c| {
                    let (seq, created) =
                        Store::add_user_turn(c, &sid, &tid, &body, attachment.as_ref())?;
                    if let Some(revised) = &revises {
                        Store::revise(c, &sid, revised, &tid)?;
                    }
                    // A resent turn is answered again only if its answer never made it into the store.
                    let answered = !created && Store::is_answered(c, &sid, seq)?;
                    let history = match want_history {
                        true => Some(Store::history(c, &sid, 8)?),
                        false => None,
                    };
                    Ok((seq, created, answered, history))
                })
                .await;
            let (seq, created, was_answered, history) = match stored {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(error = %e, "storing a user turn failed");
                    self.error(
                        ErrorCode::Internal,
                        "the turn could not be stored; please resend it",
                    )
                    .await;
                    return;
                }
            };
            if created {
                self.state
                    .metrics
                    .user_turns
                    .fetch_add(1, Ordering::Relaxed);
            }
            any_created |= created;
            answered = was_answered;
            seqs.push(seq);
            if let Some(history) = history {
                first.get_or_insert((seq, history));
            }
            let _ = self
                .out
                .send(ServerMessage::TurnAck {
                    turn_id: turn_id.clone(),
                    seq,
                    answered: was_answered,
                })
                .await;
        }
        if !any_created && answered {
            return;
        }
        let Some((first_seq, mut history)) = first else {
            return;
        };
        history.retain(|t| t.seq < first_seq);
        // A turn said again whole later in the batch is left out.
        let text = turns
            .iter()
            .filter(|t| {
                !turns
                    .iter()
                    .any(|later| later.revises.as_ref() == Some(&t.id))
            })
            .map(|t| t.text.trim())
            .collect::<Vec<_>>()
            .join(" ");
        // Merged turns present the last document any of them carried.
        let attachment = turns.into_iter().rev().find_map(|t| t.attachment);
        let said = SaidTurn {
            id: last_id,
            text,
            attachment,
            revises: None,
        };
        self.start_reply(
            Some(said),
            Some(history),
            Some(arrived),
            speaker.map(str::to_string),
            seqs,
        )
        .await;
    }

    /// Starts a reply task: to a user turn, or the opening disclosure when `turn` is `None`.
    pub(crate) async fn start_reply(
        &mut self,
        turn: Option<SaidTurn>,
        history: Option<Vec<HistoryTurn>>,
        turn_started: Option<Instant>,
        speaker: Option<String>,
        answers: Vec<u64>,
    ) {
        // The persona as it stands now: a correction made in review counts from the next reply on.
        if let Some(now) = self.state.persona(Some(self.persona.id())) {
            self.persona = now;
        }
        // Unique across reconnects, so a stored reply id names one reply.
        let reply_id = format!("r-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let sent = Arc::new(Mutex::new(Sent {
            started: Some(turn_started.unwrap_or_else(Instant::now)),
            answers,
            ..Sent::default()
        }));
        let kind = if turn.is_some() {
            ReplyKind::Grounded
        } else {
            ReplyKind::Disclosure
        };
        let turn_id_of_reply = turn.as_ref().map(|t| t.id.clone());
        if turn.is_some() {
            let _ = self
                .out
                .send(ServerMessage::State {
                    state: TwinState::Thinking,
                })
                .await;
        }
        let voice = match self.audio {
            Some(request) => {
                // Loaded once per persona (the first reply of the first voice session waits for it).
                match crate::voices::voice_of(
                    &self.state.voices,
                    &self.state.config,
                    &self.persona.pack.meta,
                )
                .await
                {
                    Ok(voice) => Some((voice, request)),
                    Err(e) => {
                        tracing::warn!(error = %e, "the twin's voice did not load");
                        self.error(
                            ErrorCode::VoiceUnavailable,
                            "the twin's voice is unavailable; replies go on as text",
                        )
                        .await;
                        None
                    }
                }
            }
            None => None,
        };
        let control = voice.as_ref().map(|_| SpeechControl::default());
        let (stored_tx, stored) = tokio::sync::watch::channel(false);
        let job = ReplyJob {
            stored: Arc::new(stored_tx),
            state: self.state.clone(),
            persona: self.persona.clone(),
            out: self.out.clone(),
            reply_id: reply_id.clone(),
            sent: sent.clone(),
            session_id: self.id.clone(),
            speaker,
        };
        let speech_control = control.clone();
        let task = tokio::spawn(async move {
            let speech = match (voice, speech_control) {
                (Some((voice, request)), Some(control)) => Some(crate::speaking::start(
                    job.state.metrics.clone(),
                    voice,
                    job.out.clone(),
                    job.reply_id.clone(),
                    control,
                    SpeechOptions {
                        lipsync: request.lipsync,
                        lead: Duration::from_millis(job.state.config.tts.lead_ms.into()),
                        turn_started,
                    },
                )),
                _ => None,
            };
            let (feed, speaking) = speech.unzip();
            let listen = job.run(turn, history, feed.as_ref()).await;
            // No more sentences: the speech ends once the last one is out.
            drop(feed);
            if let Some(speaking) = speaking {
                speaking.finish().await;
            }
            if listen {
                listening(&job.out).await;
            }
        });
        self.active = Some(ActiveReply {
            id: reply_id,
            turn_id: turn_id_of_reply,
            task,
            sent,
            kind,
            speech: control,
            stored,
        });
    }

    pub(crate) async fn interrupted(&mut self, reply_id: &str, heard: Heard) {
        let active = self.active.take_if(|a| a.id == reply_id);
        match (heard, active) {
            (Heard::Chars(chars), Some(active)) => self.cut_reply(active, Some(chars)).await,
            // An earlier reply, complete and stored: cut the stored turn to what was heard.
            (Heard::Chars(chars), None) => self.truncate_stored(reply_id, chars).await,
            (Heard::Samples(n), Some(active)) => {
                let Some(speech) = active.speech.clone() else {
                    self.active = Some(active);
                    self.error(
                        ErrorCode::BadMessage,
                        "this reply has no audio: report heard chars",
                    )
                    .await;
                    return;
                };
                let chars = speech.heard(n).chars().count();
                self.cut_reply(active, Some(chars)).await;
            }
            // Samples count on a reply's speech, which only the session's current reply still has.
            (Heard::Samples(_), None) => {
                let message = if self.audio.is_none() {
                    "this session asked for no audio: report heard chars".to_string()
                } else {
                    format!("reply {reply_id:?} is not the one speaking now")
                };
                self.error(ErrorCode::UnknownReply, &message).await;
            }
        }
    }

    /// Cuts a stored reply to its first `chars` characters and tells the client what now stands.
    async fn truncate_stored(&self, reply_id: &str, chars: usize) {
        let (sid, rid) = (self.id.clone(), reply_id.to_string());
        match self
            .state
            .store
            .run(move |c| Store::truncate_reply(c, &sid, &rid, chars))
            .await
        {
            Ok(Some(heard)) => {
                let _ = self
                    .out
                    .send(ServerMessage::ReplyEnd {
                        reply_id: reply_id.to_string(),
                        text: heard.text,
                        citations: vec![],
                        interrupted: true,
                        sentences: heard.sentences,
                    })
                    .await;
            }
            Ok(None) => {
                self.error(
                    ErrorCode::UnknownReply,
                    &format!("no reply {reply_id:?} in this session"),
                )
                .await
            }
            Err(e) => {
                tracing::error!(error = %e, "storing an interruption failed");
                self.error(ErrorCode::Internal, "the interruption could not be stored")
                    .await;
            }
        }
    }

    /// Stops a reply (its text and its speech) and stores what the client heard of it: the first `heard_chars`
    /// characters, or with `None`, all it was sent (for a spoken reply, the text of the audio it was sent).
    async fn cut_reply(&mut self, active: ActiveReply, heard_chars: Option<usize>) {
        let speech_done = active.speech.as_ref().is_none_or(SpeechControl::finished);
        let heard_chars = heard_chars.or_else(|| {
            active
                .speech
                .as_ref()
                .filter(|_| !speech_done)
                .map(|s| s.heard(s.sent_samples()).chars().count())
        });
        if let Some(speech) = &active.speech {
            speech.stop();
        }
        let sent = {
            let mut s = active.sent.lock().unwrap_or_else(|p| p.into_inner());
            let already = s.finalized;
            s.finalized = true;
            (!already).then(|| s.clone())
        };
        let Some(sent) = sent else {
            // The text was complete, and may still be on its way into the store: the turn is cut to what
            // was heard once it is there (the write goes on without the task, and says when it is done).
            let listening_pending = !active.task.is_finished();
            active.task.abort();
            let mut stored = active.stored.clone();
            let _ = tokio::time::timeout(FINISH_STORING, stored.wait_for(|s| *s)).await;
            if let Some(chars) = heard_chars {
                self.truncate_stored(&active.id, chars).await;
            }
            if listening_pending {
                listening(&self.out).await;
            }
            return;
        };
        active.task.abort();
        let heard: String = match heard_chars {
            Some(n) => sent.text().chars().take(n).collect(),
            None => sent.text(),
        };
        let kind = sent.kind.unwrap_or(active.kind);
        let heard_sentences = crate::store::sentences_heard(&sent.sentences, heard.chars().count());
        let (rid, sid, text) = (active.id.clone(), self.id.clone(), heard.clone());
        let ids: Vec<String> = sent.citations();
        let (citations, sentences) = (ids.clone(), heard_sentences.clone());
        let audit = sent.audit(&self.persona);
        let stored = self
            .state
            .store
            .run(move |c| {
                let record = ReplyRecord {
                    reply_id: &rid,
                    kind,
                    text: &text,
                    citations: &citations,
                    sentences: &sentences,
                    interrupted: true,
                    audit: &audit,
                };
                Store::add_reply(c, &sid, &record)
            })
            .await;
        if let Err(e) = stored {
            tracing::error!(error = %e, "storing an interrupted reply failed");
        }
        let citations = ids
            .iter()
            .filter_map(|id| self.persona.citation(id))
            .collect();
        let _ = self
            .out
            .send(ServerMessage::ReplyEnd {
                reply_id: active.id,
                text: heard,
                citations,
                interrupted: true,
                sentences: heard_sentences,
            })
            .await;
        listening(&self.out).await;
    }
}

/// How long an interruption waits for a complete reply to be stored.
const FINISH_STORING: Duration = Duration::from_secs(5);

/// Everything a reply task needs, owned.
struct ReplyJob {
    state: Arc<AppState>,
    persona: Arc<Persona>,
    out: mpsc::Sender<ServerMessage>,
    reply_id: String,
    sent: Arc<Mutex<Sent>>,
    session_id: String,
    /// Who asked (a room's participant), for the model.
    speaker: Option<String>,
    /// Told once the complete reply is stored (by the store write itself, which outlives an aborted task).
    stored: Arc<tokio::sync::watch::Sender<bool>>,
}

impl ReplyJob {
    /// Generates, sends and stores the reply. Returns whether the client should be told the twin listens again
    /// (not when the client is gone).
    async fn run(
        &self,
        turn: Option<SaidTurn>,
        history: Option<Vec<HistoryTurn>>,
        speech: Option<&SpeechFeed>,
    ) -> bool {
        let (state, persona, out, rid) = (&self.state, &self.persona, &self.out, &self.reply_id);
        let replier = Replier {
            speech,
            speaker: self.speaker.as_deref(),
            ..Replier::configured(state, persona, out, rid, &self.sent)
        };
        let result = match &turn {
            Some(said) => {
                let asked = Turn {
                    text: &said.text,
                    attachment: said.attachment.as_ref(),
                    history: history.as_deref().unwrap_or(&[]),
                };
                replier.answer(Some(said.id.clone()), asked).await
            }
            None => {
                let recorded = self
                    .session_id
                    .strip_prefix("room:")
                    .is_some_and(|room| state.config.rooms.records(room));
                let text = persona.opening_text(recorded);
                replier.fixed(None, ReplyKind::Disclosure, &text).await
            }
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(ReplyError::ClientGone) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "reply failed");
                state.metrics.error("llm_unavailable");
                let _ = out
                    .send(ServerMessage::error(
                        ErrorCode::LlmUnavailable,
                        "the twin cannot answer right now; try again in a moment",
                    ))
                    .await;
                // Keep whatever the client was already sent; a reply that never started is not a turn.
                let s = self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
                match s.kind {
                    Some(_) if s.sentences.is_empty() => {
                        // Started but nothing was said: close the reply, store no empty turn.
                        self.sent
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .finalized = true;
                        let _ = out
                            .send(ServerMessage::ReplyEnd {
                                reply_id: rid.clone(),
                                text: String::new(),
                                citations: vec![],
                                interrupted: false,
                                sentences: vec![],
                            })
                            .await;
                        return true;
                    }
                    Some(kind) => s.outcome(kind, persona),
                    None => {
                        self.sent
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .finalized = true;
                        return true;
                    }
                }
            }
        };
        {
            let mut s = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            if s.finalized {
                return false; // An interruption got there first and stored what was heard.
            }
            s.finalized = true;
        }
        let ids: Vec<String> = outcome.citations.iter().map(|c| c.id.clone()).collect();
        let (text, kind_out) = (outcome.text.clone(), outcome.kind);
        let sentences = outcome.sentences.clone();
        let audit = self
            .sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .audit(persona);
        let (rid2, sid) = (rid.clone(), self.session_id.clone());
        let told = self.stored.clone();
        let stored = state
            .store
            .run(move |c| {
                let record = ReplyRecord {
                    reply_id: &rid2,
                    kind: kind_out,
                    text: &text,
                    citations: &ids,
                    sentences: &sentences,
                    interrupted: false,
                    audit: &audit,
                };
                let seq = Store::add_reply(c, &sid, &record)?;
                let _ = told.send(true);
                Ok(seq)
            })
            .await;
        if let Err(e) = stored {
            tracing::error!(error = %e, "storing a reply failed");
            let _ = out
                .send(ServerMessage::error(
                    ErrorCode::Internal,
                    "the reply could not be stored",
                ))
                .await;
            return true;
        }
        state.metrics.reply(outcome.kind.as_str());
        let _ = out
            .send(ServerMessage::ReplyEnd {
                reply_id: rid.clone(),
                text: outcome.text,
                citations: outcome.citations,
                interrupted: false,
                sentences: outcome.sentences,
            })
            .await;
        true
    }
}

/// The wire name of an error code (`llm_unavailable`), for metric labels.
pub fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Tells the client the twin is listening again (after every reply, however it ended).
async fn listening(out: &mpsc::Sender<ServerMessage>) {
    let _ = out
        .send(ServerMessage::State {
            state: TwinState::Listening,
        })
        .await;
}
