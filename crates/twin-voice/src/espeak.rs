//! libespeak-ng (Debian's `libespeak-ng1`): IPA for the Piper voice, a light fallback voice of its own, and
//! phoneme events with exact sample positions (the ground truth for lip-sync tests).
//!
//! The library keeps all its state in globals, so one worker thread owns it and every call is a message to it.

use crate::{TimedPhoneme, VoiceError};
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::sync::OnceLock;
use std::sync::mpsc;

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const INITIALIZE_PHONEME_EVENTS: c_int = 0x0001;
const INITIALIZE_PHONEME_IPA: c_int = 0x0002;
const INITIALIZE_DONT_EXIT: c_int = 0x8000;
const CHARS_UTF8: c_uint = 1;
const PHONEMES_IPA: c_int = 0x02;
const EVENT_LIST_TERMINATED: c_int = 0;
const EVENT_PHONEME: c_int = 7;
const PARAM_RATE: c_int = 1;

#[repr(C)]
struct EspeakEvent {
    kind: c_int,
    unique_identifier: c_uint,
    text_position: c_int,
    length: c_int,
    audio_position: c_int,
    sample: c_int,
    user_data: *mut c_void,
    id: [u8; 8],
}

type SynthCallback = unsafe extern "C" fn(*mut i16, c_int, *mut EspeakEvent) -> c_int;

#[link(name = "espeak-ng")]
unsafe extern "C" {
    fn espeak_Initialize(
        output: c_int,
        buflength: c_int,
        path: *const c_char,
        options: c_int,
    ) -> c_int;
    fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
    fn espeak_SetSynthCallback(callback: SynthCallback);
    fn espeak_SetParameter(parameter: c_int, value: c_int, relative: c_int) -> c_int;
    fn espeak_Synth(
        text: *const c_void,
        size: usize,
        position: c_uint,
        position_type: c_int,
        end_position: c_uint,
        flags: c_uint,
        unique_identifier: *mut c_uint,
        user_data: *mut c_void,
    ) -> c_int;
    fn espeak_TextToPhonemes(
        textptr: *mut *const c_void,
        textmode: c_int,
        phonememode: c_int,
    ) -> *const c_char;
}

/// One clause of IPA and the punctuation that ended it (Piper voices were trained with it in the input).
#[derive(Debug, Clone, PartialEq)]
pub struct IpaClause {
    pub ipa: String,
    pub end: Option<char>,
}

enum Request {
    Phonemize {
        voice: String,
        text: String,
        reply: mpsc::Sender<Result<Vec<IpaClause>, VoiceError>>,
    },
    Synthesize {
        voice: String,
        words_per_minute: u32,
        text: String,
        chunks: mpsc::SyncSender<Chunk>,
    },
}

/// What a synthesis sends back: audio as it is produced, then the phoneme marks, then the end.
pub enum Chunk {
    Audio(Vec<i16>),
    Done(Result<Vec<TimedPhoneme>, VoiceError>),
}

/// Handle to the one espeak-ng worker of this process.
#[derive(Clone)]
pub struct Espeak {
    requests: mpsc::Sender<Request>,
    sample_rate: u32,
}

static ENGINE: OnceLock<Result<Espeak, String>> = OnceLock::new();

impl Espeak {
    /// The process's espeak-ng engine, started on first use.
    pub fn get() -> Result<Espeak, VoiceError> {
        ENGINE
            .get_or_init(start)
            .clone()
            .map_err(|reason| VoiceError::Load {
                what: "espeak-ng".into(),
                reason,
            })
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// IPA for `text`, one entry per clause, as Piper voices expect it.
    pub fn phonemize(&self, voice: &str, text: &str) -> Result<Vec<IpaClause>, VoiceError> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .send(Request::Phonemize {
                voice: voice.into(),
                text: text.into(),
                reply,
            })
            .map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }

    /// Synthesizes `text`; audio arrives on the returned channel as espeak-ng produces it.
    pub fn synthesize(
        &self,
        voice: &str,
        words_per_minute: u32,
        text: &str,
    ) -> Result<mpsc::Receiver<Chunk>, VoiceError> {
        let (chunks, receiver) = mpsc::sync_channel(64);
        self.requests
            .send(Request::Synthesize {
                voice: voice.into(),
                words_per_minute,
                text: text.into(),
                chunks,
            })
            .map_err(|_| gone())?;
        Ok(receiver)
    }
}

fn gone() -> VoiceError {
    VoiceError::Synthesis("the espeak-ng worker has stopped".into())
}

