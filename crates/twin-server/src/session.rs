//! A conversation with the twin: a one-to-one session opened or resumed by a hello and served until the client
//! leaves, or a room's shared conversation, which the room drives (see [`crate::rooms`]): the user's turns, the
//! reply in flight (starting, interrupting, keeping what was heard), and the task that makes, sends and stores
//! a reply.

use crate::app::AppState;
use crate::connection::{
    Admitted, Incoming, Link, Read, code_name, reaching, restarting, store_failed,
};
use crate::persona::Persona;
use crate::reply::{Replier, ReplyError, ReplyOutcome, Sent, Turn};
use crate::speaking::{SpeechControl, SpeechFeed, SpeechOptions};
use crate::store::{ReplyRecord, Store};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use twin_protocol::{
    Attachment, AudioRequest, ClientMessage, ErrorCode, Heard, HistoryTurn, MAX_HISTORY_TURNS,
    PROTOCOL_VERSION, ReplyKind, ServerMessage, TwinState,
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

/// A user turn as said: the client's id for it, its words and the document it presents, if any.
#[derive(Debug, Clone)]
pub(crate) struct SaidTurn {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) attachment: Option<Attachment>,
    /// The earlier turn (its id, as stored) this one says again whole.
    pub(crate) revises: Option<String>,
}

/// A user turn in the store.
struct Stored {
    seq: u64,
    /// It was not there yet (not a resend).
    created: bool,
    /// Its answer is in the store too.
    answered: bool,
    /// The conversation up to it, when asked for.
    history: Option<Vec<HistoryTurn>>,
}

impl Session {
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
        if turns.len() == 1 && self.answering(&last_id) {
            // A resend of the turn being answered right now: acknowledge it again, let the answer go on.
            self.acknowledge_again(last_id).await;
            return;
        }
        if let Some(active) = self.active.take() {
            // Talking over the twin is an interruption: everything sent so far counts as heard.
            self.cut_reply(active, None).await;
        }
        let mut first: Option<(u64, Vec<HistoryTurn>)> = None;
        let (mut any_created, mut answered) = (false, false);
        let mut seqs = Vec::with_capacity(turns.len());
        for said in &turns {
            // The history before the batch is read with its first turn only.
            let Some(stored) = self.store_turn(said, speaker, first.is_none()).await else {
                return;
            };
            any_created |= stored.created;
            answered = stored.answered;
            seqs.push(stored.seq);
            if let Some(history) = stored.history {
                first.get_or_insert((stored.seq, history));
            }
        }
        if !any_created && answered {
            return;
        }
        let Some((first_seq, mut history)) = first else {
            return;
        };
        history.retain(|t| t.seq < first_seq);
        let said = merged(turns, last_id);
        let speaker = speaker.map(str::to_string);
        self.start_reply(Some(said), Some(history), Some(arrived), speaker, seqs)
            .await;
    }

    /// The turn `turn_id` is being answered right now.
    fn answering(&self, turn_id: &str) -> bool {
        self.active
            .as_ref()
            .is_some_and(|a| a.turn_id.as_deref() == Some(turn_id) && !a.task.is_finished())
    }

    async fn acknowledge_again(&self, turn_id: String) {
        let (sid, tid) = (self.id.clone(), turn_id.clone());
        if let Ok(Some(seq)) = self
            .state
            .store
            .run(move |c| Store::user_turn_seq(c, &sid, &tid))
            .await
        {
            let _ = self
                .out
                .send(ServerMessage::TurnAck {
                    turn_id,
                    seq,
                    answered: false,
                })
                .await;
        }
    }

    /// Stores a turn (and the turn it revises) and acknowledges it; with `history`, reads the conversation
    /// too. `None` when the store failed (the client is told to resend it).
    async fn store_turn(
        &self,
        said: &SaidTurn,
        speaker: Option<&str>,
        history: bool,
    ) -> Option<Stored> {
        // In a room the stored turn says who spoke; the twin answers the words themselves.
        let body = match speaker {
            Some(name) => format!("{name}: {}", said.text),
            None => said.text.clone(),
        };
        let (sid, tid, attachment) = (self.id.clone(), said.id.clone(), said.attachment.clone());
        let revises = said.revises.clone();
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
                let history = match history {
                    true => Some(Store::history(c, &sid, 8)?),
                    false => None,
                };
                Ok(Stored {
                    seq,
                    created,
                    answered,
                    history,
                })
            })
            .await;
        let stored = match stored {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(error = %e, "storing a user turn failed");
                self.error(
                    ErrorCode::Internal,
                    "the turn could not be stored; please resend it",
                )
                .await;
                return None;
            }
        };
        if stored.created {
            self.state
                .metrics
                .user_turns
                .fetch_add(1, Ordering::Relaxed);
        }
        let _ = self
            .out
            .send(ServerMessage::TurnAck {
                turn_id: said.id.clone(),
                seq: stored.seq,
                answered: stored.answered,
            })
            .await;
        Some(stored)
    }
}

/// One speaker's turns as one, under the last one's id: a turn said again whole later on is left out, and the
/// last document any of them carried is presented.
fn merged(turns: Vec<SaidTurn>, last_id: String) -> SaidTurn {
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
    let attachment = turns.into_iter().rev().find_map(|t| t.attachment);
    SaidTurn {
        id: last_id,
        text,
        attachment,
        revises: None,
    }
}

