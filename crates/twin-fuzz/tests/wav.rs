//! WAV files: whatever a file holds, reading gives samples or a clear error.

use proptest::prelude::*;
use twin_fuzz::{config, near};

fn seed() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.wav");
    let samples: Vec<f32> = (0..400).map(|i| ((i as f32) * 0.05).sin() * 0.5).collect();
    twin_voice::wav::write_mono(&path, 16_000, &samples).unwrap();
    std::fs::read(&path).unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn wav_files_read_or_are_refused(bytes in near(vec![seed()])) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.wav");
        std::fs::write(&path, &bytes).unwrap();
        if let Ok((rate, samples)) = twin_voice::wav::read_mono(&path) {
            prop_assert!(rate > 0);
            prop_assert!(samples.iter().all(|s| s.is_finite()));
        }
    }
}
