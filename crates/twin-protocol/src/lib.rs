//! The Twin session protocol, shared by every client (headset, desktop, `twin chat`) and the edge server.
//!
//! One WebSocket per session. Every message is a JSON text frame holding one object with a `type` tag.
//! The first client message must be [`ClientMessage::Hello`] carrying [`PROTOCOL_VERSION`] and an auth token.
//! Binary frames are reserved for audio chunks and lip-sync frames (a later protocol revision).
//! See `docs/protocol.md` for the full description.

pub mod transport;

use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change. A server answers an unknown version with
/// [`ErrorCode::UnsupportedVersion`] and closes.
pub const PROTOCOL_VERSION: u32 = 5;

/// Largest client frame the server reads; anything larger is refused before parsing. Room for a turn with a
/// full attachment, every character of it escaped.
pub const MAX_CLIENT_FRAME_BYTES: usize = 256 * 1024;
/// Largest attachment of a user turn (a plan or proposal as text or Markdown), in bytes of UTF-8.
pub const MAX_ATTACHMENT_BYTES: usize = 64 * 1024;
/// Longest attachment name, in bytes.
pub const MAX_ATTACHMENT_NAME_BYTES: usize = 255;
/// Largest server frame a client should accept (history on resume is the biggest message).
pub const MAX_SERVER_FRAME_BYTES: usize = 4 * 1024 * 1024;
/// Longest user turn text, in characters.
pub const MAX_USER_TEXT_CHARS: usize = 4_000;
/// Longest auth token, in bytes.
pub const MAX_TOKEN_BYTES: usize = 512;
/// How many past turns a resumed session gets back in [`ServerMessage::Welcome`].
pub const MAX_HISTORY_TURNS: usize = 200;
/// Longest note a flag may carry, in bytes.
pub const MAX_FLAG_NOTE_BYTES: usize = 2_000;

/// WebSocket close codes the server uses (4000-4999 is the application range).
pub mod close_code {
    pub const NORMAL: u16 = 1000;
    /// The server closes a session that stayed silent past its idle timeout, or is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The server is restarting: reconnect in a few seconds (the session resumes).
    pub const SERVICE_RESTART: u16 = 1012;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const TOO_BIG: u16 = 1009;
    pub const UNSUPPORTED_VERSION: u16 = 4001;
    pub const UNAUTHORIZED: u16 = 4003;
    pub const UNKNOWN_SESSION: u16 = 4004;
    pub const TOO_MANY_CONNECTIONS: u16 = 4029;
    /// A room member whose messages piled up past its queue: dropped so the room goes on for the others.
    pub const TOO_SLOW: u16 = 4008;
}

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

/// A text document presented with a user turn: its file name and its text (plain text or Markdown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub name: String,
    pub text: String,
}

impl Attachment {
    fn check(&self) -> Result<(), ProtocolError> {
        let bad_name = self.name.trim().is_empty()
            || self.name.len() > MAX_ATTACHMENT_NAME_BYTES
            || self.name.chars().any(char::is_control);
        if bad_name {
            return Err(ProtocolError::Malformed(format!(
                "an attachment name is 1 to {MAX_ATTACHMENT_NAME_BYTES} bytes without control characters"
            )));
        }
        if self.text.len() > MAX_ATTACHMENT_BYTES {
            return Err(ProtocolError::AttachmentTooLarge {
                bytes: self.text.len(),
                limit: MAX_ATTACHMENT_BYTES,
            });
        }
        if self.text.trim().is_empty() {
            return Err(ProtocolError::Malformed(format!(
                "attachment {:?} is empty",
                self.name
            )));
        }
        Ok(())
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The twin's spot on the floor in the frame of a room's two floor marks (tape, a printed sheet, two table
/// legs: any two points everyone can touch): origin at mark A, +x toward mark B, +y up; `yaw` turns the twin
/// about +y (0: facing +z). Each headset touches the same two marks, so each can turn this into its own
/// tracking space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotOnMarks {
    pub x: f32,
    pub z: f32,
    pub yaw: f32,
}

/// A position (metres) and an orientation (unit quaternion x, y, z, w) in a room's shared frame: the
/// twin's own frame, origin on the floor at its feet, +y up, the twin facing +z. Every client places the
/// twin, so every client can say where its user is relative to it, whatever its own tracking space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pose {
    pub position: [f32; 3],
    pub orientation: [f32; 4],
}

/// Farthest a pose may be from the twin, in metres: anything beyond is a bug or a hostile client.
pub const MAX_POSE_DISTANCE_M: f32 = 100.0;

impl Pose {
    fn check(&self) -> Result<(), ProtocolError> {
        let finite = self
            .position
            .iter()
            .chain(&self.orientation)
            .all(|v| v.is_finite());
        let length = self.orientation.iter().map(|v| v * v).sum::<f32>().sqrt();
        let distance = self.position.iter().map(|v| v * v).sum::<f32>().sqrt();
        if !finite || !(0.9..=1.1).contains(&length) || distance > MAX_POSE_DISTANCE_M {
            return Err(ProtocolError::Malformed(format!(
                "a pose needs finite values, a unit orientation and a position within \
                 {MAX_POSE_DISTANCE_M} m of the twin (got {:?}, {:?})",
                self.position, self.orientation
            )));
        }
        Ok(())
    }
}

/// The server's clock in protocol messages: milliseconds since the Unix epoch on the server. Clients estimate
/// their offset from it with `ping`/`pong` (`pong.server_ms`).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What a voice client wants with each reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioRequest {
    /// Lip-sync frames beside the audio.
    #[serde(default = "yes")]
    pub lipsync: bool,
}

