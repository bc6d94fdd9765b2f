//! The speech-in pipeline over a stream of 16 kHz audio: two Silero VADs (a quick one that notices a pause
//! after 100 ms, and the one that ends an utterance), partial hypotheses by re-decoding the growing segment,
//! and speculative finalization: decoding starts when the pause begins, and that result is the final one
//! when the utterance indeed ends there. With Smart Turn (the default), the decode at that pause is read for
//! whether its sentence can end there and, if it can, Smart Turn is asked whether the turn sounds complete:
//! if so the decode is final at once; if not, only a long silence ends the turn, so "I was thinking... that
//! we could" is heard whole.

use crate::recognizer::{Recognizer, RecognizerKind};
use crate::turn::{SentenceEnd, SmartTurn, TranscriptCheck};
use crate::vad::{Segment, Vad};
use crate::{ListenError, SAMPLE_RATE};
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// A pause this long ends an utterance, whatever Smart Turn says.
    pub end_silence_s: f32,
    /// Smart Turn's probability at or above which a short pause ends the turn; `None`: silence alone.
    pub complete_at: Option<f32>,
    /// How the transcript keeps a turn open that Smart Turn finds complete ("So my plan is to").
    pub transcript: TranscriptCheck,
    /// A pause this long starts decoding, in case it is the end (and with Smart Turn, asks it).
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
    /// The defaults for `recognizer` (its partials as often as it can afford them), with Smart Turn: a
    /// complete-sounding turn ends at the first short pause, any other after 1.2 s of silence.
    pub fn with(recognizer: RecognizerKind) -> Self {
        ListenerConfig {
            end_silence_s: 1.2,
            complete_at: Some(0.5),
            transcript: TranscriptCheck::default(),
            pause_s: 0.1,
            partial_every_s: recognizer.partial_every_s(),
            recognizer,
        }
    }

    /// Without Smart Turn: every pause of 0.35 s ends the utterance.
    pub fn silence_only(recognizer: RecognizerKind) -> Self {
        ListenerConfig {
            end_silence_s: 0.35,
            complete_at: None,
            ..ListenerConfig::with(recognizer)
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
        /// Reading the transcript and asking Smart Turn at the pause, where they ended the turn.
        #[serde(skip_serializing_if = "is_zero")]
        judge_ms: f64,
        /// Smart Turn's probability that the turn was complete, where it ended the turn at a short pause.
        #[serde(skip_serializing_if = "Option::is_none")]
        complete: Option<f32>,
        /// The speaker went on after the previous final, which ended the turn too soon: this one says the
        /// whole of it again (from the previous final's start), to be taken instead.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        revises: bool,
    },
}

fn is_zero(ms: &f64) -> bool {
    *ms == 0.0
}

/// What a stream's events come to: the finals' texts in order, a revision in place of the final it revises
/// (so a sentence with a pause in it is said once). Empty finals are left out.
pub fn turns(events: &[Event]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for e in events {
        if let Event::Final { text, revises, .. } = e {
            if *revises {
                out.pop();
            }
            if !text.trim().is_empty() {
                out.push(text);
            }
        }
    }
    out
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
    /// A whole recording fed as a live stream would be (20 ms at a time), then ended: every event.
    fn hear(&mut self, audio: &[f32]) -> Vec<Event> {
        let mut events: Vec<Event> = audio.chunks(320).flat_map(|c| self.push(c)).collect();
        events.extend(self.finish());
        events
    }
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
    /// The speech the quick VAD heard (absolute samples), for the final's times.
    speech: (u64, u64),
    text: String,
    /// Audio time it would be ready on a live stream (with the verdict, where one was asked for).
    ready_s: f64,
    decode_ms: f64,
    /// Reading the transcript and asking Smart Turn.
    judge_ms: f64,
    /// Smart Turn's probability that the turn is complete, where it was asked (the config asks for it and the
    /// transcript does not go on).
    complete: Option<f32>,
}

pub struct Listener {
    config: ListenerConfig,
    recognizer: Box<dyn Recognizer>,
    turn: Option<SmartTurn>,
    /// Reads the transcript where the config's check is [`TranscriptCheck::Language`].
    sentence_end: Option<SentenceEnd>,
    /// Ends utterances.
    vad: Vad,
    /// Notices pauses early.
    quick: Vad,
    /// The samples fed since `base` (recognition re-reads the growing segment); older ones are dropped
    /// once no utterance needs them, so a listener left on for hours stays small.
    audio: Vec<f32>,
    base: u64,
    /// Where the open utterance's audio begins (with pre-roll), while one is open.
    open_since: Option<u64>,
    /// Where its speech began, by the quick VAD's first segment of it.
    heard_from: Option<u64>,
    last_partial: u64,
    speculation: Option<Speculation>,
    /// The last turn Smart Turn ended early, until the long VAD's silence is up: its own segment for it is
    /// not a second turn, and speech heard again before then goes on from it.
    ended_early: Option<EarlyEnd>,
    /// The open utterance goes on from a turn that ended early: its final says the whole of it again.
    resumed: bool,
}

