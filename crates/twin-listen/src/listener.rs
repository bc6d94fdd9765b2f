//! The speech-in pipeline over a stream of 16 kHz audio: two Silero VADs (a quick one that notices a pause
//! after 100 ms, and the one that ends an utterance), partial hypotheses by re-decoding the growing segment,
//! and speculative finalization: decoding starts when the pause begins, and that result is the final one
//! when the utterance indeed ends there.

use crate::recognizer::{Recognizer, RecognizerKind};
use crate::vad::Vad;
use crate::{ListenError, SAMPLE_RATE};
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// A pause this long ends an utterance.
    pub end_silence_s: f32,
    /// A pause this long starts decoding, in case it is the end.
    pub pause_s: f32,
    /// Speech between partial hypotheses.
    pub partial_every_s: f32,
    /// The model [`Listener::from_models`] loads.
    pub recognizer: RecognizerKind,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig::with(RecognizerKind::default())
    }
}

impl ListenerConfig {
    /// The defaults for `recognizer` (its partials as often as it can afford them).
    pub fn with(recognizer: RecognizerKind) -> Self {
        ListenerConfig {
            end_silence_s: 0.35,
            pause_s: 0.1,
            partial_every_s: recognizer.partial_every_s(),
            recognizer,
        }
    }
}

/// What the listener says, with times in seconds on the audio's clock (from the first sample fed).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The VAD hears speech (it needs 0.2 s of it to be sure, so the speech began about then).
    SpeechStart {
        at_s: f64,
    },
    Partial {
        text: String,
        at_s: f64,
    },
    Final {
        text: String,
        start_s: f64,
        end_s: f64,
        /// When the transcript is ready on a live stream: the VAD's confirmation, or the decode's end if
        /// that comes later (decoding time is measured, the audio clock is the stream's).
        ready_s: f64,
        /// The pause's decode was used (it began before the end was confirmed).
        speculative: bool,
        decode_ms: f64,
    },
}

/// Something that turns a live 16 kHz stream into speech events: the VAD-segmented [`Listener`] with an
/// offline model, or a streaming recognizer with its own endpointing.
pub trait Listen: Send {
    /// Feeds audio as it arrives (any chunk size); returns what it now knows.
    fn push(&mut self, samples: &[f32]) -> Vec<Event>;
    /// Ends the stream: the open utterance (if any) is final.
    fn finish(&mut self) -> Vec<Event>;
    /// How much new speech between partials, where the listener chooses (a streaming one decodes all along).
    fn set_partial_every(&mut self, _seconds: f32) {}
    /// For reports: which model.
    fn recognizer_name(&self) -> &str;
}

impl Listen for Listener {
    fn push(&mut self, samples: &[f32]) -> Vec<Event> {
        Listener::push(self, samples)
    }

    fn finish(&mut self) -> Vec<Event> {
        Listener::finish(self)
    }

    fn set_partial_every(&mut self, seconds: f32) {
        Listener::set_partial_every(self, seconds)
    }

    fn recognizer_name(&self) -> &str {
        Listener::recognizer_name(self)
    }
}

struct Speculation {
    /// Samples (absolute) it covers.
    start: u64,
    end: u64,
    text: String,
    /// Audio time it would be ready on a live stream.
    ready_s: f64,
    decode_ms: f64,
}

pub struct Listener {
    config: ListenerConfig,
    recognizer: Box<dyn Recognizer>,
    /// Ends utterances.
    vad: Vad,
    /// Notices pauses early.
    quick: Vad,
    /// The samples fed since `base` (recognition re-reads the growing segment); older ones are dropped
    /// once no utterance needs them, so a listener left on for hours stays small.
    audio: Vec<f32>,
    base: u64,
    /// Where the open utterance began (quick VAD's view), while one is open.
    open_since: Option<u64>,
    last_partial: u64,
    speculation: Option<Speculation>,
}

/// Past a few seconds, partials come this many times per utterance length (see [`Listener::push`]).
const PARTIALS_PER_UTTERANCE: u64 = 8;

fn seconds(samples: u64) -> f64 {
    samples as f64 / SAMPLE_RATE as f64
}

impl Listener {
    pub fn new(
        vad_model: &Path,
        recognizer: Box<dyn Recognizer>,
        config: ListenerConfig,
    ) -> Result<Listener, ListenError> {
        Ok(Listener {
            vad: Vad::load(vad_model, config.end_silence_s)?,
            quick: Vad::load(vad_model, config.pause_s)?,
            config,
            recognizer,
            audio: Vec::new(),
            base: 0,
            open_since: None,
            last_partial: 0,
            speculation: None,
        })
    }

    /// The pipeline from the folder `cargo xtask setup` fills: Silero VAD and the config's recognizer.
    pub fn from_models(
        models_dir: &Path,
        threads: usize,
        config: ListenerConfig,
    ) -> Result<Listener, ListenError> {
        let recognizer = config.recognizer.load(models_dir, threads)?;
        Listener::new(
            &models_dir.join("silero-vad/silero_vad.onnx"),
            recognizer,
            config,
        )
    }

    /// How much new speech between partials: shorter while the twin speaks, so a barge-in is read sooner.
    pub fn set_partial_every(&mut self, seconds: f32) {
        self.config.partial_every_s = seconds;
    }

    pub fn recognizer_name(&self) -> &str {
        self.recognizer.name()
    }

