//! The conversation as a client with a face shows it (the headset, the desktop window): the engine's events folded, once a frame, into what the twin
//! is doing (listening, thinking, speaking), its mouth track on the playback clock, and the captions.

use crate::conversation::review::{Ask, Controls, Review};
use crate::conversation::room::{DELAY_MS, Presence, Room};
use crate::conversation::{Conversation, Event};
use std::time::Instant;
use twin_animate::{Mode, MouthTrack};
use twin_listen::Cue;
use twin_protocol::{ServerMessage, TwinState};

/// What the caption panel shows.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Captions {
    /// What the user is saying or last said.
    pub user: String,
    /// The twin's reply so far.
    pub twin: String,
    /// The sources the reply cites.
    pub citations: Vec<String>,
    /// Which button flags or shares ("A: flag · B: share"); empty where there are none.
    pub hint: String,
    /// A share's or flag's confirmation (or refusal), for a few seconds.
    pub notice: String,
}

/// What happened, for the run's report.
#[derive(Debug, Default, serde::Serialize)]
pub struct DialogueReport {
    pub session_id: Option<String>,
    /// The user's turns as heard.
    pub turns: Vec<String>,
    pub replies: Vec<ReplyReport>,
    /// Frames drawn while a reply was heard, and among them those with the mouth off its rest (a viseme
    /// other than silence): the lip-sync reaching the face.
    pub speaking_frames: u64,
    pub mouth_moving_frames: u64,
    pub reconnects: u32,
    /// Where the twin's voice went.
    pub speaker: String,
    /// From the end of the user's speech to the first audio of each answer.
    pub answer_audio_ms: Vec<f64>,
    /// In a room: who was there and what was seen of them.
    pub room: Option<RoomReport>,
    /// Shares and flags the server confirmed, in order.
    pub noted: Vec<twin_protocol::NotedKind>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct RoomReport {
    /// This client's participant id, and everyone's names when it left.
    pub me: Option<String>,
    pub people: Vec<String>,
    /// Others' poses received, and the most people shown at once.
    pub poses_received: u64,
    pub most_shown: usize,
    /// Poses this client sent.
    pub poses_sent: u64,
    /// Chunks of others' voices received (remote participants speak through the server).
    pub voice_chunks: u64,
    /// Frames in which the twin looked at someone else because it answered them.
    pub turned_to_others_frames: u64,
}

#[derive(Debug, serde::Serialize)]
pub struct ReplyReport {
    pub text: String,
    pub citations: Vec<String>,
    pub interrupted: bool,
}

/// The reply being heard: its lip-sync frames as they come, as a track.
struct Lips {
    reply_id: String,
    sample_rate: u32,
    frames: Vec<(u64, [f32; twin_lipsync::VISEME_COUNT])>,
    track: Option<MouthTrack>,
}

pub struct Dialogue {
    conversation: Conversation,
    state: TwinState,
    lips: Option<Lips>,
    pub captions: Captions,
    pub report: DialogueReport,
    /// Set once the conversation is over: `Err` with the reason when it failed.
    pub over: Option<Result<(), String>>,
    /// The room, when the conversation is in one.
    pub room: Room,
    /// Others' voices, relayed by the server, to play from where they are shown.
    pub voices: crate::voice::remote::RemoteVoices,
    in_room: bool,
    /// Sharing the conversation with the person, flagging replies.
    pub review: Review,
}

impl Dialogue {
    pub fn new(conversation: Conversation) -> Dialogue {
        Dialogue {
            conversation,
            state: TwinState::Listening,
            lips: None,
            captions: Captions::default(),
            report: DialogueReport::default(),
            over: None,
            room: Room::default(),
            voices: Default::default(),
            in_room: false,
            review: Review::default(),
        }
    }

    /// Which inputs the user has to flag and share (for the hint on the panel).
    pub fn set_controls(&mut self, controls: Controls) {
        self.review.set_controls(controls);
        self.captions.hint = self.review.hint();
    }

