//! Rooms: several people meet one twin together. A room is one conversation with the twin (one stored
//! session, `room:<id>`, so it outlives a restart) and the people in it; joining needs a token that grants
//! the room. One task per room owns the conversation (the same `Session` a one-to-one client has) and relays
//! what the twin says to everyone in it; every turn is attributed to its speaker (the token's name): stored as
//! "Name: text" (the room's history says who said what), and the model is told who asks.
//!
//! Turn rule: one person at a time has the twin's answer. A turn said while the twin is answering (or its
//! answer is still playing on the shared timeline) waits its turn, first come first served; more words from
//! someone already waiting join their waiting turn (one reply answers both). A participant who cuts the
//! twin off (`interrupted`, sent by a voice client on barge-in) takes the floor: their next turn is answered
//! at once, ahead of those waiting.
//!
//! Presence: poses and voice go from each participant to the others as they come, never queued behind the
//! twin's words (a slow client loses poses and voice chunks rather than holding the room up).
//!
//! Shared timeline: a reply's speech starts at the same moment on the server's clock for everyone
//! (`audio.play_at_ms`, set when its first chunk leaves plus `[rooms] playback_lead_ms`).

use crate::app::AppState;
use crate::connection::{Admitted, Incoming, Link, Outgoing, Read, restarting, store_failed};
use crate::persona::Persona;
use crate::session::{SaidTurn, Session};
use crate::store::Store;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use twin_protocol::{
    AudioRequest, ClientMessage, ErrorCode, MAX_HISTORY_TURNS, PROTOCOL_VERSION, Participant,
    ServerMessage, TwinState, close_code, wall_ms,
};

/// The open rooms: each a task reached by its command channel.
#[derive(Default)]
pub struct Rooms {
    open: Mutex<HashMap<String, mpsc::Sender<Command>>>,
    /// Numbers each joining connection (a participant may come back on a new one).
    next_connection: std::sync::atomic::AtomicU64,
}

/// How a client joins: what it wants and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Joining {
    /// It wants the twin's speech and lip-sync (and the others' voices).
    pub(crate) audio: bool,
    /// It is not in the physical room with the twin: it gets a seat.
    pub(crate) remote: bool,
    /// The client's instance: with the token's holder, who the participant is across reconnects.
    pub(crate) instance: Option<String>,
}

