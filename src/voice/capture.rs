//! Where the user's voice comes from: the microphone through cpal, a WAV file, or raw 16 kHz mono 16-bit
//! PCM on a stream (a pipe from another program). All of them give the same 20 ms chunks at 16 kHz, paced as
//! a live microphone is, so everything after capture is the same path.

use super::{AudioError, TICK};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use twin_listen::SAMPLE_RATE;

pub trait Capture {
    /// The next 20 ms, blocking until it is there (as long as it takes a microphone to hear it); `None` at
    /// the end of the input.
    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, AudioError>;
    /// For messages: "microphone (name)", "file x.wav".
    fn describe(&self) -> String;
}

/// A WAV file played into the loop in real time, then silence (the loop decides when to stop). It starts
/// when [`FileCapture::start`] is called: a file is a question asked once the twin has finished greeting.
pub struct FileCapture {
    name: String,
    samples: Vec<f32>,
    at: usize,
    started: bool,
    clock: Pacer,
}

impl FileCapture {
    pub fn open(path: &Path) -> Result<FileCapture, AudioError> {
        Ok(FileCapture {
            name: path.display().to_string(),
            samples: twin_listen::audio::read_wav(path)?,
            at: 0,
            started: false,
            clock: Pacer::new(),
        })
    }

    pub fn start(&mut self) {
        self.started = true;
    }

    /// The file has been played to its end.
    pub fn done(&self) -> bool {
        self.at >= self.samples.len()
    }

    /// Seconds of the file played so far.
    pub fn position_s(&self) -> f64 {
        self.at as f64 / SAMPLE_RATE as f64
    }

    pub fn len_s(&self) -> f64 {
        self.samples.len() as f64 / SAMPLE_RATE as f64
    }
}

impl Capture for FileCapture {
    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        self.clock.wait();
        let mut chunk = vec![0.0; TICK];
        if self.started && self.at < self.samples.len() {
            let n = TICK.min(self.samples.len() - self.at);
            chunk[..n].copy_from_slice(&self.samples[self.at..self.at + n]);
            self.at += n;
        }
        Ok(Some(chunk))
    }

    fn describe(&self) -> String {
        format!("file {}", self.name)
    }
}

/// Real time for sources that would otherwise run ahead: one tick every 20 ms, catching up after a stall.
struct Pacer {
    start: Option<Instant>,
    ticks: u32,
}

impl Pacer {
    fn new() -> Pacer {
        Pacer {
            start: None,
            ticks: 0,
        }
    }

    fn wait(&mut self) {
        let start = *self.start.get_or_insert_with(Instant::now);
        self.ticks += 1;
        let due = start + Duration::from_millis(20) * self.ticks;
        if let Some(left) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(left);
        }
    }
}

/// Raw 16 kHz mono signed 16-bit little-endian PCM from a reader (standard input), as fast as it arrives.
pub struct StreamCapture<R: Read> {
    reader: R,
}

impl<R: Read> StreamCapture<R> {
    pub fn new(reader: R) -> StreamCapture<R> {
        StreamCapture { reader }
    }
}

impl<R: Read> Capture for StreamCapture<R> {
    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        let mut bytes = vec![0u8; TICK * 2];
        let mut got = 0;
        while got < bytes.len() {
            match self.reader.read(&mut bytes[got..])? {
                0 => break,
                n => got += n,
            }
        }
        if got == 0 {
            return Ok(None);
        }
        bytes.truncate(got - got % 2);
        let mut chunk: Vec<f32> = bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
            .collect();
        chunk.resize(TICK, 0.0);
        Ok(Some(chunk))
    }

    fn describe(&self) -> String {
        "raw 16 kHz PCM stream".into()
    }
}

/// The default microphone through cpal, in its own format, mixed to mono and resampled to 16 kHz.
pub struct MicCapture {
    name: String,
    chunks: mpsc::Receiver<Vec<f32>>,
    pending: Vec<f32>,
    _stream: cpal::Stream,
}

impl MicCapture {
    pub fn open() -> Result<MicCapture, AudioError> {
        let host = cpal::default_host();
        let device = host
            .default_input_device()
            .ok_or(AudioError::NoDevice("microphone"))?;
        let bad = |reason: String| AudioError::Device {
            what: "microphone",
            reason,
        };
        let name = device
            .description()
            .map(|d| d.to_string())
            .unwrap_or_else(|_| "default".into());
        let supported = device
            .default_input_config()
            .map_err(|e| bad(e.to_string()))?;
        let config = supported.config();
        let channels = config.channels.max(1) as usize;
        let rate = config.sample_rate;
        let resampler = twin_listen::audio::To16k::new(rate);
        let (tx, chunks) = mpsc::channel();
        let deliver = move |mono: Vec<f32>| {
            // The loop went away: nothing to do with it.
            let _ = tx.send(resampler.push(&mono));
        };
        let error = |e: cpal::Error| tracing::warn!("microphone: {e}");
        let stream = match supported.sample_format() {
            cpal::SampleFormat::F32 => device.build_input_stream(
                config,
                move |data: &[f32], _: &cpal::InputCallbackInfo| {
                    deliver(
                        data.chunks(channels)
                            .map(|f| f.iter().sum::<f32>() / channels as f32)
                            .collect(),
                    )
                },
                error,
                None,
            ),
            cpal::SampleFormat::I16 => device.build_input_stream(
                config,
                move |data: &[i16], _: &cpal::InputCallbackInfo| {
                    deliver(
                        data.chunks(channels)
                            .map(|f| {
                                f.iter().map(|&s| s as f32 / 32768.0).sum::<f32>() / channels as f32
                            })
                            .collect(),
                    )
                },
                error,
                None,
            ),
            other => {
                return Err(bad(format!(
                    "its sample format {other:?} is not read (f32 or i16 are)"
                )));
            }
        }
        .map_err(|e| bad(e.to_string()))?;
        stream.play().map_err(|e| bad(e.to_string()))?;
        Ok(MicCapture {
            name,
            chunks,
            pending: Vec::new(),
            _stream: stream,
        })
    }
}

impl Capture for MicCapture {
    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        while self.pending.len() < TICK {
            match self.chunks.recv_timeout(Duration::from_secs(2)) {
                Ok(c) => self.pending.extend(c),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(AudioError::Device {
                        what: "microphone",
                        reason: "it delivered nothing for 2 s".into(),
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(None),
            }
        }
        Ok(Some(self.pending.drain(..TICK).collect()))
    }

    fn describe(&self) -> String {
        format!("microphone {}", self.name)
    }
}
