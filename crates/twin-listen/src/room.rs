//! A simulated conversation in a room, for tests and benchmarks: the twin's reply goes through the player to
//! a speaker, comes back to the microphone through the room's echo path, and mixes with what the user
//! says; the duplex listener hears it all 20 ms at a time, as an app's audio loop feeds it.

use crate::echo::{EchoCanceller, EchoConfig};
use crate::player::Player;
use crate::{Cue, Duplex, Listen};

/// A small room: the speaker's sound reaches the microphone 30 ms later (device latency and distance),
/// with decaying reflections over 60 ms, about as loud as the user's voice.
pub struct Room {
    ir: Vec<f32>,
    history: Vec<f32>,
}

impl Room {
    pub fn new() -> Room {
        let mut seed = 0x2545_f491_u32;
        let mut noise = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as f32 / u32::MAX as f32 - 0.5
        };
        let delay = 480;
        let mut ir = vec![0.0f32; delay + 960];
        ir[delay] = 0.8;
        for (i, tap) in ir.iter_mut().enumerate().skip(delay + 1) {
            *tap = noise() * 0.3 * (-((i - delay) as f32) / 200.0).exp();
        }
        Room {
            history: vec![0.0; ir.len()],
            ir,
        }
    }

    /// The echo of `played` (16 kHz) at the microphone.
    pub fn echo(&mut self, played: &[f32]) -> Vec<f32> {
        let k = self.ir.len();
        self.history.extend_from_slice(played);
        let h = &self.history;
        let out = (0..played.len())
            .map(|n| {
                let at = h.len() - played.len() + n;
                if h[at + 1 - k..=at].iter().all(|&x| x == 0.0) {
                    return 0.0;
                }
                (0..k).map(|j| self.ir[j] * h[at - j]).sum()
            })
            .collect();
        let keep = self.history.len() - k;
        self.history.drain(..keep);
        out
    }
}

/// The echo of `played` when the echo path grows `shift` samples longer from sample `at` on (the user turns
/// their head): the canceller's filter no longer matches the room and must learn it again.
pub fn moving_echo(played: &[f32], at: usize, shift: usize) -> Vec<f32> {
    let before = Room::new().echo(played);
    let mut after = vec![0.0; shift];
    after.extend(Room::new().echo(played));
    (0..before.len())
        .map(|i| if i < at { before[i] } else { after[i] })
        .collect()
}

/// The final transcripts the listener makes of the microphone, after the echo canceller when `reference`
/// (what the speaker played, sample for sample) is given.
pub fn finals(
    listener: &mut dyn Listen,
    echo: &EchoConfig,
    mic: &[f32],
    reference: Option<&[f32]>,
) -> Vec<String> {
    let mut canceller = EchoCanceller::new(echo);
    let mut events = Vec::new();
    for (n, chunk) in mic.chunks(320).enumerate() {
        let cleaned = match reference {
            Some(r) => canceller.process(chunk, &r[n * 320..n * 320 + chunk.len()]),
            None => chunk.to_vec(),
        };
        events.extend(listener.push(&cleaned));
    }
    events.extend(listener.finish());
    crate::listener::turns(&events)
        .into_iter()
        .map(String::from)
        .collect()
}

impl Default for Room {
    fn default() -> Self {
        Room::new()
    }
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// Every cue with the microphone time it came at.
    pub cues: Vec<(f64, Cue)>,
    /// How much of the reply was heard when the player was told to stop (samples at the reply's rate).
    pub heard: Option<u64>,
    /// When the speaker fell silent after a barge-in (seconds on the microphone's clock).
    pub silent_at_s: Option<f64>,
}

impl Outcome {
    /// The turns heard, a revision in place of the turn it revises.
    pub fn turns(&self) -> Vec<String> {
        let mut turns = Vec::new();
        for (_, cue) in &self.cues {
            if let Cue::Turn { text, revises, .. } = cue {
                if *revises {
                    turns.pop();
                }
                turns.push(text.clone());
            }
        }
        turns
    }

    pub fn barge_in_at(&self) -> Option<f64> {
        self.cues.iter().find_map(|(_, c)| match c {
            Cue::BargeIn { at_s, .. } => Some(*at_s),
            _ => None,
        })
    }
}

/// The reply (at `rate`) starts at 0.5 s; `user` (16 kHz) is said from `user_at_s`, if any. Runs 20 ms ticks
/// as an app's audio loop does, acting on the cues (duck, un-duck, fade out).
pub fn converse(
    reply: &[f32],
    rate: u32,
    user: Option<(&[f32], f64)>,
    duplex: &mut Duplex,
) -> Outcome {
    let mut player = Player::new(rate);
    let mut room = Room::new();
    let tick = 320;
    let reply_at = 8_000;
    let user_span = user.map(|(u, at)| ((at * 16_000.0) as usize, u));
    let end = user_span
        .map_or(0, |(at, u)| at + u.len())
        .max(reply_at + reply.len() * 16_000 / rate as usize)
        + 32_000;
    let mut out = Outcome::default();
    let mut played = vec![0.0; (rate as usize) / 50];
    for t in (0..end).step_by(tick) {
        if t == reply_at {
            player.start_reply();
            player.queue(reply);
        }
        let playing = player.playing();
        player.pull(&mut played);
        if out.heard.is_some() && out.silent_at_s.is_none() && played.iter().all(|x| x.abs() < 1e-4)
        {
            out.silent_at_s = Some(t as f64 / 16_000.0);
        }
        let reference = player.reference(tick);
        let mut mic = room.echo(&reference);
        if let Some((at, u)) = user_span {
            for (i, m) in mic.iter_mut().enumerate() {
                if let Some(s) = (t + i).checked_sub(at).and_then(|k| u.get(k)) {
                    *m += s;
                }
            }
        }
        for cue in duplex.push(&mic, &reference, playing) {
            match &cue {
                Cue::Duck { .. } => player.duck(),
                Cue::Unduck { .. } => player.unduck(),
                Cue::BargeIn { .. } => out.heard = Some(player.fade_out()),
                _ => {}
            }
            out.cues.push((t as f64 / 16_000.0, cue));
        }
    }
    for cue in duplex.finish() {
        out.cues.push((end as f64 / 16_000.0, cue));
    }
    out
}