/// A participant's id: the same for a holder's client instance whenever it (re)joins, even after a server
/// restart (its stored turns are `<id>/<turn id>`, so a resent turn is known); a fresh one without an instance.
fn participant_id(holder: &str, instance: Option<&str>) -> String {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match instance {
        Some(instance) => {
            let who = format!("{holder}\0{instance}");
            let digest = ring::digest::digest(&ring::digest::SHA256, who.as_bytes());
            format!("p-{}", hex(&digest.as_ref()[..6]))
        }
        None => format!("p-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
    }
}

/// A participant's handle on the room: what they say goes in through it; leaving is dropping it.
pub(crate) struct Membership {
    pub(crate) participant: Participant,
    room: String,
    connection: u64,
    sender: mpsc::Sender<Command>,
    /// Told when the room drops this member for falling behind.
    dropped: Arc<tokio::sync::Notify>,
}

impl Membership {
    /// Resolves when the room has dropped this member (its messages piled up).
    async fn dropped(&self) {
        self.dropped.notified().await
    }

    async fn say(&self, message: ClientMessage) -> bool {
        self.sender
            .send(Command::Say {
                participant: self.participant.id.clone(),
                message,
            })
            .await
            .is_ok()
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let leave = Command::Leave {
            participant: self.participant.id.clone(),
            connection: self.connection,
        };
        // The room's task may be busy; a leave must not be lost.
        if let Err(mpsc::error::TrySendError::Full(leave)) = self.sender.try_send(leave) {
            let room = self.sender.clone();
            tokio::spawn(async move {
                let _ = room.send(leave).await;
            });
        }
    }
}

impl Rooms {
    /// Joins `room` as `name` (the token's holder, who must be granted it): the welcome, the room's history
    /// and who is there go to `to`, and from then on everything the twin says in the room.
    pub(crate) async fn join(
        &self,
        state: &Arc<AppState>,
        room: &str,
        grant: &crate::auth::Grant,
        joining: Joining,
        to: mpsc::Sender<ServerMessage>,
    ) -> Result<Membership, (ErrorCode, String)> {
        if !grant.joins(room) {
            return Err((
                ErrorCode::Unauthorized,
                format!("this token does not grant room {room:?}"),
            ));
        }
        // A room is with the server's default persona.
        if let Some(persona) = state.persona(None) {
            crate::connection::reaching(grant, persona.id())?;
        }
        let name = grant.holder.as_str();
        let connection = self
            .next_connection
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The room gives a remote participant their seat.
        let participant = Participant {
            id: participant_id(name, joining.instance.as_deref()),
            name: name.to_string(),
            remote: joining.remote,
            seat: None,
        };
        // A room closing as we join is opened again.
        for _ in 0..2 {
            let sender = {
                let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
                open.entry(room.to_string())
                    .or_insert_with(|| spawn(state.clone(), room.to_string()))
                    .clone()
            };
            let (joined, answer) = oneshot::channel();
            let dropped = Arc::new(tokio::sync::Notify::new());
            let join = Command::Join(Joiner {
                participant: participant.clone(),
                connection,
                dropped: dropped.clone(),
                audio: joining.audio,
                to: to.clone(),
                joined,
            });
            if sender.send(join).await.is_err() {
                self.forget(room, &sender);
                continue;
            }
            return match answer.await {
                Ok(Ok(participant)) => Ok(Membership {
                    participant,
                    room: room.to_string(),
                    connection,
                    sender,
                    dropped,
                }),
                Ok(Err(e)) => Err(e),
                Err(_) => {
                    self.forget(room, &sender);
                    continue;
                }
            };
        }
        Err((
            ErrorCode::Internal,
            format!("room {room:?} could not be opened"),
        ))
    }

    fn forget(&self, room: &str, closed: &mpsc::Sender<Command>) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.get(room).is_some_and(|s| s.same_channel(closed)) {
            open.remove(room);
        }
    }

    /// How many rooms are open now.
    pub fn count(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

fn spawn(state: Arc<AppState>, room: String) -> mpsc::Sender<Command> {
    let (tx, rx) = mpsc::channel(256);
    let me = tx.clone();
    tokio::spawn(async move {
        // A stopping server waits for the room to store its reply in flight (it closes when its people leave).
        let (_open, _) = state.shutdown.open();
        if let Err(e) = run(&state, &room, rx).await {
            tracing::warn!(%room, error = %e.1, "room closed on an error");
        }
        state.rooms.forget(&room, &me);
    });
    tx
}

/// Serves a room's member after the handshake: what they say goes to the room until they leave, the link
/// fails, the server stops, or the room drops them for falling behind. `admitted` is their place among the
/// token's open sessions, and counts their turns a minute.
pub(crate) async fn serve(
    state: &AppState,
    membership: Membership,
    admitted: Admitted,
    mut link: Link,
) {
    let stopped = loop {
        let frame = tokio::select! {
            frame = link.next() => frame,
            () = membership.dropped() => {
                // Its writer is stuck on a full socket: close the connection under it.
                tracing::info!(room = %membership.room, participant = %membership.participant.id, "dropped: too slow for the room");
                let reason = "too slow to keep up with the room".into();
                link.abandon(Outgoing::Close(close_code::TOO_SLOW, reason)).await;
                return;
            }
        };
        let text = match frame {
            Incoming::Text(text) => text,
            Incoming::Binary => continue,
            Incoming::Gone => break false,
            Incoming::Stopping => break true,
        };
        match link.read(state, &text).await {
            Read::Message(ClientMessage::UserFinal { .. })
                if !link.turn_allowed(state, &admitted.holder) => {}
            Read::Message(message) => {
                if !membership.say(message).await {
                    break false;
                }
            }
            Read::Bad(e) => {
                let error = ServerMessage::error(e.code(), e.to_string());
                link.send(Outgoing::Message(error)).await;
            }
            Read::Over => break false,
        }
    };
    // Leaving stops every relay to this client.
    drop(membership);
    if stopped {
        link.send(restarting()).await;
    }
    link.end(None).await;
}

/// What a room's task is asked to do.
enum Command {
    Join(Joiner),
    /// A connection leaves (a participant who came back on another one stays).
    Leave {
        participant: String,
        connection: u64,
    },
    Say {
        participant: String,
        message: ClientMessage,
    },
}

/// Someone coming in, on one connection, and where to tell them whether they did.
struct Joiner {
    participant: Participant,
    connection: u64,
    dropped: Arc<tokio::sync::Notify>,
    audio: bool,
    to: mpsc::Sender<ServerMessage>,
    joined: oneshot::Sender<Result<Participant, (ErrorCode, String)>>,
}

/// Someone in the room, on one connection.
struct Member {
    participant: Participant,
    connection: u64,
    dropped: Arc<tokio::sync::Notify>,
    /// They asked for the twin's speech (and the others' voices).
    audio: bool,
    to: mpsc::Sender<ServerMessage>,
}

/// A room's conversation with the twin and the people in it.
struct Room {
    state: Arc<AppState>,
    name: String,
    /// The stored session, `room:<name>`.
    id: String,
    persona: Arc<Persona>,
    session: Session,
    members: Vec<Member>,
    floor: Floor,
    /// The opening disclosure was said to the room (when it first opened).
    greeted: bool,
    /// `[rooms] playback_lead_ms`.
    lead_ms: u64,
}

/// Runs room `name` until its last member leaves.
async fn run(
    state: &Arc<AppState>,
    name: &str,
    mut commands: mpsc::Receiver<Command>,
) -> Result<(), (ErrorCode, String)> {
    let (mut room, mut said) = Room::open(state, name).await?;
    loop {
        // Waiting turns are looked at as the twin's speech plays out.
        let waiting = !room.floor.waiting.is_empty();
        let recheck = async {
            if waiting {
                tokio::time::sleep(Duration::from_millis(20)).await
            } else {
                std::future::pending::<()>().await
            }
        };
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { break };
                match command {
                    Command::Join(joiner) => {
                        if !room.join(joiner).await? {
                            continue;
                        }
                    }
                    Command::Leave { participant, connection } => {
                        if !room.leave(&participant, connection) {
                            continue;
                        }
                        if room.members.is_empty() {
                            break;
                        }
                        room.announce().await;
                    }
                    Command::Say { participant, message } => {
                        let Some(speaker) = room.member(&participant) else {
                            continue;
                        };
                        say(&mut room.session, &mut room.floor, &room.members, &speaker, message).await;
                    }
                }
            }
            Some(message) = said.recv() => room.twin_said(message).await,
            () = recheck => {}
        }
        room.next_turn().await;
    }
    room.session.leave().await;
    tracing::info!(room = %name, "room closed");
    Ok(())
}