    /// Feeds audio as it arrives (any chunk size); returns what it now knows.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Event> {
        self.audio.extend_from_slice(samples);
        let now = self.now();
        let mut events = Vec::new();
        // A pause: decode what was said, in case it is the end.
        for seg in self.quick.push(samples) {
            self.speculate(seg.start);
        }
        if self.quick.speaking() || self.vad.speaking() {
            let since = match self.open_since {
                Some(since) => since,
                None => {
                    events.push(Event::SpeechStart { at_s: seconds(now) });
                    // The VAD speaks up 0.2 s or more into speech: start well before it.
                    let since = now.saturating_sub((0.6 * SAMPLE_RATE as f32) as u64);
                    self.open_since = Some(since);
                    since
                }
            };
            if self.quick.speaking() {
                // Speech again: an earlier pause was not the end.
                if self
                    .speculation
                    .as_ref()
                    .is_some_and(|s| s.end + 1600 < now)
                {
                    self.speculation = None;
                }
                // Each partial decodes the whole utterance so far: past a couple of seconds they come less
                // often (an eighth of its length apart), so a long utterance costs in proportion to its
                // length, not its square, and a short question still gets them every `partial_every_s`.
                let every = ((self.config.partial_every_s * SAMPLE_RATE as f32) as u64)
                    .max((now - since) / PARTIALS_PER_UTTERANCE);
                if now - self.last_partial.max(since) >= every {
                    self.last_partial = now;
                    let text = self.recognizer.decode_partial(self.span(since, now));
                    if !text.is_empty() {
                        events.push(Event::Partial {
                            text,
                            at_s: seconds(now),
                        });
                    }
                }
            }
        }
        for seg in self.vad.push(samples) {
            events.push(self.finalize(seg.start, seg.samples.len() as u64, seconds(now)));
        }
        self.forget();
        events
    }

    /// Ends the stream: the open utterance (if any) is final.
    pub fn finish(&mut self) -> Vec<Event> {
        let now = seconds(self.now());
        for seg in self.quick.finish() {
            self.speculate(seg.start);
        }
        self.vad
            .finish()
            .into_iter()
            .map(|seg| self.finalize(seg.start, seg.samples.len() as u64, now))
            .collect()
    }

    /// Seconds of audio held (for monitoring: it stays a few seconds between utterances).
    pub fn buffered_s(&self) -> f64 {
        seconds(self.audio.len() as u64)
    }

    /// Samples fed so far (the stream's clock).
    fn now(&self) -> u64 {
        self.base + self.audio.len() as u64
    }

    /// Samples `from..to` of the stream, as far as they are still kept.
    fn span(&self, from: u64, to: u64) -> &[f32] {
        let at = |i: u64| (i.saturating_sub(self.base) as usize).min(self.audio.len());
        &self.audio[at(from)..at(to)]
    }

    /// Drops audio no utterance can need: with none open, all but the last second (the next one's pre-roll
    /// reaches 0.6 s back).
    fn forget(&mut self) {
        // A pause's decode the VAD never followed with an end is stale after a few seconds.
        if self.open_since.is_none()
            && self
                .speculation
                .as_ref()
                .is_some_and(|s| s.end + 5 * SAMPLE_RATE as u64 <= self.now())
        {
            self.speculation = None;
        }
        if self.open_since.is_some() || self.speculation.is_some() {
            return;
        }
        let keep = SAMPLE_RATE as usize;
        if self.audio.len() > 4 * keep {
            let drop = self.audio.len() - keep;
            self.audio.drain(..drop);
            self.base += drop as u64;
        }
    }

    fn speculate(&mut self, start: u64) {
        let from = self.open_since.unwrap_or(start).min(start);
        // Up to now, past the segment's end: the VAD trims the last phoneme's tail, and the pause after it
        // costs the decoder nothing.
        let end = self.now();
        let started = Instant::now();
        let text = self.recognizer.decode(self.span(from, end));
        let decode_ms = started.elapsed().as_secs_f64() * 1000.0;
        // It started when the pause was noticed: now, on a live stream.
        let ready_s = seconds(end) + decode_ms / 1000.0;
        self.speculation = Some(Speculation {
            start: from,
            end,
            text,
            ready_s,
            decode_ms,
        });
    }

    fn finalize(&mut self, start: u64, len: u64, confirmed_s: f64) -> Event {
        let end = start + len;
        self.open_since = None;
        self.last_partial = 0;
        // The speculative decode stands if it covered this utterance and nothing was said after it.
        let tolerance = SAMPLE_RATE as u64 / 5;
        if let Some(s) = self.speculation.take()
            && s.start <= start + tolerance
            && s.end + tolerance >= end
        {
            return Event::Final {
                text: s.text,
                start_s: seconds(start),
                end_s: seconds(end),
                ready_s: confirmed_s.max(s.ready_s),
                speculative: true,
                decode_ms: s.decode_ms,
            };
        }
        let started = Instant::now();
        let from = start.saturating_sub(SAMPLE_RATE as u64 / 10);
        let until = (end + SAMPLE_RATE as u64 / 5).min(self.now());
        let text = self.recognizer.decode(self.span(from, until));
        let decode_ms = started.elapsed().as_secs_f64() * 1000.0;
        Event::Final {
            text,
            start_s: seconds(start),
            end_s: seconds(end),
            ready_s: confirmed_s + decode_ms / 1000.0,
            speculative: false,
            decode_ms,
        }
    }
}
