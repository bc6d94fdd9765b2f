//! The transcript's side of the end of turn: whether the words heard so far can end a sentence. Smart Turn
//! hears prosody and is fooled by a flat or synthetic voice; the recognizer's text is there at the pause.
//! Two readings: the embedded language model's probability that a sentence-ending mark comes next
//! (`twin_llm::sentence_end`, with this crate's `language-turn` feature, on by default), and, without it, the
//! last word alone ([`crate::turn::dangling`]).

use crate::ListenError;
use std::path::Path;

/// The embedded LLM's registry file, in the folder `cargo xtask setup` fills.
pub const MODEL: &str = "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

/// The language model's probability below which a transcript goes on: set on the development pause set
/// (`assets/speech/paused-dev.txt`, whose first halves read 0.000–0.040 and whole questions 0.016–0.89), never
/// on the held-out one.
pub const ENDS_AT: f32 = 0.03;

/// How the transcript keeps open a turn that Smart Turn finds complete.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TranscriptCheck {
    /// Smart Turn alone decides.
    None,
    /// A last word no sentence ends on ("about", "to", "the") keeps it open.
    LastWord,
    /// The language model finds a sentence end after the words less likely than `ends_at`.
    Language { ends_at: f32 },
}

impl Default for TranscriptCheck {
    /// The language model where this build has it, else the last word.
    fn default() -> Self {
        if cfg!(feature = "language-turn") {
            TranscriptCheck::Language { ends_at: ENDS_AT }
        } else {
            TranscriptCheck::LastWord
        }
    }
}

/// The language model reading transcripts (one thread, its own worker).
pub struct SentenceEnd {
    #[cfg(feature = "language-turn")]
    judge: twin_llm::sentence_end::SentenceEnd,
    #[cfg(not(feature = "language-turn"))]
    never: std::convert::Infallible,
}

impl SentenceEnd {
    /// The model from `models_dir` ([`MODEL`]).
    #[cfg(feature = "language-turn")]
    pub fn load(models_dir: &Path) -> Result<SentenceEnd, ListenError> {
        let path = models_dir.join(MODEL);
        let judge = twin_llm::sentence_end::SentenceEnd::load(&path, 1).map_err(|e| {
            ListenError::Model {
                what: "sentence-end language",
                path: format!("{}: {e}", path.display()),
            }
        })?;
        Ok(SentenceEnd { judge })
    }

    #[cfg(not(feature = "language-turn"))]
    pub fn load(_models_dir: &Path) -> Result<SentenceEnd, ListenError> {
        Err(ListenError::Format(
            "this build reads transcripts by their last word only (twin-listen's `language-turn` feature is off)"
                .into(),
        ))
    }

    /// How likely the sentence ends after `transcript`, 0 to 1.
    pub fn probability(&self, transcript: &str) -> Result<f32, ListenError> {
        #[cfg(feature = "language-turn")]
        return self
            .judge
            .probability(transcript)
            .map_err(|e| ListenError::Format(e.to_string()));
        #[cfg(not(feature = "language-turn"))]
        {
            let _ = transcript;
            match self.never {}
        }
    }
}
