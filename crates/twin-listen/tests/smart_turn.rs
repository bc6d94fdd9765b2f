//! Smart Turn's front end and model against pipecat's reference: the Rust log-mel matches pipecat's numpy
//! front end on stored vectors (tests/data/smart_turn_reference.json, made by make_smart_turn_reference.py),
//! and the probability matches pipecat's (ONNX Runtime, Python) on the same clips, a complete sentence high and the same
//! sentence cut in half low. Needs `cargo xtask setup`.

mod common;
use common::models;
use twin_listen::turn::SmartTurn;
use twin_listen::turn::features::{FRAMES, LogMel, N_MELS};

#[derive(serde::Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    wav: String,
    samples: usize,
    probability: f32,
    frame_step: usize,
    /// Every `frame_step`-th frame, each `N_MELS` values.
    frames: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/smart_turn_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn clip(case: &Case) -> Vec<f32> {
    let audio = twin_listen::audio::read_wav(&models().join(&case.wav)).unwrap();
    audio[..case.samples].to_vec()
}

#[test]
fn the_log_mel_matches_pipecats_numpy_front_end() {
    let mel = LogMel::new();
    for case in reference().cases {
        let features = mel.features(&clip(&case));
        assert_eq!(features.len(), N_MELS * FRAMES);
        let mut worst = 0f32;
        for (i, frame) in case.frames.iter().enumerate() {
            let t = i * case.frame_step;
            for (m, want) in frame.iter().enumerate() {
                worst = worst.max((features[m * FRAMES + t] - want).abs());
            }
        }
        assert!(worst < 1e-3, "{}: largest difference {worst}", case.wav);
    }
}

/// The int8 graph moves a few hundredths when the front end's floats round differently (the log-mel agrees to
/// 1e-3, and one quantisation step flipped early grows through the layers), so the check is closeness plus
/// the same decision: complete sentences high, the same sentences cut in half low.
#[test]
fn the_probability_matches_pipecats() {
    let model = SmartTurn::load(&models().join("smart-turn")).unwrap();
    let got: Vec<(String, usize, f32, f32)> = reference()
        .cases
        .iter()
        .map(|case| {
            let p = model.complete(&clip(case)).unwrap();
            (case.wav.clone(), case.samples, p, case.probability)
        })
        .collect();
    for (wav, samples, p, want) in &got {
        assert!(
            (p - want).abs() < 0.06 && (*p > 0.5) == (*want > 0.5),
            "{wav} ({samples} samples): {p}, pipecat {want}; all: {got:?}"
        );
    }
}
