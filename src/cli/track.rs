//! The lip-sync track file (`twin say --lipsync`, `twin chat --speech`): viseme and ARKit weights at 100 frames a
//! second with their sample positions, read back by `twin render` and `twin desktop`.

use anyhow::{Context, Result, bail};
use std::path::Path;
use twin_animate::MouthTrack;
use twin_lipsync::{ARKIT_MOUTH, Frame, VISEME_COUNT, Viseme};

/// The lip-sync track as JSON: names once, then one row per frame.
pub fn write(path: &Path, sample_rate: u32, source: &str, frames: &[Frame]) -> Result<()> {
    let round = |x: &f32| (x * 1000.0).round() / 1000.0;
    let rows: Vec<serde_json::Value> = frames
        .iter()
        .map(|f| {
            serde_json::json!({
                "sample": f.sample,
                "visemes": f.visemes.iter().map(round).collect::<Vec<_>>(),
                "arkit": f.arkit.iter().map(round).collect::<Vec<_>>(),
            })
        })
        .collect();
    let track = serde_json::json!({
        "sample_rate": sample_rate,
        "frame_rate": twin_lipsync::FRAME_RATE,
        "source": source,
        "visemes": Viseme::ALL.iter().map(|v| v.name()).collect::<Vec<_>>(),
        "arkit": ARKIT_MOUTH,
        "frames": rows,
    });
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string(&track)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[derive(serde::Deserialize)]
struct TrackFile {
    sample_rate: u32,
    visemes: Vec<String>,
    frames: Vec<TrackFrame>,
}

#[derive(serde::Deserialize)]
struct TrackFrame {
    sample: u64,
    visemes: Vec<f32>,
}

/// Reads a track written by [`write`] for animation.
pub fn read(path: &Path) -> Result<MouthTrack> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: TrackFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a lip-sync track (twin say --lipsync writes one)",
            path.display()
        )
    })?;
    let names: Vec<&str> = Viseme::ALL.iter().map(|v| v.name()).collect();
    if file.visemes != names {
        bail!(
            "{}: the visemes are {:?}; Twin's tracks list {:?}",
            path.display(),
            file.visemes,
            names
        );
    }
    let mut frames = Vec::with_capacity(file.frames.len());
    for f in &file.frames {
        let weights: [f32; VISEME_COUNT] = f.visemes.as_slice().try_into().map_err(|_| {
            anyhow::anyhow!(
                "{}: the frame at sample {} has {} viseme weights for {VISEME_COUNT}",
                path.display(),
                f.sample,
                f.visemes.len()
            )
        })?;
        frames.push((f.sample, weights));
    }
    MouthTrack::new(file.sample_rate, frames).with_context(|| format!("{}", path.display()))
}
