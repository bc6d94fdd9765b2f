//! Speech for the speech-in figures: text said by a synthetic voice at the listener's 16 kHz, and a
//! recording's speech without the quiet around it.

use anyhow::Result;
use twin_voice::Synthesizer;

/// `text` said by `voice`, at 16 kHz.
pub fn at_16k(voice: &dyn Synthesizer, text: &str) -> Result<Vec<f32>> {
    let mut audio = Vec::new();
    voice.synthesize(&twin_voice::text::prepare(text)?, &mut |p| {
        audio.extend_from_slice(p);
        true
    })?;
    Ok(twin_listen::audio::to_16k(&audio, voice.sample_rate()))
}

/// `audio` from its first to its last sample louder than `floor`: the speech, so that its last sample is
/// the true end.
pub fn trimmed(audio: &[f32], floor: f32) -> &[f32] {
    let loud = |s: &f32| s.abs() > floor;
    let first = audio.iter().position(loud).unwrap_or(0);
    let last = audio.iter().rposition(loud).map_or(0, |i| i + 1);
    &audio[first.min(last)..last]
}

/// At or below this a sample is silence: a synthesizer's own, or a quiet recording's.
pub const SILENCE_FLOOR: f32 = 0.01;
