//! WebSocket close codes the server uses (4000-4999 is the application range).

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
