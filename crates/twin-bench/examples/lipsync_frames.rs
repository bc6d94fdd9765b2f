//! Frame-by-frame view of one sentence while tuning the analyzer.
use twin_lipsync::features::FeatureExtractor;
use twin_lipsync::{analyze, phoneme_visemes};
use twin_voice::{EspeakVoice, Synthesizer};

fn main() {
    let text = std::env::args()
        .nth(1)
        .unwrap_or("Put the map back on the top shelf, please.".into());
    let voice = EspeakVoice::new(&std::env::args().nth(2).unwrap_or("en-us".into()), 1.0).unwrap();
    let mut audio = Vec::new();
    let s = voice
        .synthesize(&text, &mut |p| {
            audio.extend_from_slice(p);
            true
        })
        .unwrap();
    let truth = &s.phonemes;
    for m in truth {
        print!("{}@{} ", m.ipa, m.sample * 1000 / 22050);
    }
    println!();
    let labels = phoneme_visemes(truth, audio.len() as u64, 22050);
    let frames = analyze(&audio, 22050);
    let mut fx = FeatureExtractor::new(11025, 275);
    let half: Vec<f32> = audio
        .chunks(2)
        .map(|c| c.iter().sum::<f32>() / c.len() as f32)
        .collect();
    for (k, (f, (sample, v))) in frames.iter().zip(&labels).enumerate() {
        let c = *sample as usize / 2;
        let lo = c.saturating_sub(137);
        let hi = (lo + 275).min(half.len());
        let feat = fx.extract(&half[lo..hi]);
        println!(
            "{:4} {:>4} {:>4} {:>4} db{:6.1} hi{:4.2} lo{:4.2} v{:4.2} f1 {:4.0} f2 {:4.0}",
            k * 10,
            v.name(),
            f.main_viseme().name(),
            if v.group() == f.group() { "" } else { "x" },
            feat.db,
            feat.high,
            feat.low,
            feat.voicing,
            feat.f1,
            feat.f2
        );
    }
}