impl Room {
    /// Opens the room's stored session, or resumes it; what the twin says in it comes out of the receiver.
    async fn open(
        state: &Arc<AppState>,
        name: &str,
    ) -> Result<(Room, mpsc::Receiver<ServerMessage>), (ErrorCode, String)> {
        let persona = state.persona(None).ok_or((
            ErrorCode::UnknownPersona,
            "no persona on this server".into(),
        ))?;
        let id = format!("room:{name}");
        let (sid, pid) = (id.clone(), persona.id().to_string());
        let resumed = state
            .store
            .run(move |c| {
                if Store::session(c, &sid)?.is_some() {
                    return Ok(true);
                }
                Store::create_session(c, &sid, &pid, &sid)?;
                Ok(false)
            })
            .await
            .map_err(store_failed)?;
        let (out, said) = mpsc::channel::<ServerMessage>(256);
        // The twin's speech is made once for the room, while anyone in it asked for it.
        let session = Session::new(state.clone(), persona.clone(), id.clone(), out, None);
        tracing::info!(room = %name, resumed, "room open");
        let room = Room {
            state: state.clone(),
            name: name.to_string(),
            id,
            persona,
            session,
            members: Vec::new(),
            floor: Floor::new(state.config.limits.queued_turns),
            greeted: resumed,
            lead_ms: u64::from(state.config.rooms.playback_lead_ms),
        };
        Ok((room, said))
    }

