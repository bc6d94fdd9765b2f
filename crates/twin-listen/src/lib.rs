//! Speech in, on the device: audio → voice activity (Silero VAD) → recognition (sherpa-onnx) → partial and
//! final transcripts with their timing.
//!
//! The default recognizer is an offline model (Whisper tiny.en; Moonshine tiny on request) run on the segments
//! the VAD cuts: partial
//! hypotheses come from re-decoding the growing segment, and decoding starts as soon as silence begins
//! (speculative finalization), so the final transcript is ready when the VAD confirms the end of speech.

pub mod audio;
pub mod barge;
pub mod duplex;
pub mod echo;
pub mod listener;
pub mod moonshine;
pub mod player;
pub mod recognizer;
pub mod residual;
pub mod room;
pub mod streaming;
pub mod turn;
pub mod vad;

pub use duplex::{Cue, Duplex, DuplexConfig};
pub use listener::{Event, Listen, Listener, ListenerConfig, turns};
pub use moonshine::MoonshineRecognizer;
pub use recognizer::{Recognizer, RecognizerKind, WhisperRecognizer};
pub use streaming::{EndpointRules, StreamingListener};
pub use vad::Vad;

/// The rate every model here runs at.
pub const SAMPLE_RATE: u32 = 16_000;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot read {path}: {reason}")]
    Audio { path: String, reason: String },
    #[error("{0}")]
    Format(String),
    #[error("the {what} model is missing or does not load: {path} (cargo xtask setup fetches it)")]
    Model { what: &'static str, path: String },
}
