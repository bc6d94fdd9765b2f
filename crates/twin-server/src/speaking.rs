//! The twin's speech for one reply.
//!
//! The reply hands over each sentence as soon as it passes the checks. A synthesis thread speaks them in order,
//! running ahead of playback (sentence n+1 is synthesized while sentence n plays), cuts the audio into chunks of
//! at most [`MAX_AUDIO_CHUNK_MS`] and reads the mouth shapes from it (or from the voice's own phoneme timing).
//! A pacer sends chunk and frames together on the reply's sample clock, at most `lead` ahead of the client's
//! playback: the client never buffers more than the lead, and a stop takes effect within one chunk.

use crate::metrics::Metrics;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use twin_lipsync::{Analyzer, Frame};
use twin_protocol::{ErrorCode, LipSyncFrame, MAX_AUDIO_CHUNK_MS, ServerMessage, encode_pcm16};
use twin_voice::Synthesizer;

/// Silence after every sentence: a natural pause, and it fills the analyzer's look-ahead, so every mouth shape of
/// a sentence is decided (and sent) with the sentence's own audio.
pub const SENTENCE_PAUSE_MS: u32 = 120;
/// Chunks the synthesis may run ahead of the pacer.
const QUEUED_CHUNKS: usize = 64;

/// What the session holds of a reply's speech: stop it, and ask what the listener can have heard.
#[derive(Clone, Default)]
pub struct SpeechControl {
    inner: Arc<Control>,
}

#[derive(Default)]
struct Control {
    stop: AtomicBool,
    stopped: Notify,
    /// Samples sent to the client so far.
    sent: AtomicU64,
    /// Every sample has been sent (or the speech was stopped) and `audio_end` is out.
    done: AtomicBool,
    spoken: Mutex<Spoken>,
}

impl SpeechControl {
    /// Stops synthesis and sending; the chunk being sent is the last.
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        self.inner.stopped.notify_waiters();
    }

    fn stopping(&self) -> bool {
        self.inner.stop.load(Ordering::SeqCst)
    }

    /// Samples of the reply sent to the client.
    pub fn sent_samples(&self) -> u64 {
        self.inner.sent.load(Ordering::SeqCst)
    }

    /// Every chunk of the reply went out.
    pub fn finished(&self) -> bool {
        self.inner.done.load(Ordering::SeqCst) && !self.stopping()
    }

    /// The reply text the listener heard by `sample` (see [`Spoken::heard`]).
    pub fn heard(&self, sample: u64) -> String {
        self.spoken().heard(sample)
    }

    fn spoken(&self) -> std::sync::MutexGuard<'_, Spoken> {
        crate::sync::lock(&self.inner.spoken)
    }
}

/// Where each sentence of a reply lies on the reply's sample clock.
#[derive(Debug, Default, Clone)]
pub struct Spoken {
    /// Samples per second of the reply's audio.
    rate: u32,
    sentences: Vec<SpokenSentence>,
}

#[derive(Debug, Clone)]
struct SpokenSentence {
    text: String,
    start: u64,
    /// End of its speech (before the pause); while `complete` is false, the end so far.
    end: u64,
    complete: bool,
}

/// Speaking rate used to guess the length of a sentence still being synthesized.
const CHARS_PER_SECOND: f64 = 15.0;

impl Spoken {
    /// The reply text heard by `sample`: every sentence whose speech ended by then, and of the sentence playing,
    /// the whole words that fit its share of the audio. Sentences are joined by one space, as the reply's text
    /// is, so the result is always a prefix of it.
    pub fn heard(&self, sample: u64) -> String {
        let mut parts: Vec<&str> = Vec::new();
        for s in &self.sentences {
            if sample >= s.end && s.complete {
                parts.push(&s.text);
                continue;
            }
            if sample <= s.start {
                break;
            }
            let chars = s.text.chars().count();
            let length = if s.complete {
                (s.end - s.start) as f64
            } else {
                // Still being synthesized: at least as long as its text takes at a usual pace.
                ((s.end - s.start) as f64).max(chars as f64 / CHARS_PER_SECOND * self.rate as f64)
            };
            let share = ((sample - s.start) as f64 / length.max(1.0)).clamp(0.0, 1.0);
            let cut = (share * chars as f64).floor() as usize;
            let partial = whole_words(&s.text, cut);
            if !partial.is_empty() {
                parts.push(partial);
            }
            break;
        }
        parts.join(" ")
    }

