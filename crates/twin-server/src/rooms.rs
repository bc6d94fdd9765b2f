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
use crate::session::{SaidTurn, Session};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use twin_protocol::{
    AudioRequest, ClientMessage, ErrorCode, MAX_HISTORY_TURNS, PROTOCOL_VERSION, Participant,
    ServerMessage, TwinState, wall_ms,
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
pub struct Joining {
    /// It wants the twin's speech and lip-sync (and the others' voices).
    pub audio: bool,
    /// It is not in the physical room with the twin: it gets a seat.
    pub remote: bool,
    /// The client's instance: with the token's holder, who the participant is across reconnects.
    pub instance: Option<String>,
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

pub enum Command {
    Join {
        participant: Participant,
        connection: u64,
        dropped: Arc<tokio::sync::Notify>,
        audio: bool,
        to: mpsc::Sender<ServerMessage>,
        joined: oneshot::Sender<Result<Participant, (ErrorCode, String)>>,
    },
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

/// A participant's handle on the room: what they say goes in through it; leaving is dropping it.
pub struct Membership {
    pub participant: Participant,
    connection: u64,
    room: mpsc::Sender<Command>,
    /// Told when the room drops this member for falling behind.
    dropped: Arc<tokio::sync::Notify>,
}

impl Membership {
    /// Resolves when the room has dropped this member (its messages piled up).
    pub async fn dropped(&self) {
        self.dropped.notified().await
    }

    pub async fn say(&self, message: ClientMessage) -> bool {
        self.room
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
        if let Err(mpsc::error::TrySendError::Full(leave)) = self.room.try_send(leave) {
            let room = self.room.clone();
            tokio::spawn(async move {
                let _ = room.send(leave).await;
            });
        }
    }
}

impl Rooms {
    /// Joins `room` as `name` (the token's holder, who must be granted it): the welcome, the room's history
    /// and who is there go to `to`, and from then on everything the twin says in the room.
    pub async fn join(
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
            let join = Command::Join {
                participant: participant.clone(),
                connection,
                dropped: dropped.clone(),
                audio: joining.audio,
                to: to.clone(),
                joined,
            };
            if sender.send(join).await.is_err() {
                self.forget(room, &sender);
                continue;
            }
            return match answer.await {
                Ok(Ok(participant)) => Ok(Membership {
                    participant,
                    connection,
                    room: sender,
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

struct Member {
    participant: Participant,
    connection: u64,
    dropped: Arc<tokio::sync::Notify>,
    audio: bool,
    to: mpsc::Sender<ServerMessage>,
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

async fn run(
    state: &Arc<AppState>,
    room: &str,
    mut commands: mpsc::Receiver<Command>,
) -> Result<(), (ErrorCode, String)> {
    let internal = crate::connection::store_failed;
    let persona = state.persona(None).ok_or((
        ErrorCode::UnknownPersona,
        "no persona on this server".into(),
    ))?;
    let id = format!("room:{room}");
    let (sid, pid) = (id.clone(), persona.id().to_string());
    let resumed = state
        .store
        .run(move |c| {
            if crate::store::Store::session(c, &sid)?.is_some() {
                return Ok(true);
            }
            crate::store::Store::create_session(c, &sid, &pid, &sid)?;
            Ok(false)
        })
        .await
        .map_err(internal)?;
    let lead_ms = u64::from(state.config.rooms.playback_lead_ms);
    let (out, mut said) = mpsc::channel::<ServerMessage>(256);
    // The twin's speech is made once for the room, while anyone in it asked for it.
    let mut session = Session::new(state.clone(), persona.clone(), id.clone(), out, None);
    let mut members: Vec<Member> = Vec::new();
    let mut floor = Floor {
        queued_turns: state.config.limits.queued_turns,
        ..Floor::default()
    };
    let mut greeted = resumed;
    tracing::info!(%room, resumed, "room open");
    loop {
        // Waiting turns are looked at as the twin's speech plays out.
        let recheck = async {
            if floor.waiting.is_empty() {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
        };
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { break };
                match command {
                    Command::Join { mut participant, connection, dropped, audio, to, joined } => {
                        // The same participant back on a new connection: the old one is stale.
                        members.retain(|m| m.participant.id != participant.id);
                        let most = state.config.limits.room_participants;
                        if members.len() >= most {
                            let full = format!("room {room:?} is full ({most} people)");
                            let _ = joined.send(Err((ErrorCode::TooManyConnections, full)));
                            continue;
                        }
                        let sid = id.clone();
                        let history = state
                            .store
                            .run(move |c| crate::store::Store::history(c, &sid, MAX_HISTORY_TURNS))
                            .await
                            .map_err(internal)?;
                        let welcome = ServerMessage::Welcome {
                            protocol: PROTOCOL_VERSION,
                            session_id: id.clone(),
                            resumed: greeted,
                            persona: persona.info(),
                            history,
                        };
                        if to.send(welcome).await.is_err() {
                            let _ = joined.send(Err((ErrorCode::Internal, "client gone".into())));
                            continue;
                        }
                        if participant.remote {
                            participant.seat = Some(free_seat(&members));
                        }
                        tracing::info!(%room, participant = %participant.id, name = %participant.name, remote = participant.remote, "joined");
                        let _ = joined.send(Ok(participant.clone()));
                        // Where the twin stands comes before who is there: a client that knows the room has
                        // no spot yet once it sees the roster may offer its own.
                        if let Some((by, spot)) = &floor.placed {
                            let placed = ServerMessage::Placed { participant: by.clone(), spot: *spot };
                            let _ = to.send(placed).await;
                        }
                        members.push(Member { participant, connection, dropped, audio, to });
                        session.audio = voice_for(&members);
                        announce(room, &members).await;
                        if !greeted {
                            // Said plainly when the room first opens, to everyone in it.
                            greeted = true;
                            session.start_reply(None, None, None, None, Vec::new()).await;
                        } else if let Some(m) = members.last() {
                            disclose(&persona, state.config.rooms.records(room), &m.to).await;
                            // Coming in mid-answer, a client waits for the twin to finish before it speaks.
                            let state = floor.state.unwrap_or(TwinState::Listening);
                            let _ = m.to.send(ServerMessage::State { state }).await;
                        }
                    }
                    Command::Leave { participant, connection } => {
                        let leaving = |m: &Member| m.participant.id == participant && m.connection == connection;
                        if !members.iter().any(leaving) {
                            continue;
                        }
                        members.retain(|m| !leaving(m));
                        floor.waiting.retain(|(p, _)| p.id != participant);
                        session.audio = voice_for(&members);
                        tracing::info!(%room, %participant, "left");
                        if members.is_empty() {
                            break;
                        }
                        announce(room, &members).await;
                    }
                    Command::Say { participant, message } => {
                        let Some(speaker) = members
                            .iter()
                            .find(|m| m.participant.id == participant)
                            .map(|m| m.participant.clone())
                        else {
                            continue;
                        };
                        say(&mut session, &mut floor, &members, &speaker, message).await;
                    }
                }
            }
            Some(mut message) = said.recv() => {
                floor.stamp(&mut message, lead_ms);
                if let ServerMessage::State { state } = &message {
                    floor.state = Some(*state);
                }
                for slow in relay(&members, message) {
                    drop_member(room, &mut members, &mut floor, &slow);
                    session.audio = voice_for(&members);
                    announce(room, &members).await;
                }
            }
            () = recheck => {}
        }
        if floor.free(&session)
            && let Some((speaker, turns)) = floor.waiting.pop_front()
        {
            session.user_turns(turns, Some(&speaker.name)).await;
        }
    }
    session.leave().await;
    tracing::info!(%room, "room closed");
    Ok(())
}

/// A client's turn id as the room knows it: the same id from two people are two turns.
fn room_turn_id(participant: &str, turn_id: &str) -> String {
    format!("{participant}/{turn_id}")
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

async fn say(
    session: &mut Session,
    floor: &mut Floor,
    members: &[Member],
    speaker: &Participant,
    message: ClientMessage,
) {
    // Never waits on a member: a full queue is found and dropped when the twin's words are relayed.
    let to_speaker = |m: ServerMessage| async {
        if let Some(me) = members.iter().find(|m| m.participant.id == speaker.id) {
            let _ = me.to.try_send(m);
        }
    };
    let others = || members.iter().filter(|m| m.participant.id != speaker.id);
    match message {
        ClientMessage::UserFinal {
            turn_id,
            text,
            attachment,
            revises,
        } => {
            let waiting = floor
                .waiting
                .iter()
                .find(|(p, _)| p.id == speaker.id)
                .map_or(0, |(_, turns)| turns.len());
            if waiting >= floor.queued_turns {
                let message = format!(
                    "you have {waiting} turns waiting for the twin already: this one was not taken"
                );
                to_speaker(ServerMessage::error(ErrorCode::RateLimited, message)).await;
                return;
            }
            let room_turn = room_turn_id(&speaker.id, &turn_id);
            for m in others() {
                let _ = m.to.try_send(ServerMessage::UserTurn {
                    turn_id: room_turn.clone(),
                    participant: speaker.id.clone(),
                    name: speaker.name.clone(),
                    text: text.clone(),
                });
            }
            let said = SaidTurn {
                id: room_turn,
                text,
                attachment,
                revises: revises.map(|r| room_turn_id(&speaker.id, &r)),
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
            to_speaker(ServerMessage::Queued { turn_id, behind }).await;
        }
        ClientMessage::Interrupted { reply_id, heard } => {
            if let Err((code, message)) = may_interrupt(session, speaker, &reply_id) {
                // To them alone: nothing changes for the room, and no one jumps the queue.
                to_speaker(ServerMessage::error(code, message)).await;
                return;
            }
            session.interrupted(&reply_id, heard).await;
            // They stopped the twin: its speech is off the timeline and the floor is theirs.
            floor.interrupter = Some(speaker.id.clone());
            floor.speech_until = 0;
        }
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
            for m in others() {
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
            for m in others().filter(|m| m.audio) {
                let _ = m.to.try_send(voice.clone());
            }
        }
        ClientMessage::Place { spot } => {
            floor.placed = Some((speaker.id.clone(), spot));
            for m in others() {
                let _ = m.to.try_send(ServerMessage::Placed {
                    participant: speaker.id.clone(),
                    spot,
                });
            }
        }
        ClientMessage::Ping { nonce } => {
            to_speaker(ServerMessage::Pong {
                nonce,
                server_ms: wall_ms(),
            })
            .await
        }
        ClientMessage::Hello { .. } => {
            to_speaker(ServerMessage::error(
                ErrorCode::BadMessage,
                "this session already said hello",
            ))
            .await
        }
        ClientMessage::Flag { reply_id, note } => {
            to_speaker(session.flag(reply_id, note).await).await
        }
        ClientMessage::Share { .. } => to_speaker(ServerMessage::error(
            ErrorCode::BadMessage,
            "a room is not shared by its members: the server's config says whether it is recorded \
                 for review",
        ))
        .await,
        ClientMessage::UserPartial { .. } | ClientMessage::Bye => {}
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

/// The opening disclosure for someone who comes into a room after it was said: to them alone and as text
/// (the room's speech timeline is shared), not stored again.
async fn disclose(
    persona: &crate::persona::Persona,
    recorded: bool,
    to: &mpsc::Sender<ServerMessage>,
) {
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

/// Drops a member who fell behind: the room goes on without them, and their connection is closed (4008).
fn drop_member(room: &str, members: &mut Vec<Member>, floor: &mut Floor, id: &str) {
    if let Some(at) = members.iter().position(|m| m.participant.id == id) {
        let member = members.remove(at);
        member.dropped.notify_one();
        floor.waiting.retain(|(p, _)| p.id != id);
        tracing::warn!(%room, participant = %id, "dropped a member whose messages piled up");
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

async fn announce(room: &str, members: &[Member]) {
    let participants: Vec<Participant> = members.iter().map(|m| m.participant.clone()).collect();
    for m in members {
        let _ = m.to.try_send(ServerMessage::Room {
            room: room.to_string(),
            you: m.participant.id.clone(),
            participants: participants.clone(),
        });
    }
}