    /// Lets someone in, unless the room is full: the welcome with the room's history, where the twin stands,
    /// who is there, and the opening disclosure (to everyone when the room first opens; to them alone after,
    /// with what the twin is doing now). Whether they came in.
    async fn join(&mut self, joiner: Joiner) -> Result<bool, (ErrorCode, String)> {
        let Joiner {
            mut participant,
            connection,
            dropped,
            audio,
            to,
            joined,
        } = joiner;
        // The same participant back on a new connection: the old one is stale.
        self.members.retain(|m| m.participant.id != participant.id);
        let most = self.state.config.limits.room_participants;
        if self.members.len() >= most {
            let full = format!("room {:?} is full ({most} people)", self.name);
            let _ = joined.send(Err((ErrorCode::TooManyConnections, full)));
            return Ok(false);
        }
        let sid = self.id.clone();
        let history = self
            .state
            .store
            .run(move |c| Store::history(c, &sid, MAX_HISTORY_TURNS))
            .await
            .map_err(store_failed)?;
        let welcome = ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            session_id: self.id.clone(),
            resumed: self.greeted,
            persona: self.persona.info(),
            history,
        };
        if to.send(welcome).await.is_err() {
            let _ = joined.send(Err((ErrorCode::Internal, "client gone".into())));
            return Ok(false);
        }
        if participant.remote {
            participant.seat = Some(free_seat(&self.members));
        }
        tracing::info!(room = %self.name, participant = %participant.id, name = %participant.name, remote = participant.remote, "joined");
        let _ = joined.send(Ok(participant.clone()));
        // Where the twin stands comes before who is there: a client that knows the room has no spot yet once
        // it sees the roster may offer its own.
        if let Some((by, spot)) = &self.floor.placed {
            let placed = ServerMessage::Placed {
                participant: by.clone(),
                spot: *spot,
            };
            let _ = to.send(placed).await;
        }
        self.members.push(Member {
            participant,
            connection,
            dropped,
            audio,
            to,
        });
        self.session.audio = voice_for(&self.members);
        self.announce().await;
        if !self.greeted {
            // Said plainly when the room first opens, to everyone in it.
            self.greeted = true;
            self.session
                .start_reply(None, None, None, None, Vec::new())
                .await;
        } else if let Some(m) = self.members.last() {
            let recorded = self.state.config.rooms.records(&self.name);
            disclose(&self.persona, recorded, &m.to).await;
            // Coming in mid-answer, a client waits for the twin to finish before it speaks.
            let state = self.floor.state.unwrap_or(TwinState::Listening);
            let _ = m.to.send(ServerMessage::State { state }).await;
        }
        Ok(true)
    }

    /// A connection leaves; whether it was in the room.
    fn leave(&mut self, participant: &str, connection: u64) -> bool {
        let leaving = |m: &Member| m.participant.id == participant && m.connection == connection;
        if !self.members.iter().any(leaving) {
            return false;
        }
        self.members.retain(|m| !leaving(m));
        self.floor.waiting.retain(|(p, _)| p.id != participant);
        self.session.audio = voice_for(&self.members);
        tracing::info!(room = %self.name, %participant, "left");
        true
    }

    fn member(&self, participant: &str) -> Option<Participant> {
        self.members
            .iter()
            .find(|m| m.participant.id == participant)
            .map(|m| m.participant.clone())
    }

    /// What the twin says, on the shared timeline, to everyone in the room.
    async fn twin_said(&mut self, mut message: ServerMessage) {
        self.floor.stamp(&mut message, self.lead_ms);
        if let ServerMessage::State { state } = &message {
            self.floor.state = Some(*state);
        }
        for slow in relay(&self.members, message) {
            self.drop_member(&slow);
            self.session.audio = voice_for(&self.members);
            self.announce().await;
        }
    }

    /// The first waiting turns are answered once the floor is free.
    async fn next_turn(&mut self) {
        if self.floor.free(&self.session)
            && let Some((speaker, turns)) = self.floor.waiting.pop_front()
        {
            self.session.user_turns(turns, Some(&speaker.name)).await;
        }
    }

    /// Drops a member who fell behind: the room goes on without them, and their connection is closed (4008).
    fn drop_member(&mut self, id: &str) {
        if let Some(at) = self.members.iter().position(|m| m.participant.id == id) {
            let member = self.members.remove(at);
            member.dropped.notify_one();
            self.floor.waiting.retain(|(p, _)| p.id != id);
            tracing::warn!(room = %self.name, participant = %id, "dropped a member whose messages piled up");
        }
    }

    /// Tells everyone who is there.
    async fn announce(&self) {
        let participants: Vec<Participant> =
            self.members.iter().map(|m| m.participant.clone()).collect();
        for m in &self.members {
            let _ = m.to.try_send(ServerMessage::Room {
                room: self.name.clone(),
                you: m.participant.id.clone(),
                participants: participants.clone(),
            });
        }
    }
}

