//! The voice loop on the device: microphone (or a file, or a stream) → echo canceller and listener
//! (`twin-listen`) → link; the twin's speech from the link → player → speaker, whose output is the echo
//! canceller's reference.

pub mod capture;
pub mod remote;
pub mod spatial;
pub mod speaker;

/// One tick of the loop: 20 ms at 16 kHz.
pub const TICK: usize = 320;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("no {0} device (no sound card?)")]
    NoDevice(&'static str),
    #[error("the {what} device cannot be used: {reason}")]
    Device { what: &'static str, reason: String },
    #[error(transparent)]
    Listen(#[from] twin_listen::ListenError),
    #[error("cannot read the audio stream: {0}")]
    Stream(#[from] std::io::Error),
}
