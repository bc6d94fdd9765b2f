//! Mono WAV files, 16-bit PCM: what `twin say` and the demo write.

use crate::VoiceError;
use std::path::Path;

pub fn write_mono(path: &Path, sample_rate: u32, samples: &[f32]) -> Result<(), VoiceError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let err =
        |e: hound::Error| VoiceError::Synthesis(format!("cannot write {}: {e}", path.display()));
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for &s in samples {
        w.write_sample(to_pcm16(s)).map_err(err)?;
    }
    w.finalize().map_err(err)
}

/// Reads a mono WAV (16-bit integer or 32-bit float) as samples in [-1, 1] and its rate.
pub fn read_mono(path: &Path) -> Result<(u32, Vec<f32>), VoiceError> {
    let err = |e: hound::Error| VoiceError::BadText(format!("cannot read {}: {e}", path.display()));
    let mut r = hound::WavReader::open(path).map_err(err)?;
    let spec = r.spec();
    if spec.channels != 1 {
        return Err(VoiceError::BadText(format!(
            "{} has {} channels; mono is expected",
            path.display(),
            spec.channels
        )));
    }
    let samples = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => r
            .samples::<i16>()
            .map(|s| s.map(|v| f32::from(v) / 32768.0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?,
        (hound::SampleFormat::Float, 32) => r
            .samples::<f32>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?,
        (f, b) => {
            return Err(VoiceError::BadText(format!(
                "{}: {b}-bit {f:?} samples are not supported (16-bit PCM or 32-bit float)",
                path.display()
            )));
        }
    };
    Ok((spec.sample_rate, samples))
}

pub fn to_pcm16(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * 32767.0).round() as i16
}