    fn push(&mut self, text: &str, start: u64) {
        self.sentences.push(SpokenSentence {
            text: text.to_string(),
            start,
            end: start,
            complete: false,
        });
    }

    fn extend_to(&mut self, end: u64) {
        if let Some(s) = self.sentences.last_mut() {
            s.end = end;
        }
    }

    fn complete(&mut self) {
        if let Some(s) = self.sentences.last_mut() {
            s.complete = true;
        }
    }
}

/// The first `chars` characters of `text`, cut back to the last whole word.
fn whole_words(text: &str, chars: usize) -> &str {
    let end = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i);
    if end == text.len() {
        return text;
    }
    // The character at the cut starting a new word means the word before it was heard whole.
    if text[end..].starts_with(char::is_whitespace) {
        return text[..end].trim_end();
    }
    match text[..end].rfind(char::is_whitespace) {
        Some(i) => text[..i].trim_end(),
        None => "",
    }
}

/// Where a reply's sentences go to be spoken. Dropping it says the reply has no more sentences.
pub struct SpeechFeed {
    sentences: std::sync::mpsc::Sender<(Instant, String)>,
}

impl SpeechFeed {
    pub fn say(&self, text: &str) {
        // A closed worker (stopped, or its voice failed) needs no more text.
        let _ = self.sentences.send((Instant::now(), text.to_string()));
    }
}

pub struct SpeechOptions {
    pub lipsync: bool,
    /// How far sending runs ahead of the client's playback.
    pub lead: Duration,
    /// When the user turn this reply answers arrived (for the turn-to-first-audio metric).
    pub turn_started: Option<Instant>,
}

/// The running parts of a reply's speech; await [`SpeechTasks::finish`] once the feed is dropped.
pub struct SpeechTasks {
    synthesis: JoinHandle<()>,
    pacer: JoinHandle<()>,
}

impl SpeechTasks {
    pub async fn finish(self) {
        let _ = self.synthesis.await;
        let _ = self.pacer.await;
    }
}

/// One chunk on its way to the client, with the mouth shapes for its samples.
enum Item {
    Chunk {
        first_sample: u64,
        samples: Vec<f32>,
        frames: Vec<Frame>,
        /// When the sentence this chunk opens was handed over (first chunk of each sentence).
        handed: Option<Instant>,
    },
    /// Mouth shapes decided after the last chunk (the analyzer's look-ahead at the end of the reply).
    Frames(Vec<Frame>),
    Failed(String),
    End {
        samples: u64,
        sentence_starts: Vec<u64>,
    },
}

/// Starts speaking a reply with `voice`; `metrics` hears when its first audio went out.
pub fn start(
    metrics: Arc<Metrics>,
    voice: Arc<dyn Synthesizer>,
    out: mpsc::Sender<ServerMessage>,
    reply_id: String,
    control: SpeechControl,
    options: SpeechOptions,
) -> (SpeechFeed, SpeechTasks) {
    let (feed_tx, feed_rx) = std::sync::mpsc::channel();
    let (item_tx, item_rx) = mpsc::channel(QUEUED_CHUNKS);
    let rate = voice.sample_rate();
    control.spoken().rate = rate;
    let synth_control = control.clone();
    let lipsync = options.lipsync;
    let synthesis = tokio::task::spawn_blocking(move || {
        synthesize(voice, feed_rx, item_tx, synth_control, lipsync)
    });
    let pacer = tokio::spawn(pace(
        metrics, item_rx, out, reply_id, rate, control, options,
    ));
    (
        SpeechFeed { sentences: feed_tx },
        SpeechTasks { synthesis, pacer },
    )
}

/// The synthesis thread: sentences in, chunks with their frames out.
fn synthesize(
    voice: Arc<dyn Synthesizer>,
    sentences: std::sync::mpsc::Receiver<(Instant, String)>,
    items: mpsc::Sender<Item>,
    control: SpeechControl,
    lipsync: bool,
) {
    let mut speech = Speech::new(voice.as_ref(), items, control, lipsync);
    while let Ok((handed, text)) = sentences.recv() {
        if speech.control.stopping() || !speech.say(voice.as_ref(), handed, &text) {
            break;
        }
    }
    speech.finish();
}

