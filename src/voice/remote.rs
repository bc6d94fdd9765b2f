//! Others' voices in a room (remote participants speak through the server): a small jitter buffer per
//! person, filled as chunks arrive and pulled by the audio device, so a voice plays smoothly from where that
//! person is shown (a kira spatial track each, in the headset).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Held back before playing (and again after running dry): chunks come every 20 ms, give or take.
pub const PRIME_MS: u32 = 60;
/// The most held: beyond it the oldest is dropped, so a voice never lags far behind its speaker.
pub const MOST_MS: u32 = 400;

#[derive(Debug)]
pub struct VoiceQueue {
    rate: u32,
    queue: VecDeque<f32>,
    primed: bool,
    /// Samples received, played and dropped (too far behind).
    pub received: u64,
    pub played: u64,
    pub dropped: u64,
}

pub type SharedVoiceQueue = Arc<Mutex<VoiceQueue>>;

impl VoiceQueue {
    pub fn new(rate: u32) -> VoiceQueue {
        VoiceQueue {
            rate,
            queue: VecDeque::new(),
            primed: false,
            received: 0,
            played: 0,
            dropped: 0,
        }
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// A chunk of their voice at `rate` (a new rate starts over).
    pub fn push(&mut self, rate: u32, samples: &[f32]) {
        if rate != self.rate {
            self.rate = rate;
            self.queue.clear();
            self.primed = false;
        }
        self.received += samples.len() as u64;
        self.queue.extend(samples);
        let most = (self.rate * MOST_MS / 1000) as usize;
        if self.queue.len() > most {
            let over = self.queue.len() - most;
            self.queue.drain(..over);
            self.dropped += over as u64;
        }
    }

    /// What the device plays next: silence until [`PRIME_MS`] is held, then the voice.
    pub fn pull(&mut self, out: &mut [f32]) {
        if !self.primed && self.queue.len() >= (self.rate * PRIME_MS / 1000) as usize {
            self.primed = true;
        }
        if !self.primed {
            out.fill(0.0);
            return;
        }
        for o in out.iter_mut() {
            *o = match self.queue.pop_front() {
                Some(x) => {
                    self.played += 1;
                    x
                }
                None => {
                    self.primed = false;
                    0.0
                }
            };
        }
    }
}

/// Everyone's voice queue, by participant id.
#[derive(Debug, Default)]
pub struct RemoteVoices {
    pub voices: HashMap<String, SharedVoiceQueue>,
    /// Chunks received, and those that could not be read.
    pub chunks: u64,
    pub bad_chunks: u64,
}

impl RemoteVoices {
    /// A relayed chunk (`voice` from the server).
    pub fn receive(&mut self, participant: &str, sample_rate: u32, pcm16: &str) {
        let Ok(pcm) = twin_protocol::decode_pcm16(pcm16) else {
            self.bad_chunks += 1;
            return;
        };
        self.chunks += 1;
        let samples: Vec<f32> = pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let queue = self
            .voices
            .entry(participant.to_string())
            .or_insert_with(|| Arc::new(Mutex::new(VoiceQueue::new(sample_rate))));
        crate::sync::lock(queue).push(sample_rate, &samples);
    }

    /// Someone left: their voice goes.
    pub fn forget(&mut self, present: &[String]) {
        self.voices.retain(|id, _| present.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_voice_is_held_back_a_little_then_plays_in_order() {
        let mut v = RemoteVoices::default();
        let chunk = |k: i16| twin_protocol::encode_pcm16(&[(k % 30) * 1000; 320]);
        v.receive("p2", 16_000, &chunk(1));
        let q = v.voices["p2"].clone();
        let mut out = vec![1.0; 160];
        q.lock().unwrap().pull(&mut out);
        assert!(
            out.iter().all(|&x| x == 0.0),
            "20 ms is not enough to start"
        );
        v.receive("p2", 16_000, &chunk(2));
        v.receive("p2", 16_000, &chunk(3));
        q.lock().unwrap().pull(&mut out);
        assert!(
            (out[0] - 1000.0 / 32768.0).abs() < 1e-6,
            "then from the first chunk"
        );
        // Far behind: the oldest goes.
        for k in 0..40 {
            v.receive("p2", 16_000, &chunk(k));
        }
        let q = q.lock().unwrap();
        assert!(q.dropped > 0 && q.queue.len() <= 6_400);
        assert_eq!(v.chunks, 43);
        v.receive("p2", 16_000, "not base64!");
        assert_eq!(v.bad_chunks, 1);
    }
}