/// A turn Smart Turn ended at a short pause (absolute samples).
struct EarlyEnd {
    /// Where its audio began (with pre-roll) and its speech began.
    audio_from: u64,
    speech_from: u64,
    /// The stream's clock when it ended.
    until: u64,
}

/// How far apart (samples) two views of the same speech's ends may be and still be the same speech.
const TOLERANCE: u64 = SAMPLE_RATE as u64 / 5;

/// Past a few seconds, partials come this many times per utterance length (see [`Listener::push`]).
const PARTIALS_PER_UTTERANCE: u64 = 8;

fn seconds(samples: u64) -> f64 {
    samples as f64 / SAMPLE_RATE as f64
}

/// `f`'s result and its time in milliseconds.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed().as_secs_f64() * 1000.0)
}

impl Listener {
    /// `turn` is required when the config asks for Smart Turn (`complete_at`), `sentence_end` when its
    /// transcript check is [`TranscriptCheck::Language`].
    pub fn new(
        vad_model: &Path,
        recognizer: Box<dyn Recognizer>,
        turn: Option<SmartTurn>,
        sentence_end: Option<SentenceEnd>,
        config: ListenerConfig,
    ) -> Result<Listener, ListenError> {
        if config.complete_at.is_some() && turn.is_none() {
            return Err(ListenError::Format(
                "the listener's config asks for Smart Turn but no model was given".into(),
            ));
        }
        if matches!(config.transcript, TranscriptCheck::Language { .. }) && sentence_end.is_none() {
            return Err(ListenError::Format(
                "the listener's config reads transcripts with a language model but none was given"
                    .into(),
            ));
        }
        Ok(Listener {
            vad: Vad::load(vad_model, config.end_silence_s)?,
            quick: Vad::load(vad_model, config.pause_s)?,
            config,
            recognizer,
            turn,
            sentence_end,
            audio: Vec::new(),
            base: 0,
            open_since: None,
            heard_from: None,
            last_partial: 0,
            speculation: None,
            ended_early: None,
            resumed: false,
        })
    }

