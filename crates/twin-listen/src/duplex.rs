//! Listening while the twin speaks: echo cancellation, then the listener, then barge-in.
//!
//! The app feeds the microphone together with what its speaker played over the same samples, and whether a
//! reply is playing. It gets back cues: user turns to send, and what to do with the playback (duck it when
//! the user starts to speak, stop it when they take the turn, bring it back when it was only a cough or a
//! "mhm").

use crate::barge::{BargeInRules, Reading, spoken_words};
use crate::echo::{EchoCanceller, EchoConfig};
use crate::listener::{Event, Listen};

#[derive(Debug, Clone)]
pub struct DuplexConfig {
    pub echo: EchoConfig,
    pub rules: BargeInRules,
    /// Whether the user may cut the twin off; when off, what they say during a reply becomes a turn once the
    /// reply has finished.
    pub barge_in: bool,
    /// Partials while a reply plays come this often, so a barge-in is read soon.
    pub partial_every_playing_s: f32,
    pub partial_every_s: f32,
}

impl Default for DuplexConfig {
    fn default() -> Self {
        DuplexConfig {
            echo: EchoConfig::default(),
            rules: BargeInRules::default(),
            barge_in: true,
            partial_every_playing_s: 0.3,
            partial_every_s: 0.7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "cue", rename_all = "snake_case")]
pub enum Cue {
    /// The user is saying this so far.
    Partial { text: String, at_s: f64 },
    /// A finished user turn; `revises`: it says the previous turn again whole (that one ended too soon, the
    /// speaker went on).
    Turn {
        text: String,
        start_s: f64,
        end_s: f64,
        ready_s: f64,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        revises: bool,
    },
    /// Speech began during a reply: lower the twin's voice while it is read.
    Duck { at_s: f64 },
    /// It was not a turn: back to full volume.
    Unduck { at_s: f64 },
    /// The user takes the turn: fade the reply out now.
    BargeIn { at_s: f64, text: String },
    /// Speech that is not a turn (a backchannel, or sounds without words).
    NotATurn { text: String, at_s: f64 },
}

struct Utterance {
    heard_at_s: f64,
    during_reply: bool,
    ducked: bool,
    barged: bool,
    /// Partials in a row that read as taking the turn.
    taking: usize,
}

pub struct Duplex {
    config: DuplexConfig,
    canceller: EchoCanceller,
    listener: Box<dyn Listen>,
    utterance: Option<Utterance>,
    /// Turns said during a reply with barge-in off: sent when the reply has finished.
    held: Vec<Cue>,
    /// The last push's microphone with the twin's echo taken out.
    cleaned: Vec<f32>,
}

/// The VAD is sure of speech this long after it began.
const VAD_DELAY_S: f64 = 0.2;

impl Duplex {
    pub fn new(listener: Box<dyn Listen>, config: DuplexConfig) -> Duplex {
        Duplex {
            canceller: EchoCanceller::new(&config.echo),
            listener,
            config,
            utterance: None,
            held: Vec::new(),
            cleaned: Vec::new(),
        }
    }

    pub fn set_barge_in(&mut self, on: bool) {
        self.config.barge_in = on;
    }

    pub fn echo_converged(&self) -> bool {
        self.canceller.converged()
    }

    /// `mic` and `reference` (what the speaker played) cover the same samples; `playing`: a reply is being
    /// played.
    pub fn push(&mut self, mic: &[f32], reference: &[f32], playing: bool) -> Vec<Cue> {
        self.cleaned = self.canceller.process(mic, reference);
        let cleaned = &self.cleaned;
        self.listener.set_partial_every(if playing {
            self.config.partial_every_playing_s
        } else {
            self.config.partial_every_s
        });
        let mut cues = Vec::new();
        if !playing {
            cues.append(&mut self.held);
        }
        for event in self.listener.push(cleaned) {
            self.on_event(event, playing, &mut cues);
        }
        cues
    }

    /// The last [`Self::push`]'s microphone with the twin's voice taken out (what a room's others may hear).
    pub fn cleaned(&self) -> &[f32] {
        &self.cleaned
    }

    /// The input has ended: the open utterance (if any) is read as it stands.
    pub fn finish(&mut self) -> Vec<Cue> {
        let mut cues = std::mem::take(&mut self.held);
        for event in self.listener.finish() {
            self.on_event(event, false, &mut cues);
        }
        cues
    }

    fn on_event(&mut self, event: Event, playing: bool, cues: &mut Vec<Cue>) {
        let barge_in = self.config.barge_in;
        match event {
            Event::SpeechStart { at_s } => {
                let during_reply = playing;
                let ducked = during_reply && barge_in;
                if ducked {
                    cues.push(Cue::Duck { at_s });
                }
                self.utterance = Some(Utterance {
                    heard_at_s: at_s,
                    during_reply,
                    ducked,
                    barged: false,
                    taking: 0,
                });
            }
            Event::Partial { text, at_s } => {
                let Some(u) = self.utterance.as_mut() else {
                    cues.push(Cue::Partial { text, at_s });
                    return;
                };
                if !u.during_reply || u.barged {
                    cues.push(Cue::Partial { text, at_s });
                    return;
                }
                let speech_s = at_s - u.heard_at_s + VAD_DELAY_S;
                // Early partials of short sounds can be made-up words ("Have I come?" for a hum): a stop
                // word decides at once, other words must hold over two partials while the speech goes on.
                u.taking = match self.config.rules.read(&text, speech_s) {
                    Reading::Stops => 2,
                    Reading::TakesTurn => u.taking + 1,
                    _ => 0,
                };
                if barge_in && u.taking >= 2 {
                    u.barged = true;
                    cues.push(Cue::BargeIn {
                        at_s,
                        text: text.clone(),
                    });
                    cues.push(Cue::Partial { text, at_s });
                }
            }
            Event::Final {
                text,
                start_s,
                end_s,
                ready_s,
                revises,
                ..
            } => {
                let u = self.utterance.take();
                let turn = Cue::Turn {
                    text: text.clone(),
                    start_s,
                    end_s,
                    ready_s,
                    revises,
                };
                let Some(u) = u.filter(|u| u.during_reply) else {
                    if spoken_words(&text).is_empty() {
                        cues.push(Cue::NotATurn {
                            text,
                            at_s: ready_s,
                        });
                    } else {
                        cues.push(turn);
                    }
                    return;
                };
                if u.barged {
                    cues.push(turn);
                    return;
                }
                match self.config.rules.read(&text, end_s - start_s) {
                    Reading::TakesTurn | Reading::Stops if barge_in => {
                        cues.push(Cue::BargeIn {
                            at_s: ready_s,
                            text,
                        });
                        cues.push(turn);
                    }
                    Reading::TakesTurn | Reading::Stops if playing => self.held.push(turn),
                    Reading::TakesTurn | Reading::Stops => cues.push(turn),
                    Reading::Backchannel | Reading::NoWords => {
                        if u.ducked {
                            cues.push(Cue::Unduck { at_s: ready_s });
                        }
                        cues.push(Cue::NotATurn {
                            text,
                            at_s: ready_s,
                        });
                    }
                }
            }
        }
    }
}