fn start() -> Result<Espeak, String> {
    let (requests, inbox) = mpsc::channel::<Request>();
    let (ready, is_ready) = mpsc::channel::<Result<u32, String>>();
    std::thread::Builder::new()
        .name("espeak-ng".into())
        .spawn(move || {
            // SAFETY: espeak-ng is only ever called from this thread.
            let rate = unsafe {
                espeak_Initialize(
                    AUDIO_OUTPUT_SYNCHRONOUS,
                    0,
                    std::ptr::null(),
                    INITIALIZE_PHONEME_EVENTS | INITIALIZE_PHONEME_IPA | INITIALIZE_DONT_EXIT,
                )
            };
            if rate <= 0 {
                let _ = ready.send(Err(
                    "espeak_Initialize failed: is espeak-ng-data installed (Debian package espeak-ng-data)?".into(),
                ));
                return;
            }
            unsafe { espeak_SetSynthCallback(on_audio) };
            let _ = ready.send(Ok(rate as u32));
            let mut current_voice = String::new();
            for request in inbox {
                match request {
                    Request::Phonemize { voice, text, reply } => {
                        let result = select_voice(&mut current_voice, &voice).and_then(|()| phonemize(&text));
                        let _ = reply.send(result);
                    }
                    Request::Synthesize {
                        voice,
                        words_per_minute,
                        text,
                        chunks,
                    } => {
                        let result = select_voice(&mut current_voice, &voice)
                            .and_then(|()| synthesize(words_per_minute, &text, &chunks));
                        let _ = chunks.send(Chunk::Done(result));
                    }
                }
            }
        })
        .map_err(|e| e.to_string())?;
    let sample_rate = is_ready
        .recv()
        .map_err(|_| "the espeak-ng worker died while starting".to_string())??;
    Ok(Espeak {
        requests,
        sample_rate,
    })
}

fn select_voice(current: &mut String, voice: &str) -> Result<(), VoiceError> {
    if current == voice {
        return Ok(());
    }
    let name = CString::new(voice)
        .map_err(|_| VoiceError::BadConfig(format!("voice name {voice:?} holds a NUL")))?;
    if unsafe { espeak_SetVoiceByName(name.as_ptr()) } != 0 {
        return Err(VoiceError::BadConfig(format!(
            "espeak-ng has no voice {voice:?} (try `espeak-ng --voices=en`)"
        )));
    }
    *current = voice.to_string();
    Ok(())
}

/// Clause-ending punctuation is what espeak-ng splits on; it does not hand it back in version 1.51, so the text
/// is cut at the same marks first and each piece's mark is kept.
fn phonemize(text: &str) -> Result<Vec<IpaClause>, VoiceError> {
    let mut clauses = Vec::new();
    for (piece, end) in split_clauses(text) {
        let c = CString::new(piece)
            .map_err(|_| VoiceError::BadText("text holds a NUL character".into()))?;
        let mut ipa = String::new();
        let mut cursor = c.as_ptr() as *const c_void;
        while !cursor.is_null() {
            // SAFETY: `cursor` points into `c`, which outlives the loop; espeak-ng advances it or sets it to NULL.
            let out =
                unsafe { espeak_TextToPhonemes(&mut cursor, CHARS_UTF8 as c_int, PHONEMES_IPA) };
            if out.is_null() {
                break;
            }
            let part = unsafe { CStr::from_ptr(out) }.to_string_lossy();
            if !part.trim().is_empty() {
                if !ipa.is_empty() {
                    ipa.push(' ');
                }
                ipa.push_str(part.trim());
            }
        }
        if !ipa.is_empty() {
            clauses.push(IpaClause { ipa, end });
        }
    }
    Ok(clauses)
}

pub(crate) fn split_clauses(text: &str) -> Vec<(&str, Option<char>)> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        if matches!(c, '.' | ',' | ';' | ':' | '!' | '?') {
            // A mark inside a number or a word ("3.5", "e.g") does not end a clause.
            let next = chars.get(i + 1).map(|&(_, n)| n);
            if next.is_some_and(|n| !n.is_whitespace() && !matches!(n, '"' | '\'' | ')')) {
                continue;
            }
            out.push((&text[start..at], Some(c)));
            start = at + c.len_utf8();
        }
    }
    if !text[start..].trim().is_empty() {
        out.push((&text[start..], None));
    }
    out.retain(|(piece, _)| piece.chars().any(char::is_alphanumeric));
    out
}

struct Capture {
    chunks: mpsc::SyncSender<Chunk>,
    marks: Vec<TimedPhoneme>,
    samples: u64,
    hung_up: bool,
}