fn yes() -> bool {
    true
}

/// Longest audio chunk the server sends, in milliseconds: a stop takes effect within one chunk.
pub const MAX_AUDIO_CHUNK_MS: u32 = 100;

/// How much of a reply reached the user before an interruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Heard {
    /// Characters of the reply text (text clients).
    Chars(usize),
    /// Audio samples of the reply, on the reply's sample clock (voice clients).
    Samples(u64),
}

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

/// Someone in a room: an id for this connection and the name their token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: String,
    pub name: String,
    /// Not in the physical room with the twin: shown as a presence at `seat`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub remote: bool,
    /// A remote participant's seat beside the twin: 0, 1, … (see `docs/protocol.md#rooms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<u32>,
}

/// One lip-sync frame: the sample it shows, the 15 Oculus viseme weights (sil, PP, FF, TH, DD, kk, CH, SS, nn,
/// RR, aa, E, ih, oh, ou) and the 16 ARKit mouth and jaw weights (jawOpen, mouthClose, mouthFunnel,
/// mouthPucker, mouthSmileLeft/Right, mouthStretchLeft/Right, mouthRollLower, mouthRollUpper,
/// mouthPressLeft/Right, mouthLowerDownLeft/Right, mouthUpperUpLeft/Right), in those orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LipSyncFrame {
    pub sample: u64,
    pub visemes: Vec<f32>,
    pub arkit: Vec<f32>,
}

/// PCM16 samples as the base64 text of [`ServerMessage::Audio`].
pub fn encode_pcm16(samples: &[i16]) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The samples of a [`ServerMessage::Audio`] chunk.
pub fn decode_pcm16(text: &str) -> Result<Vec<i16>, ProtocolError> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| ProtocolError::Malformed(format!("audio chunk is not base64: {e}")))?;
    if bytes.len() % 2 != 0 {
        return Err(ProtocolError::Malformed(
            "audio chunk has an odd number of bytes".into(),
        ));
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonaInfo {
    pub id: String,
    pub name: String,
    pub role: String,
    pub organization: String,
    pub disclosure: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryTurn {
    pub seq: u64,
    pub speaker: Speaker,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<String>,
    /// The twin's turns: each sentence with the source sentence it rests on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sentences: Vec<ReplySentence>,
}

/// One sentence of a twin reply and what it rests on: the id of a source of the persona pack and the sentence
/// of that source that supports it (for a quoted sentence, the sentence itself). Both are absent for the
/// twin's own fixed wording (the disclosure, a redirect, "I don't know"), which states nothing in the
/// person's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplySentence {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
}

impl ReplySentence {
    /// A sentence in the twin's own fixed wording, resting on no source.
    pub fn own(text: impl Into<String>) -> Self {
        ReplySentence {
            text: text.into(),
            source: None,
            quote: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    User,
    Twin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TwinState {
    Listening,
    Thinking,
    Speaking,
}

/// Why the reply says what it says; clients may style these differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// Generated from retrieved passages, with citations.
    Grounded,
    /// States that this is an AI twin (session start, or asked).
    Disclosure,
    /// A request the twin will not carry out in the person's name (approve, refuse, decide, promise, voice
    /// words the user supplied), redirected to the real person, with what they have said on the topic.
    Redirect,
    /// What the person has said that bears on a plan or proposal the user presented: no verdict.
    Feedback,
    /// The persona pack has nothing on the topic.
    Unknown,
}

impl ReplyKind {
    /// The wire name (`grounded`, …), also used in the store and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyKind::Grounded => "grounded",
            ReplyKind::Disclosure => "disclosure",
            ReplyKind::Redirect => "redirect",
            ReplyKind::Feedback => "feedback",
            ReplyKind::Unknown => "unknown",
        }
    }
}

/// A source the reply drew on, resolved by the server from the persona pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub id: String,
    pub kind: SourceKind,
    pub title: String,
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Statement,
    Strategy,
}

