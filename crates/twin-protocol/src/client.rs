//! The client's messages: everything a headset, desktop or `twin chat` sends to the server.

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::MAX_AUDIO_CHUNK_MS;
use crate::serde_fields::{is_false, yes};
use crate::{Attachment, AudioRequest, Pose, SpotOnMarks};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Opens (or resumes, with `session_id`) a session.
    Hello {
        protocol: u32,
        token: String,
        /// Persona id; the server's default persona when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        persona: Option<String>,
        /// Resume this earlier session and get its history back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
        /// Free-form client name for logs ("twin-chat/0.1", "headset/0.1").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
        /// Voice clients ask for the twin's speech (and lip-sync) with every reply; text clients leave it out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio: Option<AudioRequest>,
        /// Join this room (a shared conversation with the twin; the token must grant it) instead of a
        /// session of one's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        /// In a room: this participant is not in the physical room with the twin. The others see them as a
        /// presence (head, hands, name) at a seat beside the twin, and hear their voice from there.
        #[serde(default, skip_serializing_if = "is_false")]
        remote: bool,
        /// This client's instance (random, kept across its reconnects, at most 64 bytes): in a room, the token
        /// holder and the instance are one participant, so a turn resent after a reconnect is answered once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
    /// What the user is saying so far (speech recognition partials). Not stored; shown to others later.
    UserPartial {
        text: String,
    },
    /// A finished user turn. `turn_id` is chosen by the client so a turn resent after a reconnect is stored once.
    UserFinal {
        turn_id: String,
        text: String,
        /// A document the user presents with the turn (a plan, a proposal), for the twin's feedback.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<Attachment>,
        /// The turn (an earlier `turn_id` of this client) that this one says again whole: the client ended
        /// that one too soon, the speaker went on. The twin answers this one; the one it revises is kept for
        /// review but left out of what the twin reads back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revises: Option<String>,
    },
    /// The user cut the twin off: how much of reply `reply_id` they actually heard.
    Interrupted {
        reply_id: String,
        heard: Heard,
    },
    Ping {
        nonce: u64,
    },
    Bye,
    /// In a room: where this participant's head and hands are, in the room frame (see [`Pose`]), sent 30
    /// times a second or more while they are there. Relayed to the others; `seq` counts up per sender.
    Pose {
        seq: u64,
        head: Pose,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        left: Option<Pose>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        right: Option<Pose>,
    },
    /// In a room, for people in the same physical room: where the twin stands relative to the room's two floor
    /// marks (see [`SpotOnMarks`]). Sent by whoever placed or moved it; the server keeps the latest for the
    /// room and gives it to everyone (`placed`), so every colocated headset stands the twin on the same spot.
    Place {
        spot: SpotOnMarks,
    },
    /// In a room: the participant's own voice (mono PCM16 at `sample_rate`, base64, at most
    /// [`MAX_AUDIO_CHUNK_MS`] long), relayed to the others so that remote people hear each other.
    Voice {
        seq: u64,
        sample_rate: u32,
        pcm16: String,
    },
    /// Shares this session with the person the twin stands for, for review (`shared: false` takes it back).
    /// Conversations are private by default: unshared, the person sees its questions only anonymised.
    Share {
        #[serde(default = "yes")]
        shared: bool,
    },
    /// "That's not right": flags reply `reply_id` (the last reply to this user when absent) for the person's
    /// review, with an optional note. The flagged exchange, the question and the reply, is shown to the person.
    Flag {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

/// How much of a reply reached the user before an interruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Heard {
    /// Characters of the reply text (text clients).
    Chars(usize),
    /// Audio samples of the reply, on the reply's sample clock (voice clients).
    Samples(u64),
}

impl ClientMessage {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("client messages always serialize")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::PROTOCOL_VERSION;

    pub(crate) fn hello(protocol: u32) -> ClientMessage {
        ClientMessage::Hello {
            protocol,
            token: "t".into(),
            persona: Some("owen-marsh".into()),
            session_id: None,
            client: None,
            audio: Some(AudioRequest { lipsync: true }),
            room: None,
            remote: false,
            instance: None,
        }
    }

    #[test]
    fn client_messages_round_trip() {
        let messages = vec![
            hello(PROTOCOL_VERSION),
            ClientMessage::UserPartial {
                text: "what do you".into(),
            },
            ClientMessage::UserFinal {
                turn_id: "c1-1".into(),
                text: "What do you think of remote work?".into(),
                attachment: None,
                revises: None,
            },
            ClientMessage::UserFinal {
                turn_id: "c1-3".into(),
                text: "What do you think of remote work on Fridays?".into(),
                attachment: None,
                revises: Some("c1-2".into()),
            },
            ClientMessage::Interrupted {
                reply_id: "r1".into(),
                heard: Heard::Chars(12),
            },
            ClientMessage::Interrupted {
                reply_id: "r1".into(),
                heard: Heard::Samples(22_050),
            },
            ClientMessage::Ping { nonce: 7 },
            ClientMessage::Bye,
            ClientMessage::Share { shared: false },
            ClientMessage::Flag {
                reply_id: Some("r1".into()),
                note: Some("It's two days, not three.".into()),
            },
        ];
        for m in messages {
            assert_eq!(ClientMessage::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn wire_format_is_tagged_snake_case() {
        let json = ClientMessage::UserFinal {
            turn_id: "a".into(),
            text: "b".into(),
            attachment: None,
            revises: None,
        }
        .encode();
        assert_eq!(json, r#"{"type":"user_final","turn_id":"a","text":"b"}"#);
        let json = ClientMessage::Interrupted {
            reply_id: "r".into(),
            heard: Heard::Chars(3),
        }
        .encode();
        assert_eq!(
            json,
            r#"{"type":"interrupted","reply_id":"r","heard":{"chars":3}}"#
        );
    }
}