/// One reply's speech on its way out: the chunks' clock, the lip-sync analyzer (for voices that report no
/// phonemes) and where each sentence starts.
struct Speech {
    items: mpsc::Sender<Item>,
    control: SpeechControl,
    rate: u32,
    chunk_len: usize,
    /// The silence after each sentence.
    pause: Vec<f32>,
    /// Lip-sync from the voice's own phonemes (the whole sentence held until they come).
    from_phonemes: bool,
    analyzer: Option<Analyzer>,
    clock: u64,
    sentence_starts: Vec<u64>,
}

impl Speech {
    fn new(
        voice: &dyn Synthesizer,
        items: mpsc::Sender<Item>,
        control: SpeechControl,
        lipsync: bool,
    ) -> Speech {
        let rate = voice.sample_rate();
        let from_phonemes = lipsync && voice.reports_phonemes();
        Speech {
            items,
            control,
            rate,
            chunk_len: (rate as u64 * MAX_AUDIO_CHUNK_MS as u64 / 1000) as usize,
            pause: vec![0.0f32; (rate as u64 * SENTENCE_PAUSE_MS as u64 / 1000) as usize],
            from_phonemes,
            analyzer: (lipsync && !from_phonemes).then(|| Analyzer::new(rate)),
            clock: 0,
            sentence_starts: Vec::new(),
        }
    }

    /// Sends one chunk (its frames, and the analyzer's where `analyze`); false once the speech is stopped
    /// or the pacer is gone.
    fn emit(
        &mut self,
        samples: Vec<f32>,
        mut frames: Vec<Frame>,
        handed: Option<Instant>,
        analyze: bool,
    ) -> bool {
        if self.control.stopping() {
            return false;
        }
        if let Some(a) = self.analyzer.as_mut().filter(|_| analyze) {
            frames.extend(a.push(&samples));
        }
        let first_sample = self.clock;
        self.clock += samples.len() as u64;
        self.items
            .blocking_send(Item::Chunk {
                first_sample,
                samples,
                frames,
                handed,
            })
            .is_ok()
    }

    /// Says one sentence, handed over by the reply at `handed`; false when the speech ends here (stopped,
    /// the pacer gone, or the voice failed).
    fn say(&mut self, voice: &dyn Synthesizer, handed: Instant, text: &str) -> bool {
        let start = self.clock;
        self.sentence_starts.push(start);
        self.control.spoken().push(text, start);
        let prepared = match twin_voice::text::prepare(text) {
            Ok(t) => t,
            Err(e) => {
                // Nothing speakable (only symbols, say): the sentence takes no time.
                tracing::debug!(error = %e, "sentence not spoken");
                self.control.spoken().complete();
                return true;
            }
        };
        let mut handed = Some(handed);
        let mut pending: Vec<f32> = Vec::new();
        let mut whole: Vec<f32> = Vec::new();
        let mut alive = true;
        let result = voice.synthesize(&prepared, &mut |piece| {
            if self.from_phonemes {
                // The frames come with the phonemes at the end: hold the sentence (such voices are fast).
                whole.extend_from_slice(piece);
                return !self.control.stopping();
            }
            pending.extend_from_slice(piece);
            while pending.len() >= self.chunk_len {
                let rest = pending.split_off(self.chunk_len);
                let chunk = std::mem::replace(&mut pending, rest);
                if !self.emit(chunk, Vec::new(), handed.take(), true) {
                    alive = false;
                    return false;
                }
                self.control.spoken().extend_to(self.clock);
            }
            true
        });
        let synthesis = match result {
            Ok(s) => s,
            Err(e) => {
                self.control.spoken().complete();
                if !self.control.stopping() {
                    let _ = self.items.blocking_send(Item::Failed(e.to_string()));
                }
                return false;
            }
        };
        if !alive || synthesis.stopped || self.control.stopping() {
            self.control.spoken().complete();
            return false;
        }
        if self.from_phonemes {
            self.with_phonemes(&whole, &synthesis.phonemes, start, handed)
        } else {
            self.rest_and_pause(pending, handed)
        }
    }

