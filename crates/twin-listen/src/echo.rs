//! Echo cancellation: the twin's own voice, played from the speakers and picked up again by the microphone,
//! is removed before voice activity and recognition see the audio.
//!
//! speexdsp's multi-delay adaptive filter (MDF) models the path from the speaker to the microphone, using the
//! playback signal as the reference; its residual echo suppressor (part of the preprocessor) takes off what
//! the linear filter leaves. Double talk (the user speaking while the twin does) is handled by the MDF's
//! adaptation control, which slows learning when the microphone holds more than the echo it predicts, so the
//! user's voice is not learned as echo.
//!
//! A fresh filter needs about a second of the twin's voice to learn the room. Until it has (the echo
//! return loss enhancement measured while the speaker plays stays above 12 dB for 0.2 s), the microphone is
//! muted while the speaker plays and for one tail after: half duplex for the first second of a session,
//! rather than the twin hearing itself. Where the microphone cannot hear the speaker (headphones), there is
//! nothing to learn: its level follows the speaker's at no delay (over 0.5 s of playback), or it is 30 dB
//! quieter, and it is open again after half a second.
//!
//! What the linear filter leaves of the twin's voice (most after the echo path changes) is silenced by the
//! residual echo gate (`residual`) while the speaker plays.

use crate::SAMPLE_RATE;
use crate::residual::ResidualGate;
use std::os::raw::{c_int, c_void};

#[repr(C)]
struct SpeexEchoState {
    _opaque: [u8; 0],
}
#[repr(C)]
struct SpeexPreprocessState {
    _opaque: [u8; 0],
}

unsafe extern "C" {
    fn speex_echo_state_init(frame_size: c_int, filter_length: c_int) -> *mut SpeexEchoState;
    fn speex_echo_state_destroy(st: *mut SpeexEchoState);
    fn speex_echo_cancellation(
        st: *mut SpeexEchoState,
        rec: *const i16,
        play: *const i16,
        out: *mut i16,
    );
    fn speex_echo_ctl(st: *mut SpeexEchoState, request: c_int, ptr: *mut c_void) -> c_int;
    fn speex_preprocess_state_init(frame_size: c_int, rate: c_int) -> *mut SpeexPreprocessState;
    fn speex_preprocess_state_destroy(st: *mut SpeexPreprocessState);
    fn speex_preprocess_run(st: *mut SpeexPreprocessState, x: *mut i16) -> c_int;
    fn speex_preprocess_ctl(
        st: *mut SpeexPreprocessState,
        request: c_int,
        ptr: *mut c_void,
    ) -> c_int;
}

const SPEEX_ECHO_SET_SAMPLING_RATE: c_int = 24;
const SPEEX_PREPROCESS_SET_DENOISE: c_int = 0;
const SPEEX_PREPROCESS_SET_AGC: c_int = 2;
const SPEEX_PREPROCESS_SET_DEREVERB: c_int = 8;
const SPEEX_PREPROCESS_SET_NOISE_SUPPRESS: c_int = 18;
const SPEEX_PREPROCESS_SET_ECHO_SUPPRESS: c_int = 20;
const SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE: c_int = 22;
const SPEEX_PREPROCESS_SET_ECHO_STATE: c_int = 24;

/// 10 ms at 16 kHz: the canceller works frame by frame.
pub const FRAME: usize = 160;

#[derive(Debug, Clone)]
pub struct EchoConfig {
    /// The longest echo path modelled (speaker → room → microphone, plus any misalignment between the
    /// playback reference and the capture). Longer costs more CPU and converges more slowly.
    pub tail_ms: u32,
    /// Residual echo attenuation after the linear filter, in dB (negative), with and without the user
    /// speaking at the same time.
    pub suppress_db: i32,
    pub suppress_active_db: i32,
    /// Noise suppression in dB (negative); the residual echo suppressor shares its spectral gain, so it
    /// cannot be switched off entirely. Kept mild: recognizers are trained on noisy speech and dislike
    /// musical noise more than they dislike noise.
    pub noise_db: i32,
    /// Silence what the linear filter leaves of the twin's voice (`residual`); off only to measure it.
    pub residual_gate: bool,
}

impl Default for EchoConfig {
    fn default() -> Self {
        EchoConfig {
            tail_ms: 128,
            suppress_db: -45,
            suppress_active_db: -15,
            noise_db: -6,
            residual_gate: true,
        }
    }
}