    /// The pipeline from the folder `cargo xtask setup` fills: Silero VAD, the config's recognizer, and
    /// Smart Turn and the language model where the config uses them.
    pub fn from_models(
        models_dir: &Path,
        threads: usize,
        config: ListenerConfig,
    ) -> Result<Listener, ListenError> {
        let recognizer = config.recognizer.load(models_dir, threads)?;
        let turn = match config.complete_at {
            Some(_) => Some(SmartTurn::load(&models_dir.join("smart-turn"))?),
            None => None,
        };
        let sentence_end = match config.transcript {
            TranscriptCheck::Language { .. } => Some(SentenceEnd::load(models_dir)?),
            _ => None,
        };
        Listener::new(
            &models_dir.join("silero-vad/silero_vad.onnx"),
            recognizer,
            turn,
            sentence_end,
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
        // A pause: decode what was said, in case it is the end (and with Smart Turn, ask whether it is).
        for seg in self.quick.push(samples) {
            self.pause(&seg);
            events.extend(self.end_turn_early());
        }
        // After a turn ended early the long VAD still hears that speech until its silence is up: not a new
        // utterance.
        let vad_open = self.vad.speaking() && self.ended_early.is_none();
        if self.quick.speaking() || vad_open {
            let since = match self.open_since {
                Some(since) => since,
                None => {
                    events.push(Event::SpeechStart { at_s: seconds(now) });
                    // The VAD speaks up 0.2 s or more into speech: start well before it. Speech again soon
                    // after a turn ended early means it was not the end: hear it all as one.
                    let since = match &self.ended_early {
                        Some(early) => {
                            self.resumed = true;
                            self.heard_from = Some(early.speech_from);
                            early.audio_from
                        }
                        None => now.saturating_sub((0.6 * SAMPLE_RATE as f32) as u64),
                    };
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
            events.extend(self.close(&seg, seconds(now)));
        }
        self.forget();
        events
    }

    /// Ends the stream: the open utterance (if any) is final.
    pub fn finish(&mut self) -> Vec<Event> {
        let now = seconds(self.now());
        let mut events = Vec::new();
        for seg in self.quick.finish() {
            self.pause(&seg);
            events.extend(self.end_turn_early());
        }
        for seg in self.vad.finish() {
            events.extend(self.close(&seg, now));
        }
        events
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
        // Likewise a turn ended early whose segment the long VAD never closed.
        let stale = ((self.config.end_silence_s + 5.0) * SAMPLE_RATE as f32) as u64;
        if self.open_since.is_none()
            && self
                .ended_early
                .as_ref()
                .is_some_and(|e| e.until + stale <= self.now())
        {
            self.ended_early = None;
        }
        if self.open_since.is_some() || self.speculation.is_some() || self.ended_early.is_some() {
            return;
        }
        let keep = SAMPLE_RATE as usize;
        if self.audio.len() > 4 * keep {
            let drop = self.audio.len() - keep;
            self.audio.drain(..drop);
            self.base += drop as u64;
        }
    }

    /// A short pause after `seg`: decode in case it is the end.
    fn pause(&mut self, seg: &Segment) {
        let from = self.heard_from.unwrap_or(seg.start).min(seg.start);
        self.heard_from = Some(from);
        self.speculate((from, seg.start + seg.samples.len() as u64));
    }

    /// Where Smart Turn finds the pause's utterance complete and the transcript does not keep it open, the
    /// turn ends here.
    fn end_turn_early(&mut self) -> Option<Event> {
        let threshold = self.config.complete_at?;
        let s = self.speculation.as_ref()?;
        let complete = s.complete?;
        if complete < threshold {
            return None;
        }
        let s = self.speculation.take()?;
        let end = self.now();
        let revises = self.end_utterance();
        self.ended_early = Some(EarlyEnd {
            audio_from: s.start,
            speech_from: s.speech.0,
            until: end,
        });
        Some(Event::Final {
            text: s.text,
            start_s: seconds(s.speech.0),
            end_s: seconds(s.speech.1),
            ready_s: s.ready_s,
            speculative: true,
            decode_ms: s.decode_ms,
            judge_ms: s.judge_ms,
            complete: Some(complete),
            revises,
        })
    }

    /// The long VAD closed `seg`: the turn's final, unless Smart Turn already ended it and nothing was said
    /// since (where the speaker went on, the final says it all again).
    fn close(&mut self, seg: &Segment, confirmed_s: f64) -> Option<Event> {
        let mut start = seg.start;
        let end = seg.start + seg.samples.len() as u64;
        if let Some(early) = self.ended_early.take() {
            if end <= early.until + TOLERANCE || !self.resumed {
                return None;
            }
            start = start.min(early.speech_from);
        }
        Some(self.finalize(start, end - start, confirmed_s))
    }

    /// The open utterance is over (its final is being made); whether that final revises an early end.
    fn end_utterance(&mut self) -> bool {
        self.open_since = None;
        self.heard_from = None;
        self.last_partial = 0;
        std::mem::take(&mut self.resumed)
    }

    /// Decodes the utterance up to now, in case this pause is its end; with Smart Turn, reads the transcript
    /// and, unless its sentence goes on, asks Smart Turn. One after the other, each with both cores: run side by
    /// side on two cores they took as long, and Smart Turn ran for transcripts that needed no asking.
    fn speculate(&mut self, speech: (u64, u64)) {
        let from = self.open_since.unwrap_or(speech.0).min(speech.0);
        // Up to now, past the segment's end: the VAD trims the last phoneme's tail, and the pause after it
        // costs the decoder nothing.
        let end = self.now();
        let audio = self.span(from, end);
        let (text, decode_ms) = timed(|| self.recognizer.decode(audio));
        let (mut complete, mut judge_ms) = (None, 0.0);
        if let Some(turn) = self.config.complete_at.and(self.turn.as_ref()) {
            let (goes_on, read_ms) = timed(|| self.goes_on(&text));
            judge_ms += read_ms;
            if !goes_on {
                let (p, ms) = timed(|| turn.complete(audio));
                judge_ms += ms;
                complete = p
                    .inspect_err(|e| tracing::warn!("Smart Turn: {e}; the silence decides"))
                    .ok();
            }
        }
        // It all started when the pause was noticed: now, on a live stream.
        let ready_s = seconds(end) + (decode_ms + judge_ms) / 1000.0;
        self.speculation = Some(Speculation {
            start: from,
            end,
            speech,
            text,
            ready_s,
            decode_ms,
            judge_ms,
            complete,
        });
    }

    /// Whether the transcript stops where its sentence goes on, by the config's check.
    fn goes_on(&self, text: &str) -> bool {
        match (self.config.transcript, &self.sentence_end) {
            (TranscriptCheck::None, _) => false,
            (TranscriptCheck::LastWord, _) => crate::turn::dangling::ends_mid_sentence(text),
            (TranscriptCheck::Language { ends_at }, Some(judge)) => match judge.probability(text) {
                Ok(p) => p < ends_at,
                Err(e) => {
                    tracing::warn!("the transcript's reading: {e}; the last word decides");
                    crate::turn::dangling::ends_mid_sentence(text)
                }
            },
            (TranscriptCheck::Language { .. }, None) => {
                crate::turn::dangling::ends_mid_sentence(text)
            }
        }
    }

    fn finalize(&mut self, start: u64, len: u64, confirmed_s: f64) -> Event {
        let end = start + len;
        let revises = self.end_utterance();
        // The speculative decode stands if it covered this utterance and nothing was said after it.
        if let Some(s) = self.speculation.take()
            && s.start <= start + TOLERANCE
            && s.end + TOLERANCE >= end
        {
            return Event::Final {
                text: s.text,
                start_s: seconds(start),
                end_s: seconds(end),
                ready_s: confirmed_s.max(s.ready_s),
                speculative: true,
                decode_ms: s.decode_ms,
                judge_ms: 0.0,
                complete: None,
                revises,
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
            judge_ms: 0.0,
            complete: None,
            revises,
        }
    }
}
