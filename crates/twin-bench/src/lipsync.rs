//! Lip-sync against exact ground truth: espeak-ng reports the sample where every phoneme starts, so the
//! audio-only analyzer can be scored frame by frame on speech whose phonemes are known.

use std::path::Path;
use std::time::Instant;
use twin_lipsync::{Score, analyze, score, stops_from_closure};
use twin_voice::{EspeakVoice, Synthesizer, VoiceError};

/// espeak-ng voices of the evaluation: American and British English, male and female variants.
pub const EVAL_VOICES: [&str; 4] = ["en-us", "en+f3", "en-us+m3", "en-gb-x-rp+f2"];
/// Voices the analyzer's prototypes were calibrated on: none of them is in the evaluation.
pub const CALIBRATION_VOICES: [&str; 4] = ["en-029", "en-gb-scotland+f4", "en+m1", "en-us+f2"];

pub struct LipsyncEval {
    pub overall: Score,
    pub per_voice: Vec<(String, Score)>,
    pub audio_seconds: f64,
    pub analysis_seconds: f64,
    pub sentences: usize,
    /// Closure onsets against espeak-ng's raw events (placed at a stop's release, not its closure).
    pub event_offsets_ms: Vec<f64>,
}

/// The sentences of `assets/speech/sentences.txt` (or another file of that form).
pub fn load_sentences(path: &Path) -> std::io::Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

pub fn evaluate(sentences: &[String], voices: &[&str]) -> Result<LipsyncEval, VoiceError> {
    let mut eval = LipsyncEval {
        overall: Score::default(),
        per_voice: Vec::new(),
        audio_seconds: 0.0,
        analysis_seconds: 0.0,
        sentences: sentences.len(),
        event_offsets_ms: Vec::new(),
    };
    for (i, name) in voices.iter().enumerate() {
        let voice = EspeakVoice::new(name, 1.0)?;
        let rate = voice.sample_rate();
        let mut voice_score = Score::default();
        // Each voice says a different share of the sentences, so all of them are heard across the voices.
        for sentence in sentences
            .iter()
            .skip(i % 2)
            .step_by(if voices.len() > 1 { 2 } else { 1 })
        {
            let mut audio = Vec::new();
            let synthesis = voice.synthesize(sentence, &mut |piece| {
                audio.extend_from_slice(piece);
                true
            })?;
            let events = &synthesis.phonemes;
            let truth = stops_from_closure(events, &audio, rate);
            let started = Instant::now();
            let frames = analyze(&audio, rate);
            eval.analysis_seconds += started.elapsed().as_secs_f64();
            eval.audio_seconds += audio.len() as f64 / rate as f64;
            voice_score.merge(&score(&truth, audio.len() as u64, rate, &frames));
            let raw = score(events, audio.len() as u64, rate, &frames);
            eval.event_offsets_ms.extend(raw.closure_errors_ms);
        }
        eval.overall.merge(&voice_score);
        eval.per_voice.push((name.to_string(), voice_score));
    }
    Ok(eval)
}