    /// The flag and share buttons' state this frame (down or not): a button going down flags the last
    /// reply or shares the conversation.
    pub fn press(&mut self, flag: bool, share: bool) {
        if let Some(message) = self.review.press(flag, share, Instant::now()) {
            self.conversation.send(message);
        }
        self.review_captions();
    }

    /// Flags the last reply, or shares the conversation (takes it back when shared).
    pub fn ask(&mut self, ask: Ask) {
        if let Some(message) = self.review.ask(ask, Instant::now()) {
            self.conversation.send(message);
        }
        self.review_captions();
    }

    fn review_captions(&mut self) {
        let now = Instant::now();
        let notice = self.review.notice(now).unwrap_or_default();
        if self.captions.notice != notice {
            self.captions.notice = notice.to_string();
        }
        let hint = self.review.hint();
        if self.captions.hint != hint {
            self.captions.hint = hint;
        }
    }

    /// The others in the room now, as shown ([`DELAY_MS`] in the past, interpolated), and where the head
    /// of the one the twin answers is (room frame) when that is not this client's user.
    pub fn others(&mut self) -> (Vec<Presence>, Option<glam::Vec3>) {
        let Some(now) = self.conversation.server_ms() else {
            return (Vec::new(), None);
        };
        let at = now.saturating_sub(DELAY_MS);
        let shown = self.room.presences(at);
        let answering = self.room.answering_head(&shown);
        let report = self.report.room.get_or_insert_with(RoomReport::default);
        report.most_shown = report.most_shown.max(shown.len());
        report.turned_to_others_frames += u64::from(answering.is_some());
        (shown, answering)
    }

    /// In a room: where the twin stands relative to the room's floor marks, for the others here.
    pub fn send_place(&mut self, spot: twin_protocol::SpotOnMarks) {
        if self.in_room {
            self.conversation
                .send(twin_protocol::ClientMessage::Place { spot });
        }
    }

    /// In a room, this user's head and hands (room frame) for the others.
    pub fn send_pose(
        &mut self,
        head: twin_protocol::Pose,
        left: Option<twin_protocol::Pose>,
        right: Option<twin_protocol::Pose>,
    ) {
        if self.in_room {
            self.conversation.send_pose(head, left, right);
            self.report
                .room
                .get_or_insert_with(RoomReport::default)
                .poses_sent += 1;
        }
    }

    /// Takes in what happened since the last frame.
    pub fn poll(&mut self) {
        while let Ok(event) = self.conversation.events().try_recv() {
            self.take(event);
        }
        self.review_captions();
    }

    fn take(&mut self, event: Event) {
        match event {
            Event::Server(message) => self.server(message),
            Event::Cue { cue, .. } => match cue {
                Cue::Partial { text, .. } => self.captions.user = text,
                Cue::Turn { text, .. } => {
                    self.captions.user = text.clone();
                    self.report.turns.push(text);
                }
                _ => {}
            },
            Event::AnswerAudio { after_speech_s, .. } => {
                self.report.answer_audio_ms.push(after_speech_s * 1000.0)
            }
            Event::LinkDown { reason } => {
                tracing::warn!("the server went away ({reason}); reconnecting");
            }
            Event::LinkUp { .. } => self.report.reconnects += 1,
            Event::PlaybackStarted { .. } => {}
            Event::Ended => self.over = Some(Ok(())),
            Event::Failed(reason) => self.over = Some(Err(reason)),
        }
    }

