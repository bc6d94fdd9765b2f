//! A spoken conversation with the twin, for any client that has a voice (`twin talk`, the headset app): the
//! voice loop on its own thread (capture → echo canceller → listener → barge-in; the player feeding the
//! speaker) and the link on another (turns to the server, the twin's replies back, reconnecting by itself).
//! The client reads [`Event`]s and the playback clock; it draws, prints or both.

pub mod dialogue;
mod link_loop;
pub mod live;
pub mod review;
pub mod room;
mod unanswered;
mod voice_loop;

use crate::sync::lock;
use crate::voice::capture::{Capture, FileCapture};
use crate::voice::speaker::SharedPlayer;
use anyhow::Result;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use twin_listen::player::Player;
use twin_listen::{Cue, Duplex};
use twin_protocol::{ClientMessage, ServerMessage};

/// Where the user's voice comes from.
pub enum Source {
    /// A recording, said once the twin has finished greeting (and any reply is over).
    File(FileCapture),
    /// A microphone or a stream: heard as it comes.
    Live(Box<dyn Capture + Send>),
}

/// Where the twin's voice goes.
pub enum Output {
    /// The default sound device, falling back to a virtual speaker where there is none.
    Device,
    /// A virtual speaker on the loop's clock (silent).
    Virtual,
    /// The twin's mouth in the room (the headset), through kira; the client moves it and the listener.
    Spatial(std::sync::Arc<Mutex<crate::voice::spatial::SpatialVoice>>),
}

pub struct Options {
    /// The server, the token (required), the persona, the session to resume or the room to join.
    pub target: crate::link::Target,
    /// Named in the hello ("twin-talk/0.1.0").
    pub client: String,
    pub source: Source,
    pub duplex: Duplex,
    pub output: Output,
    /// End after this long; with a file the conversation ends once the file's turns are answered.
    pub seconds: Option<f64>,
    /// How long to keep trying to reach a server that went away before giving up.
    pub reconnect_for: Duration,
}

/// What happens in the conversation, in order.
#[derive(Debug, Clone)]
pub enum Event {
    /// A server event (speech included: `Audio` and `LipSync` frames are here too).
    Server(ServerMessage),
    /// The listener's cue; a turn comes with the id it was sent under.
    Cue { cue: Cue, turn_id: Option<String> },
    /// The first audio of the answer to `turn_id` arrived this long after the user stopped speaking.
    AnswerAudio {
        turn_id: String,
        after_speech_s: f64,
    },
    /// The speaker began playing a reply, at `server_ms` on the server's clock where it is known (a
    /// room's shared timeline: the same moment on every client, give or take the clock estimate).
    PlaybackStarted {
        reply_id: String,
        server_ms: Option<u64>,
        /// The same moment on this machine's clock (Unix ms): on one machine, the truth to compare.
        wall_ms: u64,
    },
    /// The server went away; the link tries again (turns said meanwhile are kept and sent).
    LinkDown { reason: String },
    /// Back on the same session after [`Event::LinkDown`]; unanswered turns were sent again.
    LinkUp { session_id: String, resumed: bool },
    /// The conversation is over: a file's turns are answered, time is up, or [`Conversation::stop`].
    Ended,
    /// It stopped on an error (the server refused the session, the microphone failed, the server stayed away).
    Failed(String),
}

/// What both loops see.
struct Shared {
    player: SharedPlayer,
    /// The reply now being heard, for barge-in reports.
    reply: Mutex<Option<String>>,
    /// The twin has greeted: a file may start.
    may_speak: AtomicBool,
    stop: AtomicBool,
    /// Where the twin's voice goes, as the voice loop opened it.
    speaker: Mutex<String>,
    /// The server's clock as estimated by the link (a room's shared timeline, others' poses).
    clock: Mutex<crate::link::clock::ServerClock>,
    /// This client's own messages for the server (its user's pose in a room).
    outbox: tokio::sync::mpsc::UnboundedSender<voice_loop::FromLoop>,
    pose_seq: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn reply(&self) -> Option<String> {
        lock(&self.reply).clone()
    }
}

