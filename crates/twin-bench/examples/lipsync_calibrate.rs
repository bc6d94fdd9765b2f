//! Calibrates the lip-sync analyzer's prototypes and writes crates/twin-lipsync/src/prototypes.rs:
//! `cargo run --release -p twin-bench --example lipsync_calibrate`.
//!
//! Calibration speech never overlaps the evaluation: the persona's own statements (not the speech set), said by
//! espeak-ng voices the evaluation does not use. Ground truth is espeak-ng's phoneme timing with stop closures.
use twin_bench::lipsync::CALIBRATION_VOICES;
use twin_lipsync::model::Mlp;
use twin_lipsync::{Analyzer, phoneme_visemes, stops_from_closure};
use twin_voice::{EspeakVoice, Synthesizer};

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pack = twin_persona::PersonaPack::load(&root.join("assets/personas/owen-marsh"))
        .expect("persona pack");
    let sentences: Vec<String> = pack
        .sources
        .iter()
        .flat_map(|s| twin_llm::sentence::split(&s.text))
        .filter(|s| s.split_whitespace().count() >= 4)
        .collect();
    let mut data: Vec<(Vec<f32>, usize)> = Vec::new();
    for name in CALIBRATION_VOICES {
        let voice = EspeakVoice::new(name, 1.0).expect("voice");
        for s in &sentences {
            let mut audio = Vec::new();
            let syn = voice
                .synthesize(s, &mut |p| {
                    audio.extend_from_slice(p);
                    true
                })
                .expect("synthesis");
            let truth = stops_from_closure(&syn.phonemes, &audio, voice.sample_rate());
            let labels = phoneme_visemes(&truth, audio.len() as u64, voice.sample_rate());
            let mut a = Analyzer::new(voice.sample_rate());
            a.trace = Some(Vec::new());
            a.push(&audio);
            a.finish();
            for (input, (_, v)) in a.trace.unwrap_or_default().into_iter().zip(&labels) {
                // Quiet frames are decided by rule (pause or closure), not by the model.
                if let Some(x) = input {
                    data.push((x, v.index()));
                }
            }
        }
    }
    let hidden = 48;
    let mut mlp = Mlp::new(hidden, 7);
    let started = std::time::Instant::now();
    let loss = mlp.train(&data, 6, 0.05);
    mlp.about = format!(
        "Calibrated by `cargo run --release -p twin-bench --example lipsync_calibrate` on {} sentences of the demo persona's statements said by espeak-ng voices {:?} ({} frames; training loss {:.3}). The evaluation uses other sentences (assets/speech) and other voices.",
        sentences.len(),
        CALIBRATION_VOICES,
        data.len(),
        loss
    );
    let out = root.join("crates/twin-lipsync/src/lipsync-model.json");
    std::fs::write(&out, serde_json::to_string(&mlp).expect("json")).expect("write");
    println!(
        "wrote {} ({} frames, loss {loss:.3}, {:.0} s)",
        out.display(),
        data.len(),
        started.elapsed().as_secs_f64()
    );
}