/// Stable error codes: clients match on these, never on the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    UnsupportedVersion,
    Unauthorized,
    HelloRequired,
    BadMessage,
    MessageTooLarge,
    TextTooLong,
    EmptyText,
    UnknownPersona,
    UnknownSession,
    UnknownReply,
    Busy,
    /// The token already has as many sessions open as the server allows (fatal).
    TooManyConnections,
    /// Too many turns this minute with this token: this one is refused; the session goes on.
    RateLimited,
    LlmUnavailable,
    /// The twin's voice failed (could not load, or its speech server broke off): the reply goes on as text.
    VoiceUnavailable,
    Internal,
}

impl ErrorCode {
    /// Whether the server closes the session after sending this error.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            ErrorCode::UnsupportedVersion
                | ErrorCode::Unauthorized
                | ErrorCode::HelloRequired
                | ErrorCode::MessageTooLarge
                | ErrorCode::UnknownPersona
                | ErrorCode::UnknownSession
                | ErrorCode::TooManyConnections
        )
    }

    /// The WebSocket close code that goes with a fatal error.
    pub fn close_code(self) -> u16 {
        match self {
            ErrorCode::UnsupportedVersion => close_code::UNSUPPORTED_VERSION,
            ErrorCode::Unauthorized => close_code::UNAUTHORIZED,
            ErrorCode::UnknownSession | ErrorCode::UnknownPersona => close_code::UNKNOWN_SESSION,
            ErrorCode::MessageTooLarge => close_code::TOO_BIG,
            ErrorCode::TooManyConnections => close_code::TOO_MANY_CONNECTIONS,
            _ => close_code::PROTOCOL_ERROR,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProtocolError {
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("protocol version {got} is not supported (this side speaks {supported})")]
    UnsupportedVersion { got: u32, supported: u32 },
    #[error("user text of {chars} characters exceeds the limit of {limit}")]
    TextTooLong { chars: usize, limit: usize },
    #[error("user text is empty")]
    EmptyText,
    #[error("auth token longer than {MAX_TOKEN_BYTES} bytes")]
    TokenTooLong,
    #[error("attachment of {bytes} bytes exceeds the limit of {limit} bytes")]
    AttachmentTooLarge { bytes: usize, limit: usize },
}

impl ProtocolError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::TooLarge { .. } => ErrorCode::MessageTooLarge,
            ProtocolError::Malformed(_) | ProtocolError::TokenTooLong => ErrorCode::BadMessage,
            ProtocolError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            ProtocolError::TextTooLong { .. } | ProtocolError::AttachmentTooLarge { .. } => {
                ErrorCode::TextTooLong
            }
            ProtocolError::EmptyText => ErrorCode::EmptyText,
        }
    }
}

impl ClientMessage {
    /// Parses and validates one client frame: size first (before any parsing), then shape, then field limits.
    pub fn decode(frame: &str) -> Result<Self, ProtocolError> {
        if frame.len() > MAX_CLIENT_FRAME_BYTES {
            return Err(ProtocolError::TooLarge {
                size: frame.len(),
                limit: MAX_CLIENT_FRAME_BYTES,
            });
        }
        let message: ClientMessage =
            serde_json::from_str(frame).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        message.validate()?;
        Ok(message)
    }

