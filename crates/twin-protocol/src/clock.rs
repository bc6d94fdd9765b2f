//! The server's clock, as protocol messages carry it.

/// The server's clock in protocol messages: milliseconds since the Unix epoch on the server. Clients estimate
/// their offset from it with `ping`/`pong` (`pong.server_ms`).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
