//! Spoken replies as a voice client receives them, gathered and saved: the WAV, its lip-sync track and a
//! picture of both. A machine with no sound card can still hear (and see) the twin this way.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use twin_lipsync::Frame;
use twin_lipsync::viseme::VISEME_COUNT;
use twin_protocol::{LipSyncFrame, ServerMessage};

/// One reply's speech, placed on its sample clock as chunks arrive.
#[derive(Default)]
struct Reply {
    id: String,
    text: String,
    sample_rate: u32,
    samples: Vec<i16>,
    frames: Vec<Frame>,
}

/// Collects the speech of every reply and writes `reply-<n>.wav`, `.lipsync.json` and `.png` into a folder.
pub struct SpeechRecorder {
    dir: PathBuf,
    count: usize,
    current: Option<Reply>,
}

/// What was written for one reply.
pub struct Saved {
    pub wav: PathBuf,
    pub seconds: f64,
    pub frames: usize,
}

impl SpeechRecorder {
    pub fn new(dir: &Path) -> Result<SpeechRecorder> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(SpeechRecorder {
            dir: dir.to_path_buf(),
            count: 0,
            current: None,
        })
    }

    /// Takes in one server event; returns what it wrote when a reply's audio ended.
    pub fn observe(&mut self, message: &ServerMessage) -> Result<Option<Saved>> {
        match message {
            ServerMessage::ReplyStart { reply_id, .. } => {
                self.current = Some(Reply {
                    id: reply_id.clone(),
                    ..Default::default()
                });
            }
            ServerMessage::ReplyEnd { reply_id, text, .. } => {
                if let Some(r) = self.reply(reply_id) {
                    r.text = text.clone();
                }
            }
            ServerMessage::Audio {
                reply_id,
                first_sample,
                sample_rate,
                pcm16,
                ..
            } => {
                let pcm = twin_protocol::decode_pcm16(pcm16)?;
                if let Some(r) = self.reply(reply_id) {
                    r.sample_rate = *sample_rate;
                    let at = usize::try_from(*first_sample).context("audio chunk beyond memory")?;
                    // Speech longer than an hour is not a reply: refuse to grow the buffer without bound.
                    anyhow::ensure!(
                        at <= 3600 * (*sample_rate as usize),
                        "audio chunk at sample {at} is implausibly late"
                    );
                    if r.samples.len() < at + pcm.len() {
                        r.samples.resize(at + pcm.len(), 0);
                    }
                    r.samples[at..at + pcm.len()].copy_from_slice(&pcm);
                }
            }
            ServerMessage::LipSync { reply_id, frames } => {
                if let Some(r) = self.reply(reply_id) {
                    r.frames.extend(frames.iter().filter_map(frame));
                }
            }
            ServerMessage::AudioEnd { reply_id, .. } => {
                if self.current.as_ref().is_some_and(|r| &r.id == reply_id)
                    && let Some(r) = self.current.take()
                {
                    return self.save(r).map(Some);
                }
            }
            _ => {}
        }
        Ok(None)
    }

    fn reply(&mut self, id: &str) -> Option<&mut Reply> {
        self.current.as_mut().filter(|r| r.id == id)
    }

    fn save(&mut self, reply: Reply) -> Result<Saved> {
        self.count += 1;
        let stem = self.dir.join(format!("reply-{}", self.count));
        let wav = stem.with_extension("wav");
        let audio: Vec<f32> = reply.samples.iter().map(|&s| s as f32 / 32768.0).collect();
        let rate = reply.sample_rate.max(1);
        twin_voice::wav::write_mono(&wav, rate, &audio)?;
        crate::cli::track::write(
            &stem.with_extension("lipsync.json"),
            rate,
            "server",
            &reply.frames,
        )?;
        if !audio.is_empty() {
            crate::cli::plot::waveform_and_visemes(
                &stem.with_extension("png"),
                &audio,
                rate,
                &reply.frames,
                &reply.text,
            )?;
        }
        Ok(Saved {
            wav,
            seconds: audio.len() as f64 / rate as f64,
            frames: reply.frames.len(),
        })
    }
}

/// A wire frame as the lip-sync crate's; frames of the wrong shape are dropped.
fn frame(f: &LipSyncFrame) -> Option<Frame> {
    Some(Frame {
        sample: f.sample,
        visemes: <[f32; VISEME_COUNT]>::try_from(f.visemes.as_slice()).ok()?,
        arkit: f.arkit.as_slice().try_into().ok()?,
    })
}