    /// A sentence held whole, sent in chunks with the frames its phonemes give, then the pause.
    fn with_phonemes(
        &mut self,
        whole: &[f32],
        phonemes: &[twin_voice::TimedPhoneme],
        start: u64,
        mut handed: Option<Instant>,
    ) -> bool {
        let speech = whole.len() as u64;
        let at_start = |f: Frame| Frame {
            sample: f.sample + start,
            ..f
        };
        let frames =
            twin_lipsync::from_phonemes(phonemes, speech + self.pause.len() as u64, self.rate);
        let mut frames = frames.into_iter().peekable();
        for (i, chunk) in whole.chunks(self.chunk_len).enumerate() {
            let end = (i * self.chunk_len + chunk.len()) as u64;
            let mut these = Vec::new();
            while let Some(f) = frames.next_if(|f| f.sample < end) {
                these.push(at_start(f));
            }
            if !self.emit(chunk.to_vec(), these, handed.take(), false) {
                return false;
            }
        }
        self.control.spoken().extend_to(self.clock);
        self.control.spoken().complete();
        let rest: Vec<Frame> = frames.map(at_start).collect();
        self.emit(self.pause.clone(), rest, None, false)
    }

    /// A streamed sentence's last, short chunk, then the pause.
    fn rest_and_pause(&mut self, pending: Vec<f32>, handed: Option<Instant>) -> bool {
        if !pending.is_empty() && !self.emit(pending, Vec::new(), handed, true) {
            return false;
        }
        self.control.spoken().extend_to(self.clock);
        self.control.spoken().complete();
        let pause = std::mem::take(&mut self.pause);
        let sent = pause
            .chunks(self.chunk_len)
            .all(|piece| self.emit(piece.to_vec(), Vec::new(), None, true));
        self.pause = pause;
        sent
    }

    /// The analyzer's last frames (within the speech), then the end.
    fn finish(mut self) {
        if let Some(a) = self.analyzer.as_mut().filter(|_| !self.control.stopping()) {
            let clock = self.clock;
            let tail: Vec<Frame> = a
                .finish()
                .into_iter()
                .filter(|f| f.sample < clock)
                .collect();
            if !tail.is_empty() {
                let _ = self.items.blocking_send(Item::Frames(tail));
            }
        }
        let _ = self.items.blocking_send(Item::End {
            samples: self.clock,
            sentence_starts: self.sentence_starts,
        });
    }
}