/// How long an interruption waits for a complete reply to be stored.
const FINISH_STORING: Duration = Duration::from_secs(5);

impl Session {
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
        let voice = self.voice().await;
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
        let speech = voice.zip(control.clone());
        let task = job.spawn(turn, history, speech, turn_started);
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

    /// The twin's voice, where the client asked for speech; the client is told if it did not load (the
    /// reply goes on as text).
    async fn voice(&self) -> Option<(Arc<dyn twin_voice::Synthesizer>, AudioRequest)> {
        let request = self.audio?;
        // Loaded once per persona (the first reply of the first voice session waits for it).
        let loaded = crate::voices::voice_of(
            &self.state.voices,
            &self.state.config,
            &self.persona.pack.meta,
        )
        .await;
        match loaded {
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

/// Tells the client the twin is listening again (after every reply, however it ended).
async fn listening(out: &mpsc::Sender<ServerMessage>) {
    let _ = out
        .send(ServerMessage::State {
            state: TwinState::Listening,
        })
        .await;
}

/// The twin's voice for a reply, what the client asked of it, and the reply's hold on its speech.
type Speech = (
    (Arc<dyn twin_voice::Synthesizer>, AudioRequest),
    SpeechControl,
);

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
    /// Runs the reply, and its speech, in a task of its own; the client is told the twin listens again after.
    fn spawn(
        self,
        turn: Option<SaidTurn>,
        history: Option<Vec<HistoryTurn>>,
        speech: Option<Speech>,
        turn_started: Option<Instant>,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let speech = speech.map(|((voice, request), control)| {
                crate::speaking::start(
                    self.state.metrics.clone(),
                    voice,
                    self.out.clone(),
                    self.reply_id.clone(),
                    control,
                    SpeechOptions {
                        lipsync: request.lipsync,
                        lead: Duration::from_millis(self.state.config.tts.lead_ms.into()),
                        turn_started,
                    },
                )
            });
            let (feed, speaking) = speech.unzip();
            let listen = self.run(turn, history, feed.as_ref()).await;
            // No more sentences: the speech ends once the last one is out.
            drop(feed);
            if let Some(speaking) = speaking {
                speaking.finish().await;
            }
            if listen {
                listening(&self.out).await;
            }
        })
    }

    /// Generates, sends and stores the reply. Returns whether the client should be told the twin listens again
    /// (not when the client is gone).
    async fn run(
        &self,
        turn: Option<SaidTurn>,
        history: Option<Vec<HistoryTurn>>,
        speech: Option<&SpeechFeed>,
    ) -> bool {
        let (state, persona) = (&self.state, &self.persona);
        let replier = Replier {
            speech,
            speaker: self.speaker.as_deref(),
            ..Replier::configured(state, persona, &self.out, &self.reply_id, &self.sent)
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
            Err(e) => match self.failed(e).await {
                Ok(outcome) => outcome,
                Err(listen) => return listen,
            },
        };
        {
            let mut s = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            if s.finalized {
                return false; // An interruption got there first and stored what was heard.
            }
            s.finalized = true;
        }
        self.store(outcome).await;
        true
    }

    /// The reply failed: the client is told so, and keeps whatever it was already sent (the reply as far as
    /// it got, to store; a reply that never started is not a turn). `Err` when there is nothing to store, with
    /// whether the client should be told the twin listens again.
    async fn failed(&self, e: ReplyError) -> Result<ReplyOutcome, bool> {
        tracing::warn!(error = %e, "reply failed");
        self.state.metrics.error("llm_unavailable");
        let _ = self
            .out
            .send(ServerMessage::error(
                ErrorCode::LlmUnavailable,
                "the twin cannot answer right now; try again in a moment",
            ))
            .await;
        let s = self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match s.kind {
            Some(_) if s.sentences.is_empty() => {
                // Started but nothing was said: close the reply, store no empty turn.
                self.finalize();
                let _ = self
                    .out
                    .send(ServerMessage::ReplyEnd {
                        reply_id: self.reply_id.clone(),
                        text: String::new(),
                        citations: vec![],
                        interrupted: false,
                        sentences: vec![],
                    })
                    .await;
                Err(true)
            }
            Some(kind) => Ok(s.outcome(kind, &self.persona)),
            None => {
                self.finalize();
                Err(true)
            }
        }
    }

    fn finalize(&self) {
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finalized = true;
    }

    /// Stores the complete reply, then ends it for the client.
    async fn store(&self, outcome: ReplyOutcome) {
        let ids: Vec<String> = outcome.citations.iter().map(|c| c.id.clone()).collect();
        let (text, kind_out) = (outcome.text.clone(), outcome.kind);
        let sentences = outcome.sentences.clone();
        let audit = self
            .sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .audit(&self.persona);
        let (rid, sid) = (self.reply_id.clone(), self.session_id.clone());
        let told = self.stored.clone();
        let stored = self
            .state
            .store
            .run(move |c| {
                let record = ReplyRecord {
                    reply_id: &rid,
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
            let _ = self
                .out
                .send(ServerMessage::error(
                    ErrorCode::Internal,
                    "the reply could not be stored",
                ))
                .await;
            return;
        }
        self.state.metrics.reply(outcome.kind.as_str());
        let _ = self
            .out
            .send(ServerMessage::ReplyEnd {
                reply_id: self.reply_id.clone(),
                text: outcome.text,
                citations: outcome.citations,
                interrupted: false,
                sentences: outcome.sentences,
            })
            .await;
    }
}
