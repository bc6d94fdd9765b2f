//! Speech synthesis behind one trait, chosen by the persona's voice config:
//! - [`piper::PiperVoice`]: the embedded neural default, a Piper VITS voice run by sherpa-onnx, fed IPA from espeak-ng;
//! - [`espeak::EspeakVoice`]: espeak-ng itself, light, and the one backend that reports exact phoneme timing;
//! - [`http::HttpVoice`]: any server speaking OpenAI's `/v1/audio/speech` with streamed PCM (voice-clone servers).
//!
//! Every backend synthesizes one sentence at a time and hands audio to a sink as soon as it has it; the sink
//! returns `false` to stop (an interruption), and the backend stops within one piece.

pub mod espeak;
pub mod http;
pub mod piper;
pub mod text;
pub mod wav;

use serde::Deserialize;
use std::path::{Path, PathBuf};

pub use espeak::EspeakVoice;
pub use http::{HttpVoice, HttpVoiceConfig};
pub use piper::PiperVoice;

/// A phoneme and the sample (from the start of the utterance) where it begins, as voices with timing report it.
pub use twin_lipsync::TimedPhoneme;

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum VoiceError {
    #[error("nothing to say: {0}")]
    EmptyText(String),
    #[error("text is {chars} characters long; the limit is {limit} (split it into sentences)")]
    TextTooLong { chars: usize, limit: usize },
    #[error("bad text: {0}")]
    BadText(String),
    #[error("bad voice config: {0}")]
    BadConfig(String),
    #[error("cannot load {what}: {reason}")]
    Load { what: String, reason: String },
    #[error("speech synthesis failed: {0}")]
    Synthesis(String),
    #[error("speech server {url}: {reason}")]
    Server { url: String, reason: String },
}

impl VoiceError {
    /// The input was at fault (the caller can fix it), not the voice.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            VoiceError::EmptyText(_) | VoiceError::TextTooLong { .. } | VoiceError::BadText(_)
        )
    }
}

/// What a synthesis reports once its audio is out.
#[derive(Debug, Clone, Default)]
pub struct Synthesis {
    /// Samples handed to the sink.
    pub samples: u64,
    /// Phoneme timing, where the backend knows it (espeak-ng does; neural and HTTP voices do not).
    pub phonemes: Vec<TimedPhoneme>,
    /// The sink asked to stop before the end.
    pub stopped: bool,
}

/// A voice. Implementations are shared between sessions; `synthesize` may be called from several threads.
pub trait Synthesizer: Send + Sync {
    /// For logs and metrics: "piper", "espeak", "http".
    fn backend(&self) -> &'static str;
    /// The rate of every sample this voice produces.
    fn sample_rate(&self) -> u32;
    /// Whether [`Synthesis::phonemes`] comes back filled: lip-sync can then follow the phonemes exactly
    /// instead of being read from the audio.
    fn reports_phonemes(&self) -> bool {
        false
    }
    /// Synthesizes one sentence (already checked with [`text::prepare`]). `sink` gets mono samples in [-1, 1]
    /// as they are ready and returns `false` to stop.
    fn synthesize(
        &self,
        text: &str,
        sink: &mut dyn FnMut(&[f32]) -> bool,
    ) -> Result<Synthesis, VoiceError>;
}

/// A persona's `[voice]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VoiceConfig {
    /// "piper" (default), "espeak" or "http".
    #[serde(default = "default_backend")]
    pub backend: String,
    /// piper: the voice folder under the models directory (`piper-<id>`); espeak: an espeak-ng voice such as
    /// `en-us` or `en-us+m3`; http: the server's voice name.
    pub id: String,
    /// Speaking rate, 1.0 = the voice's own.
    #[serde(default = "one")]
    pub speed: f32,
}

fn default_backend() -> String {
    "piper".into()
}
fn one() -> f32 {
    1.0
}

/// Where the shared parts of a deployment live: the models folder and, for HTTP voices, the speech server.
#[derive(Debug, Clone, Default)]
pub struct VoiceEnvironment {
    pub models_dir: PathBuf,
    pub http: Option<HttpVoiceConfig>,
    /// Threads for neural synthesis.
    pub threads: Option<usize>,
}

/// Opens the voice a persona asks for.
pub fn open(
    config: &VoiceConfig,
    env: &VoiceEnvironment,
) -> Result<Box<dyn Synthesizer>, VoiceError> {
    if !(0.25..=4.0).contains(&config.speed) {
        return Err(VoiceError::BadConfig(format!(
            "speed {} is outside 0.25..4.0",
            config.speed
        )));
    }
    match config.backend.as_str() {
        "piper" => Ok(Box::new(PiperVoice::load(
            &piper_dir(&env.models_dir, &config.id),
            config.speed,
            env.threads.unwrap_or(1),
        )?)),
        "espeak" => Ok(Box::new(EspeakVoice::new(&config.id, config.speed)?)),
        "http" => {
            let http = env.http.clone().ok_or_else(|| {
                VoiceError::BadConfig(
                    "an http voice needs a speech server: give `twin say` --tts-url (or TWIN_TTS_URL), or the server config a [tts.http] section".into(),
                )
            })?;
            Ok(Box::new(HttpVoice::new(HttpVoiceConfig {
                voice: config.id.clone(),
                speed: config.speed,
                ..http
            })?))
        }
        other => Err(VoiceError::BadConfig(format!(
            "unknown voice backend {other:?} (expected \"piper\", \"espeak\" or \"http\")"
        ))),
    }
}

/// The folder `cargo xtask setup` prepares for a Piper voice.
pub fn piper_dir(models_dir: &Path, id: &str) -> PathBuf {
    models_dir.join(format!("piper-{id}"))
}