    fn server(&mut self, message: ServerMessage) {
        self.room.observe(&message);
        self.review.observe(&message, Instant::now());
        match &message {
            ServerMessage::Room { participants, .. } => {
                self.in_room = true;
                let present: Vec<String> = participants.iter().map(|p| p.id.clone()).collect();
                self.voices.forget(&present);
            }
            ServerMessage::Voice {
                participant,
                sample_rate,
                pcm16,
                ..
            } => self.voices.receive(participant, *sample_rate, pcm16),
            _ => {}
        }
        match message {
            ServerMessage::Welcome { session_id, .. } => self.report.session_id = Some(session_id),
            ServerMessage::Noted { noted, .. } => self.report.noted.push(noted),
            ServerMessage::State { state } => self.state = state,
            ServerMessage::ReplyStart { reply_id, .. } => {
                self.captions.twin.clear();
                self.captions.citations.clear();
                self.lips = Some(Lips {
                    reply_id,
                    sample_rate: 0,
                    frames: Vec::new(),
                    track: None,
                });
            }
            ServerMessage::ReplyDelta { text, .. } => self.captions.twin.push_str(&text),
            ServerMessage::Sentence { citations, .. } => {
                for c in citations {
                    if !self.captions.citations.contains(&c) {
                        self.captions.citations.push(c);
                    }
                }
            }
            ServerMessage::ReplyEnd {
                text,
                citations,
                interrupted,
                ..
            } => {
                self.captions.twin = text.clone();
                self.report.replies.push(ReplyReport {
                    text,
                    citations: citations.into_iter().map(|c| c.id).collect(),
                    interrupted,
                });
            }
            ServerMessage::Audio {
                reply_id,
                sample_rate,
                ..
            } => {
                if let Some(l) = self.lips.as_mut().filter(|l| l.reply_id == reply_id) {
                    l.sample_rate = sample_rate;
                    l.rebuild();
                }
            }
            ServerMessage::LipSync { reply_id, frames } => {
                if let Some(l) = self.lips.as_mut().filter(|l| l.reply_id == reply_id) {
                    l.frames.extend(frames.iter().filter_map(|f| {
                        Some((
                            f.sample,
                            <[f32; twin_lipsync::VISEME_COUNT]>::try_from(f.visemes.as_slice())
                                .ok()?,
                        ))
                    }));
                    l.rebuild();
                }
            }
            _ => {}
        }
    }

    /// What the twin is doing now and, while a reply is heard, its mouth track and where playback is.
    pub fn now(&self) -> (Mode, Option<(&MouthTrack, f64)>) {
        let playback = self.conversation.playback();
        let heard = self.lips.as_ref().and_then(|l| {
            let track = l.track.as_ref()?;
            (playback.playing && playback.reply_id.as_deref() == Some(l.reply_id.as_str()))
                .then_some((track, playback.seconds))
        });
        if let Some((track, seconds)) = heard {
            return (Mode::Speaking, Some((track, seconds)));
        }
        let mode = match self.state {
            TwinState::Listening => Mode::Listening,
            // Speaking on the server but nothing heard yet: still composing, for the user.
            TwinState::Thinking | TwinState::Speaking => Mode::Thinking,
        };
        (mode, None)
    }

    /// A frame was drawn: counted for the report.
    pub fn drawn(&mut self) {
        let moving = match self.now() {
            (_, Some((track, seconds))) => {
                Some(track.visemes_at(seconds)[twin_lipsync::Viseme::Sil as usize] < 0.5)
            }
            _ => None,
        };
        if let Some(moving) = moving {
            self.report.speaking_frames += 1;
            self.report.mouth_moving_frames += u64::from(moving);
        }
    }

    /// The state cue's words.
    pub fn cue(&self) -> &'static str {
        match self.now().0 {
            Mode::Speaking => "speaking",
            Mode::Thinking => "thinking",
            Mode::Listening | Mode::Idle => "listening",
        }
    }

    /// Ends the conversation; the report is then complete.
    pub fn finish(mut self) -> DialogueReport {
        self.conversation.stop();
        self.report.speaker = self.conversation.speaker();
        if self.in_room {
            let report = self.report.room.get_or_insert_with(RoomReport::default);
            report.me = self.room.me.clone();
            report.people = self.room.people.iter().map(|p| p.name.clone()).collect();
            report.poses_received = self.room.poses;
            report.voice_chunks = self.voices.chunks;
        }
        self.report
    }
}

impl Lips {
    fn rebuild(&mut self) {
        if self.sample_rate > 0 && !self.frames.is_empty() {
            self.track = MouthTrack::new(self.sample_rate, self.frames.clone()).ok();
        }
    }
}
