//! Recognizers: a model that turns a stretch of 16 kHz speech into text. Offline models decode whole
//! segments (and are re-run on a growing segment for partials): Whisper tiny.en by default, Moonshine tiny
//! ([`crate::moonshine`]) on request.

use crate::{ListenError, SAMPLE_RATE};
use std::path::Path;

pub trait Recognizer: Send {
    /// The text of `samples` (16 kHz mono), trimmed.
    fn decode(&self, samples: &[f32]) -> String;
    /// A partial hypothesis of speech still going on: may trade accuracy for speed (it is decoded again and
    /// again as the speech grows).
    fn decode_partial(&self, samples: &[f32]) -> String {
        self.decode(samples)
    }
    /// For reports: which model.
    fn name(&self) -> &str;
}

/// Whisper in sherpa-onnx's layout (encoder.int8.onnx, decoder.int8.onnx, tokens.txt in one folder).
pub struct WhisperRecognizer {
    recognizer: sherpa_onnx::OfflineRecognizer,
    /// The same model with less padding, for partials: they are decoded again and again while the user
    /// speaks, and need not be as exact as the final.
    partial: sherpa_onnx::OfflineRecognizer,
    name: String,
}

/// sherpa-onnx's tail padding (10 ms feature frames) for finals. The mirror's SOURCE.md suggests about 2400:
/// over the speech set 800 gave the same word error rate (23.0% vs 24.0%) in half the time, 300 lost
/// accuracy (26%). Appending silent audio instead was worse (27%). `TWIN_WHISPER_TAIL_PADDINGS` overrides it.
const FINAL_TAIL_PADDING: i32 = 800;
/// For partials.
const PARTIAL_TAIL_PADDING: i32 = 300;

impl WhisperRecognizer {
    pub fn load(dir: &Path, threads: usize) -> Result<WhisperRecognizer, ListenError> {
        let file = |n: &str| dir.join(n);
        for f in ["encoder.int8.onnx", "decoder.int8.onnx", "tokens.txt"] {
            if !file(f).is_file() {
                return Err(ListenError::Model {
                    what: "Whisper",
                    path: file(f).display().to_string(),
                });
            }
        }
        let mut config = sherpa_onnx::OfflineRecognizerConfig::default();
        let path = |n: &str| Some(file(n).display().to_string());
        config.model_config.whisper = sherpa_onnx::OfflineWhisperModelConfig {
            encoder: path("encoder.int8.onnx"),
            decoder: path("decoder.int8.onnx"),
            language: Some("en".into()),
            task: Some("transcribe".into()),
            tail_paddings: std::env::var("TWIN_WHISPER_TAIL_PADDINGS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(FINAL_TAIL_PADDING),
            enable_token_timestamps: false,
            enable_segment_timestamps: false,
        };
        config.model_config.tokens = path("tokens.txt");
        config.model_config.num_threads = threads.max(1) as i32;
        config.decoding_method = Some("greedy_search".into());
        let create = |config: &sherpa_onnx::OfflineRecognizerConfig| {
            sherpa_onnx::OfflineRecognizer::create(config).ok_or_else(|| ListenError::Model {
                what: "Whisper",
                path: dir.display().to_string(),
            })
        };
        let recognizer = create(&config)?;
        config.model_config.whisper.tail_paddings = config
            .model_config
            .whisper
            .tail_paddings
            .min(PARTIAL_TAIL_PADDING);
        let partial = create(&config)?;
        Ok(WhisperRecognizer {
            recognizer,
            partial,
            name: format!(
                "whisper {}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            ),
        })
    }
}

/// Which offline model recognizes speech on the VAD's segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecognizerKind {
    /// Moonshine tiny (`models/moonshine-tiny-en`): the default; a third of Whisper tiny.en's word errors on
    /// people's speech at a fifth of its cost (BENCHMARKS.md).
    #[default]
    Moonshine,
    /// Whisper tiny.en (`models/whisper-tiny.en`).
    Whisper,
}

impl RecognizerKind {
    pub fn name(self) -> &'static str {
        match self {
            RecognizerKind::Moonshine => "moonshine",
            RecognizerKind::Whisper => "whisper",
        }
    }

    /// Speech between partial hypotheses that suits the model: Moonshine decodes a growing utterance in a
    /// few tens of milliseconds, Whisper in a few hundred.
    pub fn partial_every_s(self) -> f32 {
        match self {
            RecognizerKind::Moonshine => 0.3,
            RecognizerKind::Whisper => 0.7,
        }
    }

    /// The model from the folder `cargo xtask setup` fills.
    pub fn load(
        self,
        models_dir: &Path,
        threads: usize,
    ) -> Result<Box<dyn Recognizer>, ListenError> {
        Ok(match self {
            RecognizerKind::Moonshine => Box::new(crate::moonshine::MoonshineRecognizer::load(
                &models_dir.join("moonshine-tiny-en"),
                threads,
            )?),
            RecognizerKind::Whisper => Box::new(WhisperRecognizer::load(
                &models_dir.join("whisper-tiny.en"),
                threads,
            )?),
        })
    }
}

impl std::str::FromStr for RecognizerKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "moonshine" => Ok(RecognizerKind::Moonshine),
            "whisper" => Ok(RecognizerKind::Whisper),
            other => Err(format!("no recognizer {other:?}: moonshine or whisper")),
        }
    }
}

/// The text of `samples` through one of sherpa-onnx's offline recognizers.
pub(crate) fn decode_with(recognizer: &sherpa_onnx::OfflineRecognizer, samples: &[f32]) -> String {
    if samples.is_empty() {
        return String::new();
    }
    let stream = recognizer.create_stream();
    stream.accept_waveform(SAMPLE_RATE as i32, samples);
    recognizer.decode(&stream);
    stream
        .get_result()
        .map(|r| r.text.trim().to_string())
        .unwrap_or_default()
}

impl Recognizer for WhisperRecognizer {
    fn decode(&self, samples: &[f32]) -> String {
        decode_with(&self.recognizer, samples)
    }

    fn decode_partial(&self, samples: &[f32]) -> String {
        decode_with(&self.partial, samples)
    }

    fn name(&self) -> &str {
        &self.name
    }
}