pub struct Conversation {
    shared: Arc<Shared>,
    events: mpsc::Receiver<Event>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Where playback of the current reply is.
#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    pub reply_id: Option<String>,
    /// Seconds of the reply the speaker has played: the lip-sync's clock.
    pub seconds: f64,
    /// Whether something is still to be heard.
    pub playing: bool,
}

impl Conversation {
    pub fn start(options: Options) -> Result<Conversation> {
        if options.target.token.is_none() {
            return Err(crate::link::LinkError::NoToken.into());
        }
        let (to_link, from_voice) = tokio::sync::mpsc::unbounded_channel();
        // Piper's rate until a reply says otherwise.
        let shared = Arc::new(Shared {
            clock: Mutex::default(),
            outbox: to_link.clone(),
            pose_seq: std::sync::atomic::AtomicU64::new(0),
            player: Arc::new(Mutex::new(Player::new(22_050))),
            reply: Mutex::new(None),
            may_speak: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            speaker: Mutex::new(String::new()),
        });
        let (events, rx) = mpsc::channel();
        let Options {
            target,
            client,
            source,
            duplex,
            output,
            seconds,
            reconnect_for,
        } = options;
        // Someone in a room from afar lets the others hear them.
        let share_voice = target.remote && target.room.is_some();
        let voice = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("voice-loop".into())
                .spawn(move || {
                    // The link loop ends the conversation with it.
                    if let Err(e) =
                        voice_loop::run(source, duplex, output, &shared, &to_link, share_voice)
                    {
                        let _ = to_link.send(voice_loop::FromLoop::Failed(format!("{e:#}")));
                    }
                })?
        };
        let link = {
            let shared = Arc::clone(&shared);
            let settings = link_loop::Settings {
                target,
                client,
                seconds,
                reconnect_for,
            };
            std::thread::Builder::new()
                .name("link".into())
                .spawn(move || {
                    let ended = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => {
                            rt.block_on(link_loop::run(&settings, &shared, from_voice, &events))
                        }
                        Err(e) => Err(e.into()),
                    };
                    shared.stop.store(true, Ordering::Relaxed);
                    let _ = events.send(match ended {
                        Ok(()) => Event::Ended,
                        Err(e) => Event::Failed(format!("{e:#}")),
                    });
                })?
        };
        Ok(Conversation {
            shared,
            events: rx,
            threads: vec![voice, link],
        })
    }

    /// The conversation's events; the last one is [`Event::Ended`] or [`Event::Failed`].
    pub fn events(&self) -> &mpsc::Receiver<Event> {
        &self.events
    }

    pub fn playback(&self) -> Playback {
        let p = lock(&self.shared.player);
        Playback {
            reply_id: self.shared.reply(),
            seconds: p.heard() as f64 / p.rate().max(1) as f64,
            playing: p.playing(),
        }
    }

    /// Where the twin's voice goes ("the twin's mouth (kira spatial track)", "virtual speaker …").
    pub fn speaker(&self) -> String {
        lock(&self.shared.speaker).clone()
    }

    /// Now on the server's clock, once the link has estimated it.
    pub fn server_ms(&self) -> Option<u64> {
        lock(&self.shared.clock).server_ms(std::time::Instant::now())
    }

    /// In a room: where this user's head and hands are, in the room's frame (sent as it is called: call it
    /// every frame or at 30 Hz at least). Dropped while the link is down.
    pub fn send_pose(
        &self,
        head: twin_protocol::Pose,
        left: Option<twin_protocol::Pose>,
        right: Option<twin_protocol::Pose>,
    ) {
        let seq = self.shared.pose_seq.fetch_add(1, Ordering::Relaxed) + 1;
        self.send(ClientMessage::Pose {
            seq,
            head,
            left,
            right,
        });
    }

    /// A message of the client's own for the server (a room's `place`, …), sent in order with the
    /// conversation's; dropped while the link is down.
    pub fn send(&self, message: ClientMessage) {
        let _ = self.shared.outbox.send(voice_loop::FromLoop::Send(message));
    }

    /// Ends the conversation (the link says goodbye).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Conversation {
    fn drop(&mut self) {
        self.stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
