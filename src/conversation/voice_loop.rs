//! The voice loop: 20 ms ticks of capture through the echo canceller and listener, the speaker playing the
//! twin's voice, and the listener's cues turned into messages for the link.

use super::{Output, Shared, Source};
use crate::sync::lock;
use crate::voice::TICK;
use crate::voice::capture::Capture;
use crate::voice::speaker::Speaker;
use anyhow::Result;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use twin_listen::{Cue, Duplex};
use twin_protocol::{ClientMessage, Heard};

/// What the voice loop tells the link side.
pub(super) enum FromLoop {
    Send(ClientMessage),
    /// A cue; a turn comes with its id and when its speech ended.
    Cue(Cue, Option<(String, Instant)>),
    /// The input has ended (and had time to be finalized).
    InputDone,
    Failed(String),
}

pub(super) fn run(
    mut source: Source,
    mut duplex: Duplex,
    output: Output,
    shared: &Shared,
    tx: &UnboundedSender<FromLoop>,
    share_voice: bool,
) -> Result<()> {
    let speaker = open_speaker(&output, shared);
    *lock(&shared.speaker) = speaker.describe();
    let describe = match &source {
        Source::File(f) => f.describe(),
        Source::Live(c) => c.describe(),
    };
    tracing::info!(
        "listening to {describe}, the twin on {}",
        speaker.describe()
    );
    let mut voice_loop = VoiceLoop {
        shared,
        tx,
        output,
        speaker,
        share_voice,
        stamp: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros()),
        turns: 0,
        last_turn: None,
        after_end: None,
        captured: VecDeque::new(),
        fed: 0,
        voice_seq: 0,
    };
    while !shared.stop.load(Ordering::Relaxed) {
        let chunk = voice_loop.next_chunk(&mut source)?;
        if !voice_loop.tick(&mut duplex, &chunk) {
            break;
        }
    }
    Ok(())
}

/// Where the twin's voice plays: its mouth in the room, a sound device, or a virtual speaker (where the
/// others fail, said once).
fn open_speaker(output: &Output, shared: &Shared) -> Speaker {
    match output {
        Output::Spatial(voice) => match lock(voice).play(&shared.player) {
            Ok(()) => Speaker::External("the twin's mouth (kira spatial track)".into()),
            Err(e) => {
                eprintln!("twin: no spatial voice ({e}); the twin's voice plays on a virtual speaker");
                Speaker::virtual_speaker()
            }
        },
        Output::Virtual => Speaker::virtual_speaker(),
        Output::Device => Speaker::open_device(&shared.player).unwrap_or_else(|e| {
            eprintln!(
                "twin: no sound out ({e}); the twin's voice plays on a virtual speaker (--speech DIR keeps it)"
            );
            Speaker::virtual_speaker()
        }),
    }
}

/// The loop's state between ticks.
struct VoiceLoop<'a> {
    shared: &'a Shared,
    tx: &'a UnboundedSender<FromLoop>,
    output: Output,
    speaker: Speaker,
    /// In a room from afar: this user's cleaned voice goes to the others.
    share_voice: bool,
    /// Makes this run's turn ids unique.
    stamp: u128,
    turns: u32,
    /// The last turn sent, while a revision of it may still come.
    last_turn: Option<String>,
    /// Ticks of silence after the input ended, to let the last words be finalized.
    after_end: Option<u32>,
    /// When each recent tick was captured (its first sample on the listener's clock): a turn's end of speech
    /// is then a moment, and the answer's latency is measured from it.
    captured: VecDeque<(u64, Instant)>,
    fed: u64,
    voice_seq: u64,
}