    fn validate(&self) -> Result<(), ProtocolError> {
        match self {
            ClientMessage::Hello {
                protocol,
                token,
                instance,
                ..
            } => {
                if *protocol != PROTOCOL_VERSION {
                    return Err(ProtocolError::UnsupportedVersion {
                        got: *protocol,
                        supported: PROTOCOL_VERSION,
                    });
                }
                if token.len() > MAX_TOKEN_BYTES {
                    return Err(ProtocolError::TokenTooLong);
                }
                if instance
                    .as_ref()
                    .is_some_and(|i| i.is_empty() || i.len() > 64)
                {
                    return Err(ProtocolError::Malformed(
                        "instance must be 1 to 64 bytes".into(),
                    ));
                }
            }
            ClientMessage::UserPartial { text } => check_text(text, false)?,
            ClientMessage::UserFinal {
                text,
                turn_id,
                attachment,
                revises,
            } => {
                check_text(text, true)?;
                if let Some(attachment) = attachment {
                    attachment.check()?;
                }
                for (what, id) in [("turn_id", Some(turn_id)), ("revises", revises.as_ref())] {
                    if id.is_some_and(|id| id.is_empty() || id.len() > 128) {
                        return Err(ProtocolError::Malformed(format!(
                            "{what} must be 1 to 128 bytes"
                        )));
                    }
                }
                if revises.as_ref() == Some(turn_id) {
                    return Err(ProtocolError::Malformed(
                        "a turn cannot revise itself".into(),
                    ));
                }
            }
            ClientMessage::Pose {
                head, left, right, ..
            } => {
                head.check()?;
                for hand in left.iter().chain(right) {
                    hand.check()?;
                }
            }
            ClientMessage::Place { spot } => {
                let ok = [spot.x, spot.z, spot.yaw].iter().all(|v| v.is_finite())
                    && spot.x.hypot(spot.z) <= MAX_POSE_DISTANCE_M;
                if !ok {
                    return Err(ProtocolError::Malformed(format!(
                        "a spot needs finite values within {MAX_POSE_DISTANCE_M} m of the marks (got {spot:?})"
                    )));
                }
            }
            ClientMessage::Voice {
                sample_rate, pcm16, ..
            } => {
                if !(8_000..=48_000).contains(sample_rate) {
                    return Err(ProtocolError::Malformed(format!(
                        "voice sample_rate {sample_rate} is outside 8000..=48000"
                    )));
                }
                let samples = decode_pcm16(pcm16)?.len() as u64;
                let most = u64::from(*sample_rate) * u64::from(MAX_AUDIO_CHUNK_MS) / 1000;
                if samples == 0 || samples > most {
                    return Err(ProtocolError::Malformed(format!(
                        "a voice chunk holds 1 to {most} samples ({MAX_AUDIO_CHUNK_MS} ms), not {samples}"
                    )));
                }
            }
            ClientMessage::Flag { reply_id, note } => {
                if reply_id
                    .as_ref()
                    .is_some_and(|r| r.is_empty() || r.len() > 128)
                {
                    return Err(ProtocolError::Malformed(
                        "reply_id must be 1 to 128 bytes".into(),
                    ));
                }
                if note.as_ref().is_some_and(|n| n.len() > MAX_FLAG_NOTE_BYTES) {
                    return Err(ProtocolError::Malformed(format!(
                        "a flag's note is at most {MAX_FLAG_NOTE_BYTES} bytes"
                    )));
                }
            }
            ClientMessage::Interrupted { .. }
            | ClientMessage::Ping { .. }
            | ClientMessage::Bye
            | ClientMessage::Share { .. } => {}
        }
        Ok(())
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("client messages always serialize")
    }
}

fn check_text(text: &str, must_have_content: bool) -> Result<(), ProtocolError> {
    let chars = text.chars().count();
    if chars > MAX_USER_TEXT_CHARS {
        return Err(ProtocolError::TextTooLong {
            chars,
            limit: MAX_USER_TEXT_CHARS,
        });
    }
    if must_have_content && text.trim().is_empty() {
        return Err(ProtocolError::EmptyText);
    }
    Ok(())
}

impl ServerMessage {
    pub fn decode(frame: &str) -> Result<Self, ProtocolError> {
        if frame.len() > MAX_SERVER_FRAME_BYTES {
            return Err(ProtocolError::TooLarge {
                size: frame.len(),
                limit: MAX_SERVER_FRAME_BYTES,
            });
        }
        serde_json::from_str(frame).map_err(|e| ProtocolError::Malformed(e.to_string()))
    }

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