/// One microphone, one speaker, 16 kHz.
pub struct EchoCanceller {
    echo: *mut SpeexEchoState,
    pre: *mut SpeexPreprocessState,
    mic: Vec<i16>,
    reference: Vec<i16>,
    out: [i16; FRAME],
    tail_frames: usize,
    /// Frames since the speaker last played something (large when it has not).
    since_playback: usize,
    /// Reference, microphone and cleaned energy over recent frames where the speaker played.
    reference_energy: f64,
    echo_energy: f64,
    cleaned_energy: f64,
    /// Consecutive playing frames with the filter cancelling well.
    good_frames: usize,
    /// Amplitude envelopes of the last frames (reference, microphone), whether the speaker played or not.
    envelopes: std::collections::VecDeque<(f32, f32)>,
    playing_frames: usize,
    converged: bool,
    gate: Option<ResidualGate>,
}

// The states are owned by this value alone and speexdsp keeps no thread-local state.
unsafe impl Send for EchoCanceller {}

fn to_i16(x: f32) -> i16 {
    (x * 32767.0).round().clamp(-32768.0, 32767.0) as i16
}

fn to_f32(x: i16) -> f32 {
    x as f32 / 32768.0
}

impl EchoCanceller {
    pub fn new(config: &EchoConfig) -> EchoCanceller {
        let tail = (config.tail_ms as usize * SAMPLE_RATE as usize / 1000).max(FRAME);
        // SAFETY: plain constructors; the returned pointers are checked and owned by this value.
        unsafe {
            let echo = speex_echo_state_init(FRAME as c_int, tail as c_int);
            let pre = speex_preprocess_state_init(FRAME as c_int, SAMPLE_RATE as c_int);
            assert!(
                !echo.is_null() && !pre.is_null(),
                "speexdsp could not allocate its state"
            );
            let mut rate = SAMPLE_RATE as c_int;
            speex_echo_ctl(echo, SPEEX_ECHO_SET_SAMPLING_RATE, int_ptr(&mut rate));
            let mut on: c_int = 1;
            let mut off: c_int = 0;
            speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_DENOISE, int_ptr(&mut on));
            speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_AGC, int_ptr(&mut off));
            speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_DEREVERB, int_ptr(&mut off));
            let mut noise = config.noise_db;
            speex_preprocess_ctl(
                pre,
                SPEEX_PREPROCESS_SET_NOISE_SUPPRESS,
                int_ptr(&mut noise),
            );
            let mut suppress = config.suppress_db;
            speex_preprocess_ctl(
                pre,
                SPEEX_PREPROCESS_SET_ECHO_SUPPRESS,
                int_ptr(&mut suppress),
            );
            let mut active = config.suppress_active_db;
            speex_preprocess_ctl(
                pre,
                SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE,
                int_ptr(&mut active),
            );
            speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_ECHO_STATE, echo.cast());
            EchoCanceller {
                echo,
                pre,
                mic: Vec::new(),
                reference: Vec::new(),
                out: [0; FRAME],
                tail_frames: tail.div_ceil(FRAME),
                since_playback: usize::MAX,
                reference_energy: 0.0,
                echo_energy: 0.0,
                cleaned_energy: 0.0,
                good_frames: 0,
                envelopes: std::collections::VecDeque::new(),
                playing_frames: 0,
                converged: false,
                gate: config.residual_gate.then(|| ResidualGate::new(FRAME, tail)),
            }
        }
    }

    /// `mic`: what the microphone captured; `reference`: what the speaker played over the same stretch of
    /// time (silence when nothing plays), sample for sample. Returns the microphone without the echo, in
    /// whole 10 ms frames (what is left over waits for the next call).
    pub fn process(&mut self, mic: &[f32], reference: &[f32]) -> Vec<f32> {
        debug_assert_eq!(mic.len(), reference.len());
        self.mic.extend(mic.iter().map(|&x| to_i16(x)));
        self.reference.extend(reference.iter().map(|&x| to_i16(x)));
        let frames = self.mic.len().min(self.reference.len()) / FRAME;
        let mut cleaned = Vec::with_capacity(frames * FRAME);
        for f in 0..frames {
            let at = f * FRAME;
            // SAFETY: both inputs hold FRAME samples from `at`; `out` holds FRAME; the states are live.
            unsafe {
                speex_echo_cancellation(
                    self.echo,
                    self.mic[at..].as_ptr(),
                    self.reference[at..].as_ptr(),
                    self.out.as_mut_ptr(),
                );
            }
            let reference: [f32; FRAME] = std::array::from_fn(|i| to_f32(self.reference[at + i]));
            let echo_left = self
                .gate
                .as_mut()
                .is_some_and(|gate| gate.is_echo(&self.out.map(to_f32), &reference));
            let energy = |v: &[i16]| v.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
            let played = energy(&self.reference[at..at + FRAME]);
            let playing = played > PLAYING_ENERGY;
            if !self.converged {
                self.watch(played, energy(&self.mic[at..at + FRAME]), playing);
            }
            if playing {
                self.since_playback = 0;
                self.learn(
                    energy(&self.reference[at..at + FRAME]),
                    energy(&self.mic[at..at + FRAME]),
                    energy(&self.out),
                );
            } else {
                self.since_playback = self.since_playback.saturating_add(1);
            }
            // SAFETY: `out` holds FRAME samples; the state is live.
            unsafe { speex_preprocess_run(self.pre, self.out.as_mut_ptr()) };
            let speaker_heard = self.since_playback <= self.tail_frames;
            if speaker_heard && (!self.converged || echo_left) {
                self.out = [0; FRAME];
            }
            cleaned.extend(self.out.iter().map(|&s| to_f32(s)));
        }
        self.mic.drain(..frames * FRAME);
        self.reference.drain(..frames * FRAME);
        cleaned
    }
}

