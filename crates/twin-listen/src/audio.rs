//! Audio for recognition: a WAV file read, checked and brought to 16 kHz mono.

use crate::{ListenError, SAMPLE_RATE};
use std::path::Path;

/// Reads a mono WAV (16-bit or float) at any rate from 8 to 192 kHz and returns it at 16 kHz.
pub fn read_wav(path: &Path) -> Result<Vec<f32>, ListenError> {
    let bad = |reason: String| ListenError::Audio {
        path: path.display().to_string(),
        reason,
    };
    let mut reader = hound::WavReader::open(path).map_err(|e| bad(e.to_string()))?;
    let spec = reader.spec();
    if spec.channels != 1 {
        return Err(bad(format!(
            "it has {} channels; speech must be mono (ffmpeg -i in.wav -ac 1 out.wav)",
            spec.channels
        )));
    }
    if !(8_000..=192_000).contains(&spec.sample_rate) {
        return Err(bad(format!(
            "its sample rate is {} Hz; speech needs 8 to 192 kHz",
            spec.sample_rate
        )));
    }
    let samples: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => reader
            .samples::<i16>()
            .map(|s| s.map(|v| v as f32 / 32768.0))
            .collect::<Result<_, _>>(),
        (hound::SampleFormat::Int, 24 | 32) => {
            let scale = (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 / scale))
                .collect::<Result<_, _>>()
        }
        (hound::SampleFormat::Float, 32) => reader.samples::<f32>().collect::<Result<_, _>>(),
        (format, bits) => {
            return Err(bad(format!(
                "{bits}-bit {format:?} samples are not read (use 16-bit PCM)"
            )));
        }
    }
    .map_err(|e| bad(format!("it is cut short or damaged ({e})")))?;
    if samples.is_empty() {
        return Err(bad("it holds no audio".into()));
    }
    Ok(to_16k(&samples, spec.sample_rate))
}

/// Resamples to 16 kHz (sherpa-onnx's linear resampler); 16 kHz input is returned as is.
pub fn to_16k(samples: &[f32], rate: u32) -> Vec<f32> {
    if rate == SAMPLE_RATE {
        return samples.to_vec();
    }
    match sherpa_onnx::LinearResampler::create(rate as i32, SAMPLE_RATE as i32) {
        Some(r) => r.resample(samples, true),
        None => samples.to_vec(),
    }
}

/// Resampling to 16 kHz chunk by chunk, for live audio (the filter's state runs across chunks).
pub struct To16k(Option<sherpa_onnx::LinearResampler>);

impl To16k {
    pub fn new(rate: u32) -> To16k {
        To16k(
            (rate != SAMPLE_RATE)
                .then(|| sherpa_onnx::LinearResampler::create(rate as i32, SAMPLE_RATE as i32))
                .flatten(),
        )
    }

    pub fn push(&self, samples: &[f32]) -> Vec<f32> {
        match &self.0 {
            Some(r) => r.resample(samples, false),
            None => samples.to_vec(),
        }
    }
}
