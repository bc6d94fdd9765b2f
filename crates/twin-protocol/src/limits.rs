//! The protocol version and the limits both sides enforce: frame sizes, text lengths, attachment and
//! token sizes, how far a pose may be and how long an audio chunk is.

#[cfg(doc)]
use crate::{ErrorCode, ServerMessage};

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

/// Farthest a pose may be from the twin, in metres: anything beyond is a bug or a hostile client.
pub const MAX_POSE_DISTANCE_M: f32 = 100.0;

/// Longest audio chunk the server sends, in milliseconds: a stop takes effect within one chunk.
pub const MAX_AUDIO_CHUNK_MS: u32 = 100;