/// A 10 ms frame of the reference louder than -60 dBFS counts as the speaker playing.
const PLAYING_ENERGY: f64 = FRAME as f64 * 32.8 * 32.8;

impl EchoCanceller {
    /// Whether the filter has learnt the room (the microphone is no longer muted while the speaker plays).
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// The microphone may not hear the speaker at all (headphones, a speaker far away): then its level
    /// does not follow the speaker's at any delay up to the tail, whatever the user says over it.
    fn watch(&mut self, reference: f64, mic: f64, playing: bool) {
        const SPAN: usize = 50;
        self.envelopes
            .push_back((reference.sqrt() as f32, mic.sqrt() as f32));
        self.playing_frames += usize::from(playing);
        if self.envelopes.len() > SPAN {
            self.envelopes.pop_front();
        }
        self.playing_frames = self.playing_frames.min(SPAN);
        if self.envelopes.len() < SPAN || self.playing_frames < SPAN / 2 || !playing {
            return;
        }
        let (r, m): (Vec<f32>, Vec<f32>) = self.envelopes.iter().copied().unzip();
        let best = (0..=self.tail_frames)
            .map(|lag| correlation(&r[..SPAN - lag], &m[lag..]))
            .fold(0.0f32, f32::max);
        if best < 0.2 {
            self.converged = true;
        }
    }

    fn learn(&mut self, reference: f64, mic: f64, cleaned: f64) {
        if self.converged {
            return;
        }
        // About 100 ms of memory.
        self.reference_energy = 0.9 * self.reference_energy + reference;
        self.echo_energy = 0.9 * self.echo_energy + mic;
        self.cleaned_energy = 0.9 * self.cleaned_energy + cleaned;
        let erle_db = 10.0 * ((self.echo_energy + 1.0) / (self.cleaned_energy + 1.0)).log10();
        // The microphone far quieter than the speaker's signal: no echo path to learn (headphones, or a
        // speaker the microphone cannot hear).
        let erl_db = 10.0 * ((self.reference_energy + 1.0) / (self.echo_energy + 1.0)).log10();
        if erle_db >= 12.0 || erl_db >= 30.0 {
            self.good_frames += 1;
            self.converged = self.good_frames >= 20;
        } else {
            self.good_frames = 0;
        }
    }
}

/// Pearson correlation; 0 when either side does not vary (a silent microphone follows nothing).
fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len()) as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += (x - ma) * (y - mb);
        aa += (x - ma) * (x - ma);
        bb += (y - mb) * (y - mb);
    }
    if aa <= f32::EPSILON || bb <= f32::EPSILON {
        return 0.0;
    }
    ab / (aa * bb).sqrt()
}

fn int_ptr(v: &mut c_int) -> *mut c_void {
    (v as *mut c_int).cast()
}

impl Drop for EchoCanceller {
    fn drop(&mut self) {
        // SAFETY: created in `new`, destroyed once here.
        unsafe {
            speex_preprocess_state_destroy(self.pre);
            speex_echo_state_destroy(self.echo);
        }
    }
}