/// Sends chunks as playback needs them: each at most `lead` before the client plays it.
async fn pace(
    metrics: Arc<Metrics>,
    mut items: mpsc::Receiver<Item>,
    out: mpsc::Sender<ServerMessage>,
    reply_id: String,
    rate: u32,
    control: SpeechControl,
    options: SpeechOptions,
) {
    // When the client plays sample 0, as far as the server can tell: it starts on the first chunk.
    let mut origin: Option<Instant> = None;
    let mut first = true;
    let seconds = |samples: u64| Duration::from_secs_f64(samples as f64 / rate as f64);
    let end = |samples: u64, sentence_starts: Vec<u64>| ServerMessage::AudioEnd {
        reply_id: reply_id.clone(),
        samples,
        sentence_starts,
    };
    while let Some(item) = items.recv().await {
        match item {
            Item::Chunk {
                first_sample,
                samples,
                frames,
                handed,
            } => {
                if control.stopping() {
                    break;
                }
                let now = Instant::now();
                let playback = *origin.get_or_insert(now) + seconds(first_sample);
                if playback < now {
                    // The client ran dry and resumes with this chunk: move the estimate with it.
                    origin = Some(now - seconds(first_sample));
                } else if let Some(wait) = (playback - now).checked_sub(options.lead) {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = control.inner.stopped.notified() => {}
                    }
                }
                if control.stopping() {
                    break;
                }
                let pcm: Vec<i16> = samples
                    .iter()
                    .map(|&s| twin_voice::wav::to_pcm16(s))
                    .collect();
                let audio = ServerMessage::Audio {
                    reply_id: reply_id.clone(),
                    first_sample,
                    sample_rate: rate,
                    pcm16: encode_pcm16(&pcm),
                    play_at_ms: None,
                };
                if out.send(audio).await.is_err() {
                    control.stop();
                    break;
                }
                control
                    .inner
                    .sent
                    .store(first_sample + samples.len() as u64, Ordering::SeqCst);
                if first {
                    first = false;
                    if let Some(h) = handed {
                        metrics.observe_first_audio(h.elapsed());
                    }
                    if let Some(t) = options.turn_started {
                        metrics.observe_turn_to_audio(t.elapsed());
                    }
                }
                if options.lipsync
                    && !frames.is_empty()
                    && out.send(lip_sync(&reply_id, &frames)).await.is_err()
                {
                    control.stop();
                    break;
                }
            }
            Item::Frames(frames) => {
                if options.lipsync && out.send(lip_sync(&reply_id, &frames)).await.is_err() {
                    break;
                }
            }
            Item::Failed(message) => {
                tracing::warn!(%message, "the twin's voice failed mid-reply");
                metrics.error("voice_unavailable");
                let _ = out
                    .send(ServerMessage::error(
                        ErrorCode::VoiceUnavailable,
                        "the twin's voice broke off; the reply goes on as text".to_string(),
                    ))
                    .await;
            }
            Item::End {
                samples,
                sentence_starts,
            } if !control.stopping() => {
                let _ = out.send(end(samples, sentence_starts)).await;
                control.inner.done.store(true, Ordering::SeqCst);
                return;
            }
            // Stopped: the audio ended where sending stopped (below).
            Item::End { .. } => break,
        }
    }
    // Stopped: tell the client how far the audio went; what it heard comes back in `interrupted`.
    let sent = control.sent_samples();
    let starts = control
        .spoken()
        .sentences
        .iter()
        .map(|s| s.start)
        .filter(|&s| s < sent)
        .collect();
    let _ = out.send(end(sent, starts)).await;
    control.inner.done.store(true, Ordering::SeqCst);
}

fn lip_sync(reply_id: &str, frames: &[Frame]) -> ServerMessage {
    // Three decimals are finer than any face rig resolves, and keep the JSON small.
    let q = |w: &f32| (w * 1000.0).round() / 1000.0;
    ServerMessage::LipSync {
        reply_id: reply_id.to_string(),
        frames: frames
            .iter()
            .map(|f| LipSyncFrame {
                sample: f.sample,
                visemes: f.visemes.iter().map(q).collect(),
                arkit: f.arkit.iter().map(q).collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spoken() -> Spoken {
        let mut s = Spoken {
            rate: 16_000,
            ..Default::default()
        };
        s.push("I am an AI twin.", 0);
        s.extend_to(16_000);
        s.complete();
        s.push("Ask me about robots.", 20_000);
        s.extend_to(40_000);
        s.complete();
        s
    }

    #[test]
    fn heard_counts_whole_sentences_and_whole_words() {
        let s = spoken();
        assert_eq!(s.heard(0), "");
        assert_eq!(s.heard(16_000), "I am an AI twin.");
        // In the pause between sentences.
        assert_eq!(s.heard(19_000), "I am an AI twin.");
        // Half of "Ask me about robots." (20 chars): 10 chars is "Ask me abo", cut back to "Ask me".
        assert_eq!(s.heard(30_000), "I am an AI twin. Ask me");
        assert_eq!(s.heard(1_000_000), "I am an AI twin. Ask me about robots.");
        // Only part of the first word: nothing of that sentence.
        assert_eq!(s.heard(500), "");
    }

    #[test]
    fn heard_is_a_prefix_of_the_reply_text() {
        let s = spoken();
        let full = "I am an AI twin. Ask me about robots.";
        for sample in (0..45_000).step_by(700) {
            assert!(full.starts_with(&s.heard(sample)), "{sample}");
        }
    }

    #[test]
    fn whole_words_cuts_back_to_a_word_boundary() {
        assert_eq!(whole_words("hello world", 5), "hello");
        assert_eq!(whole_words("hello world", 6), "hello");
        assert_eq!(whole_words("hello world", 8), "hello");
        assert_eq!(whole_words("hello world", 11), "hello world");
        assert_eq!(whole_words("hello world", 3), "");
        assert_eq!(whole_words("héllo wörld", 7), "héllo");
    }
}
