//! A room's floor: who the twin answers and who waits (the turn rule), who may cut it off, the twin's speech
//! on the shared timeline, and presence (poses, voices, where the twin stands) passed between members.

use super::room::Member;
use crate::session::{SaidTurn, Session};
use std::collections::VecDeque;
use twin_protocol::{ClientMessage, ErrorCode, Participant, ServerMessage, TwinState, wall_ms};

/// Turns waiting for the twin, and the twin's speech on the shared timeline.
#[derive(Default)]
pub(super) struct Floor {
    /// Waiting turns, first come first served: a speaker and what they said (room turn id, text).
    pub(super) waiting: VecDeque<(Participant, Vec<SaidTurn>)>,
    /// Who cut the twin off: their next turn is answered at once.
    interrupter: Option<String>,
    /// The reply whose speech is on the timeline: its id, when its first sample plays (server ms) and rate.
    timeline: Option<(String, u64, u32)>,
    /// When the last reply's speech ends on the timeline (server ms).
    speech_until: u64,
    /// Where the twin stands relative to the room's floor marks, and who put it there.
    pub(super) placed: Option<(String, twin_protocol::SpotOnMarks)>,
    /// What the twin is doing now, for whoever comes in.
    pub(super) state: Option<TwinState>,
    /// Turns one person may have waiting (`limits.queued_turns`).
    queued_turns: usize,
}

impl Floor {
    pub(super) fn new(queued_turns: usize) -> Floor {
        Floor {
            queued_turns,
            ..Floor::default()
        }
    }

    /// Who may be answered now: nothing being made, nothing still playing.
    pub(super) fn free(&self, session: &Session) -> bool {
        !session.replying() && wall_ms() >= self.speech_until
    }

    /// Follows the twin's speech as it leaves: stamps a reply's chunks with the moment it starts playing.
    pub(super) fn stamp(&mut self, message: &mut ServerMessage, lead_ms: u64) {
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
pub(super) async fn say(
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
