//! The Twin session protocol, shared by every client (headset, desktop, `twin chat`) and the edge server.
//!
//! One WebSocket per session. Every message is a JSON text frame holding one object with a `type` tag.
//! The first client message must be [`ClientMessage::Hello`] carrying [`PROTOCOL_VERSION`] and an auth token.
//! Binary frames are reserved for audio chunks and lip-sync frames (a later protocol revision).
//! See `docs/protocol.md` for the full description.

pub mod close_code;
pub mod transport;

mod attachment;
mod audio;
mod client;
mod clock;
mod decode;
mod error;
mod limits;
mod reply;
mod room;
mod serde_fields;
mod server;
mod session;

pub use attachment::Attachment;
pub use audio::{AudioRequest, LipSyncFrame, decode_pcm16, encode_pcm16};
pub use client::{ClientMessage, Heard};
pub use clock::wall_ms;
pub use error::{ErrorCode, ProtocolError};
pub use limits::{
    MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_NAME_BYTES, MAX_AUDIO_CHUNK_MS, MAX_CLIENT_FRAME_BYTES,
    MAX_FLAG_NOTE_BYTES, MAX_HISTORY_TURNS, MAX_POSE_DISTANCE_M, MAX_SERVER_FRAME_BYTES,
    MAX_TOKEN_BYTES, MAX_USER_TEXT_CHARS, PROTOCOL_VERSION,
};
pub use reply::{Citation, ReplyKind, ReplySentence, SourceKind};
pub use room::{Participant, Pose, SpotOnMarks};
pub use server::{NotedKind, ServerMessage};
pub use session::{HistoryTurn, PersonaInfo, Speaker, TwinState};
