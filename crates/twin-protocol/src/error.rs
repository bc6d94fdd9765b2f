//! What goes wrong: the stable error codes a server sends (and the close code each fatal one goes with), and
//! the errors of decoding a frame.

use serde::{Deserialize, Serialize};

use crate::{MAX_TOKEN_BYTES, close_code};

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
