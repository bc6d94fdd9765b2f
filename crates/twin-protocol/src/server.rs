//! The server's messages: everything the edge server sends to a client.

use serde::{Deserialize, Serialize};

use crate::serde_fields::is_false;
use crate::{
    Citation, ErrorCode, HistoryTurn, LipSyncFrame, Participant, PersonaInfo, Pose, ReplyKind,
    ReplySentence, SpotOnMarks, TwinState,
};
#[cfg(doc)]
use crate::{ClientMessage, Heard, MAX_AUDIO_CHUNK_MS, wall_ms};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    Welcome {
        protocol: u32,
        session_id: String,
        resumed: bool,
        persona: PersonaInfo,
        /// Earlier turns of a resumed session, oldest first.
        history: Vec<HistoryTurn>,
    },
    /// The twin's conversational state, for cues in the client.
    State {
        state: TwinState,
    },
    /// The user turn is durably stored.
    TurnAck {
        turn_id: String,
        seq: u64,
        /// A resent turn whose answer is stored already: no reply follows (the client stops waiting for one).
        #[serde(default, skip_serializing_if = "is_false")]
        answered: bool,
    },
    ReplyStart {
        reply_id: String,
        turn_id: Option<String>,
        kind: ReplyKind,
        /// In a room: the participant the twin answers (it turns to them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// Streamed reply text, in order.
    ReplyDelta {
        reply_id: String,
        text: String,
    },
    /// A sentence of the reply is complete: speech can start on it.
    Sentence {
        reply_id: String,
        index: u32,
        text: String,
        citations: Vec<String>,
    },
    /// The reply is complete and stored. `text` is the whole reply; `citations` lists every source it used;
    /// `sentences` are its sentences, each with the source sentence it rests on (the audit trail).
    ReplyEnd {
        reply_id: String,
        text: String,
        citations: Vec<Citation>,
        interrupted: bool,
        #[serde(default)]
        sentences: Vec<ReplySentence>,
    },
    /// Speech of a reply: mono 16-bit little-endian PCM at `sample_rate`, base64, at most
    /// [`MAX_AUDIO_CHUNK_MS`] long. `first_sample` counts from the reply's first sample: the reply's own clock,
    /// shared by its lip-sync frames and by [`Heard::Samples`].
    Audio {
        reply_id: String,
        first_sample: u64,
        sample_rate: u32,
        pcm16: String,
        /// In a room: when the reply's first sample plays, on the server's clock ([`wall_ms`]), the same for
        /// everyone, so that the twin speaks at once in every headset. Absent: play as it arrives.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        play_at_ms: Option<u64>,
    },
    /// Mouth shapes for a reply's audio, on the same sample clock, sent with the audio they belong to.
    LipSync {
        reply_id: String,
        frames: Vec<LipSyncFrame>,
    },
    /// Every audio chunk of the reply has been sent: its length and where each sentence starts (samples).
    AudioEnd {
        reply_id: String,
        samples: u64,
        sentence_starts: Vec<u64>,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Pong {
        nonce: u64,
        /// The server's clock when it answered ([`wall_ms`]).
        #[serde(default)]
        server_ms: u64,
    },
    /// Who is in the room, sent to everyone in it when someone joins or leaves (and to a newcomer after the
    /// welcome). `you` is the receiver's own participant id.
    Room {
        room: String,
        you: String,
        participants: Vec<Participant>,
    },
    /// Another participant's finished turn, as the twin heard it (the speaker's own client gets
    /// `turn_ack`). `turn_id` is the room's id of the turn, which the twin's reply then names.
    UserTurn {
        turn_id: String,
        participant: String,
        name: String,
        text: String,
    },
    /// In a room: your turn waits while the twin answers someone else; `behind` turns come before it.
    Queued {
        turn_id: String,
        behind: u32,
    },
    /// Another participant's head and hands, as they sent them ([`ClientMessage::Pose`]), stamped with the
    /// server's clock when relayed: clients show them 100 ms or so in the past, interpolated.
    Pose {
        participant: String,
        seq: u64,
        at_ms: u64,
        head: Pose,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        left: Option<Pose>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        right: Option<Pose>,
    },
    /// Where the twin stands relative to the room's floor marks ([`ClientMessage::Place`]), as `participant`
    /// last set it: sent to everyone else when it changes, and to a newcomer after `room`.
    Placed {
        participant: String,
        spot: SpotOnMarks,
    },
    /// Another participant's voice ([`ClientMessage::Voice`]), stamped with the server's clock when relayed.
    Voice {
        participant: String,
        seq: u64,
        at_ms: u64,
        sample_rate: u32,
        pcm16: String,
    },
    /// A `share` or `flag` is stored: for a flag, `reply_id` names the reply flagged.
    Noted {
        noted: NotedKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_id: Option<String>,
    },
}

/// What a [`ServerMessage::Noted`] confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotedKind {
    /// The session is shared with the person.
    Shared,
    /// The session is private again.
    Unshared,
    /// The reply is flagged for the person's review.
    Flagged,
}

