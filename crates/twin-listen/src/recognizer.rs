//! Recognizers: a model that turns a stretch of 16 kHz speech into text. Offline models decode whole
//! segments (and are re-run on a growing segment for partials); streaming transducers will sit behind the
//! same trait.

use crate::{ListenError, SAMPLE_RATE};
use std::path::Path;

pub trait Recognizer: Send {
    /// The text of `samples` (16 kHz mono), trimmed.
    fn decode(&self, samples: &[f32]) -> String;
    /// For reports: which model.
    fn name(&self) -> &str;
}

/// Whisper in sherpa-onnx's layout (encoder.int8.onnx, decoder.int8.onnx, tokens.txt in one folder).
pub struct WhisperRecognizer {
    recognizer: sherpa_onnx::OfflineRecognizer,
    name: String,
}

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
            // The mirror's SOURCE.md suggests about 2400: over the speech set 800 gave the same word error rate
            // (23.0% vs 24.0%) and decodes in half the time, 300 lost accuracy (26%). An override measures it.
            tail_paddings: std::env::var("TWIN_WHISPER_TAIL_PADDINGS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(800),
            enable_token_timestamps: false,
            enable_segment_timestamps: false,
        };
        config.model_config.tokens = path("tokens.txt");
        config.model_config.num_threads = threads.max(1) as i32;
        config.decoding_method = Some("greedy_search".into());
        let recognizer =
            sherpa_onnx::OfflineRecognizer::create(&config).ok_or_else(|| ListenError::Model {
                what: "Whisper",
                path: dir.display().to_string(),
            })?;
        Ok(WhisperRecognizer {
            recognizer,
            name: format!(
                "whisper {}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            ),
        })
    }
}

impl Recognizer for WhisperRecognizer {
    fn decode(&self, samples: &[f32]) -> String {
        if samples.is_empty() {
            return String::new();
        }
        let stream = self.recognizer.create_stream();
        stream.accept_waveform(SAMPLE_RATE as i32, samples);
        self.recognizer.decode(&stream);
        stream
            .get_result()
            .map(|r| r.text.trim().to_string())
            .unwrap_or_default()
    }

    fn name(&self) -> &str {
        &self.name
    }
}
