//! Recognizers: a model that turns a stretch of 16 kHz speech into text. Offline models decode whole
//! segments (and are re-run on a growing segment for partials); streaming transducers will sit behind the
//! same trait.

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
    name: String,
    /// Silence appended after the speech (samples), for finals and for partials.
    final_padding: usize,
    partial_padding: usize,
}

/// Whisper was trained on 30 s windows and ends its transcripts more reliably with silence after the speech;
/// the encoder's cost grows with it. The mirror's SOURCE.md suggests about 24 s; over the speech set 8 s gave
/// the same word error rate in half the time, 3 s lost accuracy. Partials are decoded over and over while the
/// user speaks, so they get less. `TWIN_WHISPER_TAIL_PADDINGS` (10 ms frames) overrides the finals' padding to
/// measure it.
const FINAL_PADDING_S: f32 = 8.0;
const PARTIAL_PADDING_S: f32 = 3.0;

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
            // The padding is appended here as silence (what Whisper itself pads with), so finals and
            // partials can differ; sherpa-onnx's own (zero features) is kept to its minimum.
            tail_paddings: 1,
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
        let frames: Option<f32> = std::env::var("TWIN_WHISPER_TAIL_PADDINGS")
            .ok()
            .and_then(|v| v.parse().ok());
        let final_s = frames.map_or(FINAL_PADDING_S, |f| f / 100.0);
        Ok(WhisperRecognizer {
            recognizer,
            final_padding: (final_s * SAMPLE_RATE as f32) as usize,
            partial_padding: (PARTIAL_PADDING_S.min(final_s) * SAMPLE_RATE as f32) as usize,
            name: format!(
                "whisper {}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            ),
        })
    }
}

impl WhisperRecognizer {
    fn decode_padded(&self, samples: &[f32], padding: usize) -> String {
        if samples.is_empty() {
            return String::new();
        }
        // At most Whisper's 30 s window.
        let max = 30 * SAMPLE_RATE as usize;
        let padding = padding.min(max.saturating_sub(samples.len()));
        let stream = self.recognizer.create_stream();
        stream.accept_waveform(SAMPLE_RATE as i32, samples);
        stream.accept_waveform(SAMPLE_RATE as i32, &vec![0.0; padding]);
        self.recognizer.decode(&stream);
        stream
            .get_result()
            .map(|r| r.text.trim().to_string())
            .unwrap_or_default()
    }
}

impl Recognizer for WhisperRecognizer {
    fn decode(&self, samples: &[f32]) -> String {
        self.decode_padded(samples, self.final_padding)
    }

    fn decode_partial(&self, samples: &[f32]) -> String {
        self.decode_padded(samples, self.partial_padding)
    }

    fn name(&self) -> &str {
        &self.name
    }
}