thread_local! {
    static CAPTURE: RefCell<Option<Capture>> = const { RefCell::new(None) };
}

fn synthesize(
    words_per_minute: u32,
    text: &str,
    chunks: &mpsc::SyncSender<Chunk>,
) -> Result<Vec<TimedPhoneme>, VoiceError> {
    let c =
        CString::new(text).map_err(|_| VoiceError::BadText("text holds a NUL character".into()))?;
    CAPTURE.with(|slot| {
        *slot.borrow_mut() = Some(Capture {
            chunks: chunks.clone(),
            marks: Vec::new(),
            samples: 0,
            hung_up: false,
        })
    });
    let status = unsafe {
        espeak_SetParameter(PARAM_RATE, words_per_minute.clamp(80, 450) as c_int, 0);
        espeak_Synth(
            c.as_ptr() as *const c_void,
            text.len() + 1,
            0,
            1,
            0,
            CHARS_UTF8,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    let capture = CAPTURE.with(|slot| slot.borrow_mut().take());
    if status != 0 {
        return Err(VoiceError::Synthesis(format!(
            "espeak_Synth failed with code {status}"
        )));
    }
    Ok(capture.map(|c| c.marks).unwrap_or_default())
}

unsafe extern "C" fn on_audio(wav: *mut i16, n: c_int, events: *mut EspeakEvent) -> c_int {
    CAPTURE.with(|slot| {
        let mut slot = slot.borrow_mut();
        let Some(capture) = slot.as_mut() else {
            return 1;
        };
        let mut event = events;
        while !event.is_null() {
            // SAFETY: espeak-ng passes an array terminated by an event of type LIST_TERMINATED.
            let e = unsafe { &*event };
            if e.kind == EVENT_LIST_TERMINATED {
                break;
            }
            if e.kind == EVENT_PHONEME {
                let end = e.id.iter().position(|&b| b == 0).unwrap_or(8);
                let ipa = String::from_utf8_lossy(&e.id[..end]).into_owned();
                capture.marks.push(TimedPhoneme {
                    sample: e.sample.max(0) as u64,
                    ipa,
                });
            }
            event = unsafe { event.add(1) };
        }
        if !wav.is_null() && n > 0 {
            // SAFETY: espeak-ng hands `n` valid samples.
            let samples = unsafe { std::slice::from_raw_parts(wav, n as usize) }.to_vec();
            capture.samples += samples.len() as u64;
            if capture.chunks.send(Chunk::Audio(samples)).is_err() {
                capture.hung_up = true;
            }
        }
        // Returning 1 aborts synthesis: the listener has gone (an interruption).
        c_int::from(capture.hung_up)
    })
}

/// espeak-ng as a voice: robotic, but light, any language it knows, and exact phoneme timing.
pub struct EspeakVoice {
    engine: Espeak,
    voice: String,
    words_per_minute: u32,
}

/// espeak-ng's own default rate.
const DEFAULT_WORDS_PER_MINUTE: f32 = 175.0;

impl EspeakVoice {
    pub fn new(voice: &str, speed: f32) -> Result<Self, VoiceError> {
        let engine = Espeak::get()?;
        // Fail now, not on the first sentence, when the voice does not exist.
        engine.phonemize(voice, "a")?;
        Ok(EspeakVoice {
            engine,
            voice: voice.to_string(),
            words_per_minute: (DEFAULT_WORDS_PER_MINUTE * speed).round() as u32,
        })
    }
}

impl crate::Synthesizer for EspeakVoice {
    fn backend(&self) -> &'static str {
        "espeak"
    }

    fn sample_rate(&self) -> u32 {
        self.engine.sample_rate()
    }

    fn reports_phonemes(&self) -> bool {
        true
    }

    fn synthesize(
        &self,
        text: &str,
        sink: &mut dyn FnMut(&[f32]) -> bool,
    ) -> Result<crate::Synthesis, VoiceError> {
        let chunks = self
            .engine
            .synthesize(&self.voice, self.words_per_minute, text)?;
        let mut out = crate::Synthesis::default();
        let mut floats = Vec::new();
        for chunk in chunks {
            match chunk {
                Chunk::Audio(samples) => {
                    if out.stopped {
                        continue;
                    }
                    floats.clear();
                    floats.extend(samples.iter().map(|&s| f32::from(s) / 32768.0));
                    out.samples += floats.len() as u64;
                    if !sink(&floats) {
                        // Dropping the receiver makes the worker abort at its next buffer.
                        out.stopped = true;
                        break;
                    }
                }
                Chunk::Done(result) => {
                    out.phonemes = result?;
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }
}
