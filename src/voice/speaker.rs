//! Where the twin's voice goes: the default output device through cpal, pulling from the player in the
//! device's own callback; or, with no sound card (or when asked), a virtual speaker that plays on the loop's
//! clock, so the rest of the loop (reference, barge-in, how much was heard) runs the same.

use super::AudioError;
use crate::sync::lock;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use std::sync::{Arc, Mutex};
use twin_listen::player::Player;

pub type SharedPlayer = Arc<Mutex<Player>>;

pub enum Speaker {
    Device {
        name: String,
        rate: u32,
        _stream: cpal::Stream,
    },
    Virtual {
        scratch: Vec<f32>,
    },
    /// Something else pulls from the player on its own clock (kira's spatial track), named here.
    External(String),
}

impl Speaker {
    pub fn open_device(player: &SharedPlayer) -> Result<Speaker, AudioError> {
        let host = cpal::default_host();
        let device = host
            .default_output_device()
            .ok_or(AudioError::NoDevice("speaker"))?;
        let bad = |reason: String| AudioError::Device {
            what: "speaker",
            reason,
        };
        let name = device
            .description()
            .map(|d| d.to_string())
            .unwrap_or_else(|_| "default".into());
        let rate = lock(player).rate();
        let default = device
            .default_output_config()
            .map_err(|e| bad(e.to_string()))?;
        let channels = default.channels().max(1);
        // The voice's own rate: the device (ALSA's plug layer) converts, the player does not have to.
        let config = cpal::StreamConfig {
            channels,
            sample_rate: rate,
            buffer_size: cpal::BufferSize::Default,
        };
        let source = Arc::clone(player);
        let mut mono = Vec::new();
        let stream = device
            .build_output_stream(
                config,
                move |data: &mut [f32], _: &cpal::OutputCallbackInfo| {
                    let frames = data.len() / channels as usize;
                    mono.resize(frames, 0.0);
                    lock(&source).pull(&mut mono);
                    for (frame, &x) in data.chunks_mut(channels as usize).zip(&mono) {
                        frame.fill(x);
                    }
                },
                |e| tracing::warn!("speaker: {e}"),
                None,
            )
            .map_err(|e| bad(e.to_string()))?;
        stream.play().map_err(|e| bad(e.to_string()))?;
        Ok(Speaker::Device {
            name,
            rate,
            _stream: stream,
        })
    }

    pub fn virtual_speaker() -> Speaker {
        Speaker::Virtual {
            scratch: Vec::new(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Speaker::Device { name, .. } => format!("speaker {name}"),
            Speaker::Virtual { .. } => "virtual speaker (no sound out)".into(),
            Speaker::External(name) => name.clone(),
        }
    }

    /// One 20 ms tick of the loop. The virtual speaker plays its 20 ms here; a device plays on its own.
    /// Returns whether the device must be reopened (the voice's rate changed).
    pub fn tick(&mut self, player: &SharedPlayer) -> bool {
        let mut p = lock(player);
        match self {
            Speaker::Device { rate, .. } => *rate != p.rate(),
            // It resamples what it pulls: a new rate needs nothing.
            Speaker::External(_) => false,
            Speaker::Virtual { scratch } => {
                scratch.resize(p.rate() as usize / 50, 0.0);
                p.pull(scratch);
                false
            }
        }
    }
}