impl VoiceLoop<'_> {
    fn send(&self, m: FromLoop) -> bool {
        self.tx.send(m).is_ok()
    }

    /// The next 20 ms of input: a file once the twin has greeted (and is not speaking), a live source as it
    /// comes, silence on the wall clock once the input is over.
    fn next_chunk(&mut self, source: &mut Source) -> Result<Vec<f32>> {
        let chunk = match source {
            Source::File(f) => {
                if !f.done()
                    && self.shared.may_speak.load(Ordering::Relaxed)
                    && !lock(&self.shared.player).playing()
                {
                    f.start();
                }
                let chunk = f.next_chunk()?;
                if f.done() && self.after_end.is_none() {
                    self.after_end = Some(0);
                }
                chunk
            }
            Source::Live(c) if self.after_end.is_none() => match c.next_chunk()? {
                Some(chunk) => Some(chunk),
                None => {
                    self.after_end = Some(0);
                    None
                }
            },
            Source::Live(_) => None,
        };
        Ok(chunk.unwrap_or_else(|| {
            std::thread::sleep(Duration::from_millis(20));
            vec![0.0; TICK]
        }))
    }

    /// One tick: the speaker played, the chunk heard, its cues handled. False once the link side is gone.
    fn tick(&mut self, duplex: &mut Duplex, chunk: &[f32]) -> bool {
        if let Some(n) = self.after_end.as_mut() {
            *n += 1;
            // 1.5 s: the listener's end of utterance and a decode.
            if *n == 75 && !self.send(FromLoop::InputDone) {
                return false;
            }
        }
        self.captured.push_back((self.fed, Instant::now()));
        if self.captured.len() > 3_000 {
            self.captured.pop_front();
        }
        self.fed += TICK as u64;
        if self.speaker.tick(&self.shared.player) {
            self.speaker = open_speaker(&self.output, self.shared);
        }
        let (reference, playing) = {
            let mut p = lock(&self.shared.player);
            (p.reference(TICK), p.playing())
        };
        let cues = duplex.push(chunk, &reference, playing);
        if self.share_voice {
            self.share(duplex);
        }
        cues.into_iter().all(|cue| self.on_cue(cue))
    }

    /// A remote participant's voice for the others in the room, without the twin's echo in it.
    fn share(&mut self, duplex: &Duplex) {
        self.voice_seq += 1;
        let pcm: Vec<i16> = duplex
            .cleaned()
            .iter()
            .map(|&s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .collect();
        self.send(FromLoop::Send(ClientMessage::Voice {
            seq: self.voice_seq,
            sample_rate: 16_000,
            pcm16: twin_protocol::encode_pcm16(&pcm),
        }));
    }

    /// What a cue does to the player and says to the server; false once the link side is gone.
    fn on_cue(&mut self, cue: Cue) -> bool {
        let mut turn_id = None;
        let player = &self.shared.player;
        match &cue {
            Cue::Duck { .. } => lock(player).duck(),
            Cue::Unduck { .. } => lock(player).unduck(),
            Cue::BargeIn { .. } => {
                let heard = lock(player).fade_out();
                if let Some(reply_id) = self.shared.reply() {
                    self.send(FromLoop::Send(ClientMessage::Interrupted {
                        reply_id,
                        heard: Heard::Samples(heard),
                    }));
                }
            }
            Cue::Partial { text, .. } => {
                self.send(FromLoop::Send(ClientMessage::UserPartial {
                    text: text.clone(),
                }));
            }
            Cue::Turn {
                text,
                end_s,
                revises,
                ..
            } => {
                self.turns += 1;
                let id = format!("turn-{}-{}", self.stamp, self.turns);
                turn_id = Some((id.clone(), moment(&self.captured, *end_s)));
                // The turn before this one, ended too soon: this one says it all again.
                let revised = if *revises {
                    self.last_turn.take()
                } else {
                    None
                };
                self.last_turn = Some(id.clone());
                self.send(FromLoop::Send(ClientMessage::UserFinal {
                    turn_id: id,
                    text: text.clone(),
                    attachment: None,
                    revises: revised,
                }));
            }
            Cue::NotATurn { .. } => self.last_turn = None,
        }
        self.send(FromLoop::Cue(cue, turn_id))
    }
}

/// When the sample at `at_s` (the listener's clock) was captured.
fn moment(captured: &VecDeque<(u64, Instant)>, at_s: f64) -> Instant {
    let sample = (at_s * twin_listen::SAMPLE_RATE as f64).max(0.0) as u64;
    let (first, at) = captured
        .iter()
        .rev()
        .find(|(first, _)| *first <= sample)
        .or(captured.front())
        .copied()
        .unwrap_or((sample, Instant::now()));
    let ahead = sample.saturating_sub(first) as f64 / twin_listen::SAMPLE_RATE as f64;
    at + Duration::from_secs_f64(ahead)
}
