//! Voice activity: Silero VAD through sherpa-onnx, on 16 kHz audio in 32 ms windows.

use crate::{ListenError, SAMPLE_RATE};
use std::path::Path;

/// Silero's window at 16 kHz.
pub const WINDOW: usize = 512;

pub struct Vad {
    detector: sherpa_onnx::VoiceActivityDetector,
    pending: Vec<f32>,
}

/// A stretch of speech the VAD closed: where it starts (samples since the first fed) and its samples.
pub struct Segment {
    pub start: u64,
    pub samples: Vec<f32>,
}

impl Vad {
    /// `min_silence_s`: how long a pause ends an utterance (shorter answers sooner, longer splits less).
    pub fn load(model: &Path, min_silence_s: f32) -> Result<Vad, ListenError> {
        let missing = || ListenError::Model {
            what: "Silero VAD",
            path: model.display().to_string(),
        };
        if !model.is_file() {
            return Err(missing());
        }
        let mut config = sherpa_onnx::VadModelConfig::default();
        config.silero_vad.model = Some(model.display().to_string());
        config.silero_vad.threshold = 0.5;
        config.silero_vad.min_silence_duration = min_silence_s;
        config.silero_vad.min_speech_duration = 0.2;
        config.silero_vad.window_size = WINDOW as i32;
        config.silero_vad.max_speech_duration = 20.0;
        config.sample_rate = SAMPLE_RATE as i32;
        config.num_threads = 1;
        let detector =
            sherpa_onnx::VoiceActivityDetector::create(&config, 60.0).ok_or_else(missing)?;
        Ok(Vad {
            detector,
            pending: Vec::new(),
        })
    }

    /// Feeds audio (any length); returns the segments it closed.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Segment> {
        self.pending.extend_from_slice(samples);
        let whole = self.pending.len() / WINDOW * WINDOW;
        if whole > 0 {
            self.detector.accept_waveform(&self.pending[..whole]);
            self.pending.drain(..whole);
        }
        self.take()
    }

    /// Ends the input: the utterance still open (if any) is closed.
    pub fn finish(&mut self) -> Vec<Segment> {
        if !self.pending.is_empty() {
            let mut last = std::mem::take(&mut self.pending);
            last.resize(WINDOW, 0.0);
            self.detector.accept_waveform(&last);
        }
        self.detector.flush();
        self.take()
    }

    /// Whether the VAD hears speech now.
    pub fn speaking(&self) -> bool {
        self.detector.detected()
    }

    fn take(&mut self) -> Vec<Segment> {
        let mut out = Vec::new();
        while let Some(s) = self.detector.front() {
            out.push(Segment {
                start: s.start().max(0) as u64,
                samples: s.samples().to_vec(),
            });
            self.detector.pop();
        }
        out
    }
}