impl ServerMessage {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("server messages always serialize")
    }

    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Citation, PROTOCOL_VERSION, ReplySentence, SourceKind, Speaker, encode_pcm16, wall_ms,
    };

    #[test]
    fn server_messages_round_trip() {
        let messages = vec![
            ServerMessage::Welcome {
                protocol: PROTOCOL_VERSION,
                session_id: "s".into(),
                resumed: true,
                persona: PersonaInfo {
                    id: "p".into(),
                    name: "P".into(),
                    role: "CEO".into(),
                    organization: "O".into(),
                    disclosure: "I'm an AI twin.".into(),
                },
                history: vec![HistoryTurn {
                    seq: 1,
                    speaker: Speaker::User,
                    text: "hi".into(),
                    citations: vec![],
                    sentences: vec![],
                }],
            },
            ServerMessage::State {
                state: TwinState::Thinking,
            },
            ServerMessage::TurnAck {
                turn_id: "c1".into(),
                seq: 3,
                answered: false,
            },
            ServerMessage::TurnAck {
                turn_id: "c0".into(),
                seq: 1,
                answered: true,
            },
            ServerMessage::ReplyStart {
                reply_id: "r".into(),
                turn_id: None,
                kind: ReplyKind::Grounded,
                to: None,
            },
            ServerMessage::ReplyDelta {
                reply_id: "r".into(),
                text: "Here".into(),
            },
            ServerMessage::Sentence {
                reply_id: "r".into(),
                index: 0,
                text: "Here.".into(),
                citations: vec!["s001".into()],
            },
            ServerMessage::ReplyEnd {
                reply_id: "r".into(),
                text: "Here.".into(),
                citations: vec![Citation {
                    id: "s001".into(),
                    kind: SourceKind::Statement,
                    title: "T".into(),
                    date: "2024-01-01".into(),
                    url: Some("https://x.example/".into()),
                }],
                interrupted: false,
                sentences: vec![ReplySentence {
                    text: "Here.".into(),
                    source: Some("s001".into()),
                    quote: Some("Here.".into()),
                }],
            },
            ServerMessage::error(ErrorCode::Busy, "a reply is in progress"),
            ServerMessage::Pong {
                nonce: 1,
                server_ms: wall_ms(),
            },
            ServerMessage::Room {
                room: "standup".into(),
                you: "p2".into(),
                participants: vec![
                    Participant {
                        id: "p1".into(),
                        name: "Ana".into(),
                        remote: false,
                        seat: None,
                    },
                    Participant {
                        id: "p2".into(),
                        name: "Ben".into(),
                        remote: true,
                        seat: Some(0),
                    },
                ],
            },
            ServerMessage::Queued {
                turn_id: "c2".into(),
                behind: 1,
            },
            ServerMessage::Pose {
                participant: "p2".into(),
                seq: 7,
                at_ms: 1,
                head: Pose {
                    position: [0.0, 1.6, 1.2],
                    orientation: [0.0, 1.0, 0.0, 0.0],
                },
                left: None,
                right: Some(Pose {
                    position: [0.2, 1.1, 1.0],
                    orientation: [0.0, 0.0, 0.0, 1.0],
                }),
            },
            ServerMessage::Voice {
                participant: "p2".into(),
                seq: 3,
                at_ms: 2,
                sample_rate: 16_000,
                pcm16: encode_pcm16(&[0; 320]),
            },
        ];
        for m in messages {
            assert_eq!(ServerMessage::decode(&m.encode()).unwrap(), m);
        }
    }
}