    fn hello(protocol: u32) -> ClientMessage {
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
    fn audio_chunks_round_trip_and_bad_ones_are_refused() {
        let samples = [0i16, 1, -1, i16::MAX, i16::MIN, 1234];
        assert_eq!(decode_pcm16(&encode_pcm16(&samples)).unwrap(), samples);
        assert!(decode_pcm16("not base64!").is_err());
        assert!(
            decode_pcm16(&{
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode([1u8, 2, 3])
            })
            .is_err()
        );
        // A 100 ms chunk at 48 kHz stays far inside a client's frame limit.
        let chunk = ServerMessage::Audio {
            reply_id: "r-0123456789abcdef".into(),
            first_sample: 0,
            sample_rate: 48_000,
            pcm16: encode_pcm16(&vec![0; 4_800]),
            play_at_ms: Some(wall_ms() + 250),
        };
        assert!(chunk.encode().len() < 16 * 1024);
        assert_eq!(ServerMessage::decode(&chunk.encode()).unwrap(), chunk);
        let frames = ServerMessage::LipSync {
            reply_id: "r".into(),
            frames: vec![LipSyncFrame {
                sample: 220,
                visemes: vec![0.0; 15],
                arkit: vec![0.5; 16],
            }],
        };
        assert_eq!(ServerMessage::decode(&frames.encode()).unwrap(), frames);
        let end = ServerMessage::AudioEnd {
            reply_id: "r".into(),
            samples: 44_100,
            sentence_starts: vec![0, 22_050],
        };
        assert_eq!(ServerMessage::decode(&end.encode()).unwrap(), end);
        // Text clients that never ask for audio stay valid.
        let text_hello = r#"{"type":"hello","protocol":5,"token":"t"}"#;
        assert!(matches!(
            ClientMessage::decode(text_hello).unwrap(),
            ClientMessage::Hello { audio: None, .. }
        ));
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
    fn share_defaults_to_sharing_and_long_flag_notes_are_refused() {
        assert_eq!(
            ClientMessage::decode(r#"{"type":"share"}"#).unwrap(),
            ClientMessage::Share { shared: true }
        );
        assert_eq!(
            ClientMessage::decode(r#"{"type":"flag"}"#).unwrap(),
            ClientMessage::Flag {
                reply_id: None,
                note: None
            }
        );
        let long = format!(
            r#"{{"type":"flag","note":"{}"}}"#,
            "x".repeat(MAX_FLAG_NOTE_BYTES + 1)
        );
        assert_eq!(
            ClientMessage::decode(&long).unwrap_err().code(),
            ErrorCode::BadMessage
        );
        let noted = ServerMessage::Noted {
            noted: NotedKind::Flagged,
            reply_id: Some("r1".into()),
        };
        assert_eq!(
            ServerMessage::decode(&serde_json::to_string(&noted).unwrap()).unwrap(),
            noted
        );
    }

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

    #[test]
    fn reply_kind_names_match_the_wire() {
        for k in [
            ReplyKind::Grounded,
            ReplyKind::Disclosure,
            ReplyKind::Redirect,
            ReplyKind::Unknown,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }

    #[test]
    fn wrong_version_is_refused() {
        let err = ClientMessage::decode(&hello(99).encode()).unwrap_err();
        assert_eq!(
            err,
            ProtocolError::UnsupportedVersion {
                got: 99,
                supported: PROTOCOL_VERSION
            }
        );
        assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
        assert!(err.code().is_fatal());
        assert_eq!(err.code().close_code(), close_code::UNSUPPORTED_VERSION);
    }

    #[test]
    fn oversize_frame_is_refused_before_parsing() {
        let frame = "x".repeat(MAX_CLIENT_FRAME_BYTES + 1);
        let err = ClientMessage::decode(&frame).unwrap_err();
        assert!(matches!(err, ProtocolError::TooLarge { .. }));
        assert_eq!(err.code().close_code(), close_code::TOO_BIG);
    }

    #[test]
    fn malformed_frames_are_refused() {
        for frame in [
            "",
            "not json",
            "{}",
            r#"{"type":"launch_missiles"}"#,
            r#"{"type":"user_final","text":"no id"}"#,
            r#"{"type":"user_final","turn_id":"a","text":"x","extra":1}"#,
            r#"{"type":"interrupted","reply_id":"r","heard":{"bytes":3}}"#,
            r#"[1,2,3]"#,
        ] {
            let err = ClientMessage::decode(frame).unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::BadMessage,
                "frame {frame:?} gave {err:?}"
            );
        }
    }

    #[test]
    fn attachments_are_limited_and_a_full_one_fits_a_frame() {
        let turn = |name: &str, text: String| ClientMessage::UserFinal {
            turn_id: "a".into(),
            text: "Any feedback on this plan?".into(),
            attachment: Some(Attachment {
                name: name.into(),
                text,
            }),
            revises: None,
        };
        // The worst case for escaping that text files hold: every byte a quote or a newline.
        let full = turn("plan.md", "\"\n".repeat(MAX_ATTACHMENT_BYTES / 2));
        assert_eq!(ClientMessage::decode(&full.encode()).unwrap(), full);
        assert!(matches!(
            ClientMessage::decode(&turn("plan.md", "x".repeat(MAX_ATTACHMENT_BYTES + 1)).encode()),
            Err(ProtocolError::AttachmentTooLarge { .. })
        ));
        for (name, text) in [("", "plan"), ("a\nb.md", "plan"), ("plan.md", " \n ")] {
            let err = ClientMessage::decode(&turn(name, text.into()).encode()).unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::BadMessage,
                "{name:?} {text:?}: {err}"
            );
        }
    }

    #[test]
    fn text_limits_are_enforced() {
        let long = ClientMessage::UserFinal {
            turn_id: "a".into(),
            text: "é".repeat(MAX_USER_TEXT_CHARS + 1),
            attachment: None,
            revises: None,
        };
        assert!(matches!(
            ClientMessage::decode(&long.encode()),
            Err(ProtocolError::TextTooLong { .. })
        ));
        let ok = ClientMessage::UserFinal {
            turn_id: "a".into(),
            text: "é".repeat(MAX_USER_TEXT_CHARS),
            attachment: None,
            revises: None,
        };
        assert!(ClientMessage::decode(&ok.encode()).is_ok());
        let empty = ClientMessage::UserFinal {
            turn_id: "a".into(),
            text: "  \n".into(),
            attachment: None,
            revises: None,
        };
        assert_eq!(
            ClientMessage::decode(&empty.encode()),
            Err(ProtocolError::EmptyText)
        );
        for revises in ["", "a"] {
            let bad = ClientMessage::UserFinal {
                turn_id: "a".into(),
                text: "Said again.".into(),
                attachment: None,
                revises: Some(revises.into()),
            };
            assert!(
                matches!(
                    ClientMessage::decode(&bad.encode()),
                    Err(ProtocolError::Malformed(_))
                ),
                "revises {revises:?}"
            );
        }
        let token = ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: "k".repeat(MAX_TOKEN_BYTES + 1),
            persona: None,
            session_id: None,
            client: None,
            audio: None,
            room: None,
            remote: false,
            instance: None,
        };
        assert_eq!(
            ClientMessage::decode(&token.encode()),
            Err(ProtocolError::TokenTooLong)
        );
    }

    #[test]
    fn poses_and_voice_chunks_are_checked() {
        let pose = |position: [f32; 3], orientation: [f32; 4]| Pose {
            position,
            orientation,
        };
        let good = ClientMessage::Pose {
            seq: 1,
            head: pose([0.0, 1.6, 1.5], [0.0, 0.0, 0.0, 1.0]),
            left: Some(pose([-0.2, 1.0, 1.3], [0.0, 0.0, 0.0, 1.0])),
            right: None,
        };
        assert_eq!(ClientMessage::decode(&good.encode()).unwrap(), good);
        for bad in [
            pose([0.0, f32::NAN, 0.0], [0.0, 0.0, 0.0, 1.0]),
            pose([0.0, 1.6, 500.0], [0.0, 0.0, 0.0, 1.0]),
            pose([0.0, 1.6, 1.0], [0.0, 0.0, 0.0, 0.0]),
        ] {
            let m = ClientMessage::Pose {
                seq: 2,
                head: pose([0.0, 1.6, 1.0], [0.0, 0.0, 0.0, 1.0]),
                left: None,
                right: Some(bad),
            };
            // NaN does not survive JSON at all; the others are refused by the check.
            assert!(ClientMessage::decode(&m.encode()).is_err(), "{bad:?}");
        }
        let voice = |rate: u32, n: usize| ClientMessage::Voice {
            seq: 1,
            sample_rate: rate,
            pcm16: encode_pcm16(&vec![0; n]),
        };
        assert!(ClientMessage::decode(&voice(16_000, 320).encode()).is_ok());
        assert!(ClientMessage::decode(&voice(16_000, 1_600).encode()).is_ok());
        assert!(ClientMessage::decode(&voice(16_000, 1_601).encode()).is_err());
        assert!(ClientMessage::decode(&voice(16_000, 0).encode()).is_err());
        assert!(ClientMessage::decode(&voice(4_000, 100).encode()).is_err());
    }
}