/// The lowest seat no remote participant holds.
fn free_seat(members: &[Member]) -> u32 {
    (0..)
        .find(|seat| !members.iter().any(|m| m.participant.seat == Some(*seat)))
        .unwrap_or(0)
}

/// Speech and lip-sync for the room's replies while anyone in it wants them.
fn voice_for(members: &[Member]) -> Option<AudioRequest> {
    members
        .iter()
        .any(|m| m.audio)
        .then_some(AudioRequest { lipsync: true })
}

/// The opening disclosure for someone who comes into a room after it was said: to them alone and as text
/// (the room's speech timeline is shared), not stored again.
async fn disclose(persona: &Persona, recorded: bool, to: &mpsc::Sender<ServerMessage>) {
    let reply_id = format!("r-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let text = persona.opening_text(recorded);
    let messages = [
        ServerMessage::ReplyStart {
            reply_id: reply_id.clone(),
            turn_id: None,
            kind: twin_protocol::ReplyKind::Disclosure,
            to: None,
        },
        ServerMessage::ReplyDelta {
            reply_id: reply_id.clone(),
            text: text.clone(),
        },
        ServerMessage::Sentence {
            reply_id: reply_id.clone(),
            index: 0,
            text: text.clone(),
            citations: vec![],
        },
        ServerMessage::ReplyEnd {
            reply_id,
            text: text.clone(),
            citations: vec![],
            interrupted: false,
            sentences: vec![twin_protocol::ReplySentence::own(text)],
        },
    ];
    for m in messages {
        let _ = to.send(m).await;
    }
}

/// What the twin says goes to everyone in the room: speech only to those who asked for it, a turn's
/// acknowledgement only to its speaker, each under the id they gave it. Never waits on anyone: returns the
/// members whose queue was full.
fn relay(members: &[Member], message: ServerMessage) -> Vec<String> {
    let mut slow = Vec::new();
    for m in members {
        let own = |room_turn: &str| {
            room_turn
                .strip_prefix(&format!("{}/", m.participant.id))
                .map(str::to_string)
        };
        let out = match &message {
            ServerMessage::Audio { .. }
            | ServerMessage::LipSync { .. }
            | ServerMessage::AudioEnd { .. }
                if !m.audio =>
            {
                continue;
            }
            ServerMessage::TurnAck {
                turn_id,
                seq,
                answered,
            } => match own(turn_id) {
                Some(t) => ServerMessage::TurnAck {
                    turn_id: t,
                    seq: *seq,
                    answered: *answered,
                },
                None => continue,
            },
            ServerMessage::ReplyStart {
                reply_id,
                turn_id: Some(t),
                kind,
                ..
            } => ServerMessage::ReplyStart {
                reply_id: reply_id.clone(),
                turn_id: Some(own(t).unwrap_or_else(|| t.clone())),
                kind: *kind,
                // The twin turns to whoever asked.
                to: t.split_once('/').map(|(p, _)| p.to_string()),
            },
            other => other.clone(),
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = m.to.try_send(out) {
            slow.push(m.participant.id.clone());
        }
    }
    slow
}

/// Turns waiting for the twin, and the twin's speech on the shared timeline.
#[derive(Default)]
struct Floor {
    /// Waiting turns, first come first served: a speaker and what they said (room turn id, text).
    waiting: VecDeque<(Participant, Vec<SaidTurn>)>,
    /// Who cut the twin off: their next turn is answered at once.
    interrupter: Option<String>,
    /// The reply whose speech is on the timeline: its id, when its first sample plays (server ms) and rate.
    timeline: Option<(String, u64, u32)>,
    /// When the last reply's speech ends on the timeline (server ms).
    speech_until: u64,
    /// Where the twin stands relative to the room's floor marks, and who put it there.
    placed: Option<(String, twin_protocol::SpotOnMarks)>,
    /// What the twin is doing now, for whoever comes in.
    state: Option<TwinState>,
    /// Turns one person may have waiting (`limits.queued_turns`).
    queued_turns: usize,
}

impl Floor {
    fn new(queued_turns: usize) -> Floor {
        Floor {
            queued_turns,
            ..Floor::default()
        }
    }

    /// Who may be answered now: nothing being made, nothing still playing.
    fn free(&self, session: &Session) -> bool {
        !session.replying() && wall_ms() >= self.speech_until
    }

    /// Follows the twin's speech as it leaves: stamps a reply's chunks with the moment it starts playing.
    fn stamp(&mut self, message: &mut ServerMessage, lead_ms: u64) {
        match message {
            ServerMessage::Audio {
                reply_id,
                sample_rate,
                play_at_ms,
                ..
            } => {
                let at = match &self.timeline {
                    Some((id, at, _)) if id == reply_id => *at,
                    _ => {
                        let at = wall_ms() + lead_ms;
                        self.timeline = Some((reply_id.clone(), at, *sample_rate));
                        at
                    }
                };
                *play_at_ms = Some(at);
            }
            ServerMessage::AudioEnd {
                reply_id, samples, ..
            } => {
                if let Some((id, at, rate)) = &self.timeline
                    && id == reply_id
                    && *rate > 0
                {
                    self.speech_until = at + *samples * 1000 / u64::from(*rate);
                }
            }
            _ => {}
        }
    }
}

/// A client's turn id as the room knows it: the same id from two people are two turns.
fn room_turn_id(participant: &str, turn_id: &str) -> String {
    format!("{participant}/{turn_id}")
}

/// To the speaker alone. Never waits on a member: a full queue is found and dropped when the twin's words are
/// relayed.
fn to_speaker(members: &[Member], speaker: &Participant, message: ServerMessage) {
    if let Some(me) = members.iter().find(|m| m.participant.id == speaker.id) {
        let _ = me.to.try_send(message);
    }
}

fn others<'a>(members: &'a [Member], speaker: &'a Participant) -> impl Iterator<Item = &'a Member> {
    members.iter().filter(|m| m.participant.id != speaker.id)
}

/// What a member says to the room.
async fn say(
    session: &mut Session,
    floor: &mut Floor,
    members: &[Member],
    speaker: &Participant,
    message: ClientMessage,
) {
    match message {
        ClientMessage::UserFinal {
            turn_id,
            text,
            attachment,
            revises,
        } => {
            let said = SaidTurn {
                id: turn_id,
                text,
                attachment,
                revises,
            };
            turn(session, floor, members, speaker, said).await
        }
        ClientMessage::Interrupted { reply_id, heard } => {
            if let Err((code, message)) = may_interrupt(session, speaker, &reply_id) {
                // To them alone: nothing changes for the room, and no one jumps the queue.
                to_speaker(members, speaker, ServerMessage::error(code, message));
                return;
            }
            session.interrupted(&reply_id, heard).await;
            // They stopped the twin: its speech is off the timeline and the floor is theirs.
            floor.interrupter = Some(speaker.id.clone());
            floor.speech_until = 0;
        }
        ClientMessage::Pose { .. } | ClientMessage::Voice { .. } | ClientMessage::Place { .. } => {
            presence(floor, members, speaker, message)
        }
        ClientMessage::Ping { nonce } => {
            let pong = ServerMessage::Pong {
                nonce,
                server_ms: wall_ms(),
            };
            to_speaker(members, speaker, pong)
        }
        ClientMessage::Hello { .. } => {
            let again = "this session already said hello";
            to_speaker(
                members,
                speaker,
                ServerMessage::error(ErrorCode::BadMessage, again),
            )
        }
        ClientMessage::Flag { reply_id, note } => {
            to_speaker(members, speaker, session.flag(reply_id, note).await)
        }
        ClientMessage::Share { .. } => to_speaker(
            members,
            speaker,
            ServerMessage::error(
                ErrorCode::BadMessage,
                "a room is not shared by its members: the server's config says whether it is recorded \
                 for review",
            ),
        ),
        ClientMessage::UserPartial { .. } | ClientMessage::Bye => {}
    }
}

/// A turn (under the speaker's own ids): the others see it; it is answered at once if the floor is free or
/// theirs, or waits its turn (with the speaker's other waiting words), and the speaker is told how many are
/// ahead.
async fn turn(
    session: &mut Session,
    floor: &mut Floor,
    members: &[Member],
    speaker: &Participant,
    said: SaidTurn,
) {
    let waiting = floor
        .waiting
        .iter()
        .find(|(p, _)| p.id == speaker.id)
        .map_or(0, |(_, turns)| turns.len());
    if waiting >= floor.queued_turns {
        let message = format!(
            "you have {waiting} turns waiting for the twin already: this one was not taken"
        );
        to_speaker(
            members,
            speaker,
            ServerMessage::error(ErrorCode::RateLimited, message),
        );
        return;
    }
    let turn_id = said.id;
    let room_turn = room_turn_id(&speaker.id, &turn_id);
    for m in others(members, speaker) {
        let _ = m.to.try_send(ServerMessage::UserTurn {
            turn_id: room_turn.clone(),
            participant: speaker.id.clone(),
            name: speaker.name.clone(),
            text: said.text.clone(),
        });
    }
    let said = SaidTurn {
        id: room_turn,
        revises: said.revises.map(|r| room_turn_id(&speaker.id, &r)),
        ..said
    };
    let takes_floor = floor.interrupter.as_deref() == Some(speaker.id.as_str());
    if takes_floor || (floor.waiting.is_empty() && floor.free(session)) {
        floor.interrupter = None;
        session.user_turn(said, Some(&speaker.name)).await;
        return;
    }
    let behind = match floor.waiting.iter().position(|(p, _)| p.id == speaker.id) {
        Some(at) => {
            floor.waiting[at].1.push(said);
            at
        }
        None => {
            floor.waiting.push_back((speaker.clone(), vec![said]));
            floor.waiting.len() - 1
        }
    };
    // Behind the reply being made or played, and everyone waiting before them.
    let behind = (behind + 1) as u32;
    to_speaker(members, speaker, ServerMessage::Queued { turn_id, behind });
}

/// Poses, voices and where the twin stands, from one member to the others as they come.
fn presence(floor: &mut Floor, members: &[Member], speaker: &Participant, message: ClientMessage) {
    match message {
        ClientMessage::Pose {
            seq,
            head,
            left,
            right,
        } => {
            let pose = ServerMessage::Pose {
                participant: speaker.id.clone(),
                seq,
                at_ms: wall_ms(),
                head,
                left,
                right,
            };
            for m in others(members, speaker) {
                // A pose is stale in 30 ms: a full queue drops it rather than hold the room up.
                let _ = m.to.try_send(pose.clone());
            }
        }
        ClientMessage::Voice {
            seq,
            sample_rate,
            pcm16,
        } => {
            let voice = ServerMessage::Voice {
                participant: speaker.id.clone(),
                seq,
                at_ms: wall_ms(),
                sample_rate,
                pcm16,
            };
            for m in others(members, speaker).filter(|m| m.audio) {
                let _ = m.to.try_send(voice.clone());
            }
        }
        ClientMessage::Place { spot } => {
            floor.placed = Some((speaker.id.clone(), spot));
            for m in others(members, speaker) {
                let _ = m.to.try_send(ServerMessage::Placed {
                    participant: speaker.id.clone(),
                    spot,
                });
            }
        }
        _ => {}
    }
}

/// Only the reply the twin is giving now may be cut off, and only by the person it answers (a room's turn
/// ids begin with the asker's participant id); the opening disclosure by no one.
fn may_interrupt(
    session: &Session,
    speaker: &Participant,
    reply_id: &str,
) -> Result<(), (ErrorCode, String)> {
    match session.current_reply() {
        Some((id, turn)) if id == reply_id => {
            let asker = turn.and_then(|t| t.split_once('/')).map(|(p, _)| p);
            match asker == Some(speaker.id.as_str()) {
                true => Ok(()),
                false => Err((
                    ErrorCode::BadMessage,
                    "only the person this reply answers can cut it off".into(),
                )),
            }
        }
        _ => Err((
            ErrorCode::UnknownReply,
            format!("reply {reply_id:?} is not the one the twin is giving now"),
        )),
    }
}
