//! A room's task: it owns the room's conversation with the twin and the people in it, lets them in (the
//! welcome, the disclosure, who is there) and out, passes on what they say, and relays what the twin says to
//! everyone, dropping whoever cannot keep up.

use super::floor::{Floor, say};
use crate::app::AppState;
use crate::connection::store_failed;
use crate::persona::Persona;
use crate::session::Session;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use twin_protocol::{
    AudioRequest, ClientMessage, ErrorCode, MAX_HISTORY_TURNS, PROTOCOL_VERSION, Participant,
    ServerMessage, TwinState,
};

/// What a room's task is asked to do.
pub(super) enum Command {
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
pub(super) struct Joiner {
    pub(super) participant: Participant,
    pub(super) connection: u64,
    pub(super) dropped: Arc<tokio::sync::Notify>,
    pub(super) audio: bool,
    pub(super) to: mpsc::Sender<ServerMessage>,
    pub(super) joined: oneshot::Sender<Result<Participant, (ErrorCode, String)>>,
}

/// Someone in the room, on one connection.
pub(super) struct Member {
    pub(super) participant: Participant,
    connection: u64,
    dropped: Arc<tokio::sync::Notify>,
    /// They asked for the twin's speech (and the others' voices).
    pub(super) audio: bool,
    pub(super) to: mpsc::Sender<ServerMessage>,
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
pub(super) async fn run(
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
