//! Streaming recognition: a transducer (or zipformer CTC) model through sherpa-onnx's online recognizer,
//! decoding as the audio arrives. The text so far is the partial hypothesis; the recognizer's own endpoint
//! rules end the utterance, set for conversation rather than dictation (half a second of silence after
//! speech ends a turn, where dictation waits over a second).
//!
//! No registry ships an English streaming model, so none is fetched: point `--streaming-model` (or
//! `TWIN_STREAMING_MODEL` for the tests) at a sherpa-onnx online model folder.

use crate::listener::{Event, Listen};
use crate::{ListenError, SAMPLE_RATE};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct EndpointRules {
    /// Silence after some speech that ends the utterance.
    pub silence_after_speech_s: f32,
    /// Silence with nothing recognized that resets the stream (keeps it from growing).
    pub silence_alone_s: f32,
    /// The longest utterance.
    pub max_utterance_s: f32,
}

impl Default for EndpointRules {
    fn default() -> Self {
        EndpointRules {
            silence_after_speech_s: 0.5,
            silence_alone_s: 2.4,
            max_utterance_s: 20.0,
        }
    }
}

pub struct StreamingListener {
    recognizer: sherpa_onnx::OnlineRecognizer,
    stream: sherpa_onnx::OnlineStream,
    name: String,
    /// Samples fed so far.
    fed: u64,
    /// When the open utterance's first words appeared.
    started: Option<u64>,
    /// Samples fed when the text last changed: the end of speech as far as the model knows.
    last_change: u64,
    text: String,
    decode_ms: f64,
}

/// The first file in `dir` whose name starts with `prefix` and ends with ".onnx", int8 preferred.
fn find(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".onnx"))
        })
        .collect();
    found.sort_by_key(|p| !p.to_string_lossy().contains("int8"));
    found.into_iter().next()
}

impl StreamingListener {
    /// `dir`: encoder*.onnx, decoder*.onnx, joiner*.onnx and tokens.txt (a transducer), or model*.onnx and
    /// tokens.txt (zipformer2 CTC).
    pub fn load(dir: &Path, threads: usize, rules: &EndpointRules) -> Result<Self, ListenError> {
        let missing = |what: &str| ListenError::Model {
            what: "streaming",
            path: format!("{} (no {what})", dir.display()),
        };
        let tokens = dir.join("tokens.txt");
        if !tokens.is_file() {
            return Err(missing("tokens.txt"));
        }
        let mut config = sherpa_onnx::OnlineRecognizerConfig::default();
        let s = |p: PathBuf| Some(p.display().to_string());
        match (
            find(dir, "encoder"),
            find(dir, "decoder"),
            find(dir, "joiner"),
        ) {
            (Some(e), Some(d), Some(j)) => {
                config.model_config.transducer.encoder = s(e);
                config.model_config.transducer.decoder = s(d);
                config.model_config.transducer.joiner = s(j);
            }
            _ => {
                let model = find(dir, "model")
                    .ok_or_else(|| missing("encoder/decoder/joiner or model .onnx files"))?;
                config.model_config.zipformer2_ctc.model = s(model);
            }
        }
        config.model_config.tokens = s(tokens);
        config.model_config.num_threads = threads.max(1) as i32;
        config.decoding_method = Some("greedy_search".into());
        config.enable_endpoint = true;
        config.rule1_min_trailing_silence = rules.silence_alone_s;
        config.rule2_min_trailing_silence = rules.silence_after_speech_s;
        config.rule3_min_utterance_length = rules.max_utterance_s;
        let recognizer = sherpa_onnx::OnlineRecognizer::create(&config)
            .ok_or_else(|| missing("model sherpa-onnx can load"))?;
        let stream = recognizer.create_stream();
        Ok(StreamingListener {
            recognizer,
            stream,
            name: format!(
                "streaming {}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            ),
            fed: 0,
            started: None,
            last_change: 0,
            text: String::new(),
            decode_ms: 0.0,
        })
    }

    fn seconds(samples: u64) -> f64 {
        samples as f64 / SAMPLE_RATE as f64
    }

    fn step(&mut self, events: &mut Vec<Event>, finished: bool) {
        let began = Instant::now();
        while self.recognizer.is_ready(&self.stream) {
            self.recognizer.decode(&self.stream);
        }
        self.decode_ms += began.elapsed().as_secs_f64() * 1000.0;
        let text = self
            .recognizer
            .get_result(&self.stream)
            .map(|r| r.text.trim().to_string())
            .unwrap_or_default();
        let now = Self::seconds(self.fed);
        if text != self.text && !text.is_empty() {
            if self.started.is_none() {
                self.started = Some(
                    self.last_change
                        .max(self.fed.saturating_sub(SAMPLE_RATE as u64)),
                );
                events.push(Event::SpeechStart { at_s: now });
            }
            self.text = text.clone();
            self.last_change = self.fed;
            events.push(Event::Partial { text, at_s: now });
        }
        if finished || self.recognizer.is_endpoint(&self.stream) {
            if let Some(start) = self.started.take() {
                events.push(Event::Final {
                    text: std::mem::take(&mut self.text),
                    start_s: Self::seconds(start),
                    end_s: Self::seconds(self.last_change),
                    ready_s: now,
                    speculative: false,
                    decode_ms: self.decode_ms,
                    judge_ms: 0.0,
                    complete: None,
                    revises: false,
                });
            }
            self.text.clear();
            self.decode_ms = 0.0;
            self.recognizer.reset(&self.stream);
        }
    }
}

impl Listen for StreamingListener {
    fn push(&mut self, samples: &[f32]) -> Vec<Event> {
        self.stream.accept_waveform(SAMPLE_RATE as i32, samples);
        self.fed += samples.len() as u64;
        let mut events = Vec::new();
        self.step(&mut events, false);
        events
    }

    fn finish(&mut self) -> Vec<Event> {
        // Silence flushes the model's look-ahead before the stream is closed.
        self.stream
            .accept_waveform(SAMPLE_RATE as i32, &vec![0.0; SAMPLE_RATE as usize / 2]);
        self.stream.input_finished();
        let mut events = Vec::new();
        self.step(&mut events, true);
        events
    }

    fn recognizer_name(&self) -> &str {
        &self.name
    }
}
