//! Moonshine tiny (English, int8, MIT, Useful Sensors), `--recognizer moonshine`. An encoder over the raw audio
//! and one merged decoder, run by sherpa-onnx's offline recognizer; about four times faster than Whisper tiny.en
//! here and more accurate on real speech, so partials can come every quarter second.

use crate::ListenError;
use crate::recognizer::{Recognizer, decode_with};
use std::path::Path;

/// The files `cargo xtask setup` puts in the model's folder (`models/moonshine-tiny-en`).
pub const FILES: [&str; 3] = [
    "encoder_model.onnx",
    "decoder_model_merged.onnx",
    "tokens.txt",
];

pub struct MoonshineRecognizer {
    recognizer: sherpa_onnx::OfflineRecognizer,
    name: String,
}

impl MoonshineRecognizer {
    pub fn load(dir: &Path, threads: usize) -> Result<MoonshineRecognizer, ListenError> {
        let missing = |path: &Path| ListenError::Model {
            what: "Moonshine",
            path: path.display().to_string(),
        };
        if let Some(absent) = FILES.iter().map(|f| dir.join(f)).find(|p| !p.is_file()) {
            return Err(missing(&absent));
        }
        let path = |n: &str| Some(dir.join(n).display().to_string());
        let mut config = sherpa_onnx::OfflineRecognizerConfig::default();
        config.model_config.moonshine = sherpa_onnx::OfflineMoonshineModelConfig {
            encoder: path(FILES[0]),
            merged_decoder: path(FILES[1]),
            ..Default::default()
        };
        config.model_config.tokens = path(FILES[2]);
        config.model_config.num_threads = threads.max(1) as i32;
        config.decoding_method = Some("greedy_search".into());
        let recognizer =
            sherpa_onnx::OfflineRecognizer::create(&config).ok_or_else(|| missing(dir))?;
        Ok(MoonshineRecognizer {
            recognizer,
            name: format!(
                "moonshine {}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            ),
        })
    }
}

impl Recognizer for MoonshineRecognizer {
    fn decode(&self, samples: &[f32]) -> String {
        decode_with(&self.recognizer, samples)
    }

    fn name(&self) -> &str {
        &self.name
    }
}
