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
    let open_speaker = || {
        if let Output::Spatial(voice) = &output {
            let mut voice = lock(voice);
            match voice.play(&shared.player) {
                Ok(()) => return Speaker::External("the twin's mouth (kira spatial track)".into()),
                Err(e) => eprintln!(
                    "twin: no spatial voice ({e}); the twin's voice plays on a virtual speaker"
                ),
            }
            return Speaker::virtual_speaker();
        }
        if matches!(output, Output::Virtual) {
            return Speaker::virtual_speaker();
        }
        Speaker::open_device(&shared.player).unwrap_or_else(|e| {
            eprintln!(
                "twin: no sound out ({e}); the twin's voice plays on a virtual speaker (--speech DIR keeps it)"
            );
            Speaker::virtual_speaker()
        })
    };
    let mut speaker = open_speaker();
    *lock(&shared.speaker) = speaker.describe();
    let describe = match &source {
        Source::File(f) => f.describe(),
        Source::Live(c) => c.describe(),
    };
    tracing::info!(
        "listening to {describe}, the twin on {}",
        speaker.describe()
    );
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let mut turns = 0u32;
    // The last turn sent, while a revision of it may still come.
    let mut last_turn: Option<String> = None;
    // Ticks of silence after the input ended, to let the last words be finalized.
    let mut after_end: Option<u32> = None;
    // When each recent tick was captured (its first sample on the listener's clock): a turn's end of speech
    // is then a moment, and the answer's latency is measured from it.
    let mut captured: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut fed = 0u64;
    let mut voice_seq = 0u64;
    let send = |m: FromLoop| tx.send(m).is_ok();
    while !shared.stop.load(Ordering::Relaxed) {
        let chunk = match &mut source {
            Source::File(f) => {
                if !f.done()
                    && shared.may_speak.load(Ordering::Relaxed)
                    && !lock(&shared.player).playing()
                {
                    f.start();
                }
                let chunk = f.next_chunk()?;
                if f.done() && after_end.is_none() {
                    after_end = Some(0);
                }
                chunk
            }
            Source::Live(c) if after_end.is_none() => match c.next_chunk()? {
                Some(chunk) => Some(chunk),
                None => {
                    after_end = Some(0);
                    None
                }
            },
            Source::Live(_) => None,
        };
        let chunk = chunk.unwrap_or_else(|| {
            // The input is over: silence on the wall clock.
            std::thread::sleep(Duration::from_millis(20));
            vec![0.0; TICK]
        });
        if let Some(n) = after_end.as_mut() {
            *n += 1;
            // 1.5 s: the listener's end of utterance and a decode.
            if *n == 75 && !send(FromLoop::InputDone) {
                break;
            }
        }
        captured.push_back((fed, Instant::now()));
        if captured.len() > 3_000 {
            captured.pop_front();
        }
        fed += TICK as u64;
        if speaker.tick(&shared.player) {
            speaker = open_speaker();
        }
        let (reference, playing) = {
            let mut p = lock(&shared.player);
            (p.reference(TICK), p.playing())
        };
        let cues = duplex.push(&chunk, &reference, playing);
        if share_voice {
            // A remote participant's voice for the others in the room, without the twin's echo in it.
            voice_seq += 1;
            let pcm: Vec<i16> = duplex
                .cleaned()
                .iter()
                .map(|&s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
                .collect();
            send(FromLoop::Send(ClientMessage::Voice {
                seq: voice_seq,
                sample_rate: 16_000,
                pcm16: twin_protocol::encode_pcm16(&pcm),
            }));
        }
        for cue in cues {
            let mut turn_id = None;
            match &cue {
                Cue::Duck { .. } => lock(&shared.player).duck(),
                Cue::Unduck { .. } => lock(&shared.player).unduck(),
                Cue::BargeIn { .. } => {
                    let heard = lock(&shared.player).fade_out();
                    if let Some(reply_id) = shared.reply() {
                        send(FromLoop::Send(ClientMessage::Interrupted {
                            reply_id,
                            heard: Heard::Samples(heard),
                        }));
                    }
                }
                Cue::Partial { text, .. } => {
                    send(FromLoop::Send(ClientMessage::UserPartial {
                        text: text.clone(),
                    }));
                }
                Cue::Turn {
                    text,
                    end_s,
                    revises,
                    ..
                } => {
                    turns += 1;
                    let id = format!("turn-{stamp}-{turns}");
                    turn_id = Some((id.clone(), moment(&captured, *end_s)));
                    // The turn before this one, ended too soon: this one says it all again.
                    let revised = if *revises { last_turn.take() } else { None };
                    last_turn = Some(id.clone());
                    send(FromLoop::Send(ClientMessage::UserFinal {
                        turn_id: id,
                        text: text.clone(),
                        attachment: None,
                        revises: revised,
                    }));
                }
                Cue::NotATurn { .. } => last_turn = None,
            }
            if !send(FromLoop::Cue(cue, turn_id)) {
                return Ok(());
            }
        }
    }
    Ok(())
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
