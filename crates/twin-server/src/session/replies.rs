//! The reply in flight: starting it (with the twin's voice, where the client asked for speech), and cutting
//! it off when the client interrupts, talks over the twin or leaves, storing what was heard of it.

use super::reply_task::ReplyJob;
use super::{ActiveReply, SaidTurn, Session};
use crate::reply::Sent;
use crate::speaking::SpeechControl;
use crate::store::{ReplyRecord, Store};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use twin_protocol::{
    AudioRequest, ErrorCode, Heard, HistoryTurn, ReplyKind, ServerMessage, TwinState,
};

/// How long an interruption waits for a complete reply to be stored.
const FINISH_STORING: Duration = Duration::from_secs(5);

impl Session {
    /// Starts a reply task: to a user turn, or the opening disclosure when `turn` is `None`.
    pub(crate) async fn start_reply(
        &mut self,
        turn: Option<SaidTurn>,
        history: Option<Vec<HistoryTurn>>,
        turn_started: Option<Instant>,
        speaker: Option<String>,
        answers: Vec<u64>,
    ) {
        // The persona as it stands now: a correction made in review counts from the next reply on.
        if let Some(now) = self.state.persona(Some(self.persona.id())) {
            self.persona = now;
        }
        // Unique across reconnects, so a stored reply id names one reply.
        let reply_id = format!("r-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let sent = Arc::new(Mutex::new(Sent {
            started: Some(turn_started.unwrap_or_else(Instant::now)),
            answers,
            ..Sent::default()
        }));
        let kind = if turn.is_some() {
            ReplyKind::Grounded
        } else {
            ReplyKind::Disclosure
        };
        let turn_id_of_reply = turn.as_ref().map(|t| t.id.clone());
        if turn.is_some() {
            let _ = self
                .out
                .send(ServerMessage::State {
                    state: TwinState::Thinking,
                })
                .await;
        }
        let voice = self.voice().await;
        let control = voice.as_ref().map(|_| SpeechControl::default());
        let (stored_tx, stored) = tokio::sync::watch::channel(false);
        let job = ReplyJob {
            stored: Arc::new(stored_tx),
            state: self.state.clone(),
            persona: self.persona.clone(),
            out: self.out.clone(),
            reply_id: reply_id.clone(),
            sent: sent.clone(),
            session_id: self.id.clone(),
            speaker,
        };
        let speech = voice.zip(control.clone());
        let task = job.spawn(turn, history, speech, turn_started);
        self.active = Some(ActiveReply {
            id: reply_id,
            turn_id: turn_id_of_reply,
            task,
            sent,
            kind,
            speech: control,
            stored,
        });
    }

    /// The twin's voice, where the client asked for speech; the client is told if it did not load (the
    /// reply goes on as text).
    async fn voice(&self) -> Option<(Arc<dyn twin_voice::Synthesizer>, AudioRequest)> {
        let request = self.audio?;
        // Loaded once per persona (the first reply of the first voice session waits for it).
        let loaded = crate::voices::voice_of(
            &self.state.voices,
            &self.state.config,
            &self.persona.pack.meta,
        )
        .await;
        match loaded {
            Ok(voice) => Some((voice, request)),
            Err(e) => {
                tracing::warn!(error = %e, "the twin's voice did not load");
                self.error(
                    ErrorCode::VoiceUnavailable,
                    "the twin's voice is unavailable; replies go on as text",
                )
                .await;
                None
            }
        }
    }

    pub(crate) async fn interrupted(&mut self, reply_id: &str, heard: Heard) {
        let active = self.active.take_if(|a| a.id == reply_id);
        match (heard, active) {
            (Heard::Chars(chars), Some(active)) => self.cut_reply(active, Some(chars)).await,
            // An earlier reply, complete and stored: cut the stored turn to what was heard.
            (Heard::Chars(chars), None) => self.truncate_stored(reply_id, chars).await,
            (Heard::Samples(n), Some(active)) => {
                let Some(speech) = active.speech.clone() else {
                    self.active = Some(active);
                    self.error(
                        ErrorCode::BadMessage,
                        "this reply has no audio: report heard chars",
                    )
                    .await;
                    return;
                };
                let chars = speech.heard(n).chars().count();
                self.cut_reply(active, Some(chars)).await;
            }
            // Samples count on a reply's speech, which only the session's current reply still has.
            (Heard::Samples(_), None) => {
                let message = if self.audio.is_none() {
                    "this session asked for no audio: report heard chars".to_string()
                } else {
                    format!("reply {reply_id:?} is not the one speaking now")
                };
                self.error(ErrorCode::UnknownReply, &message).await;
            }
        }
    }

    /// Cuts a stored reply to its first `chars` characters and tells the client what now stands.
    async fn truncate_stored(&self, reply_id: &str, chars: usize) {
        let (sid, rid) = (self.id.clone(), reply_id.to_string());
        match self
            .state
            .store
            .run(move |c| Store::truncate_reply(c, &sid, &rid, chars))
            .await
        {
            Ok(Some(heard)) => {
                let _ = self
                    .out
                    .send(ServerMessage::ReplyEnd {
                        reply_id: reply_id.to_string(),
                        text: heard.text,
                        citations: vec![],
                        interrupted: true,
                        sentences: heard.sentences,
                    })
                    .await;
            }
            Ok(None) => {
                self.error(
                    ErrorCode::UnknownReply,
                    &format!("no reply {reply_id:?} in this session"),
                )
                .await
            }
            Err(e) => {
                tracing::error!(error = %e, "storing an interruption failed");
                self.error(ErrorCode::Internal, "the interruption could not be stored")
                    .await;
            }
        }
    }

    /// Stops a reply (its text and its speech) and stores what the client heard of it: the first `heard_chars`
    /// characters, or with `None`, all it was sent (for a spoken reply, the text of the audio it was sent).
    pub(super) async fn cut_reply(&mut self, active: ActiveReply, heard_chars: Option<usize>) {
        let speech_done = active.speech.as_ref().is_none_or(SpeechControl::finished);
        let heard_chars = heard_chars.or_else(|| {
            active
                .speech
                .as_ref()
                .filter(|_| !speech_done)
                .map(|s| s.heard(s.sent_samples()).chars().count())
        });
        if let Some(speech) = &active.speech {
            speech.stop();
        }
        let sent = {
            let mut s = crate::sync::lock(&active.sent);
            let already = s.finalized;
            s.finalized = true;
            (!already).then(|| s.clone())
        };
        let Some(sent) = sent else {
            // The text was complete, and may still be on its way into the store: the turn is cut to what
            // was heard once it is there (the write goes on without the task, and says when it is done).
            let listening_pending = !active.task.is_finished();
            active.task.abort();
            let mut stored = active.stored.clone();
            let _ = tokio::time::timeout(FINISH_STORING, stored.wait_for(|s| *s)).await;
            if let Some(chars) = heard_chars {
                self.truncate_stored(&active.id, chars).await;
            }
            if listening_pending {
                listening(&self.out).await;
            }
            return;
        };
        active.task.abort();
        let heard: String = match heard_chars {
            Some(n) => sent.text().chars().take(n).collect(),
            None => sent.text(),
        };
        let kind = sent.kind.unwrap_or(active.kind);
        let heard_sentences = crate::store::sentences_heard(&sent.sentences, heard.chars().count());
        let (rid, sid, text) = (active.id.clone(), self.id.clone(), heard.clone());
        let ids: Vec<String> = sent.citations();
        let (citations, sentences) = (ids.clone(), heard_sentences.clone());
        let audit = sent.audit(&self.persona);
        let stored = self
            .state
            .store
            .run(move |c| {
                let record = ReplyRecord {
                    reply_id: &rid,
                    kind,
                    text: &text,
                    citations: &citations,
                    sentences: &sentences,
                    interrupted: true,
                    audit: &audit,
                };
                Store::add_reply(c, &sid, &record)
            })
            .await;
        if let Err(e) = stored {
            tracing::error!(error = %e, "storing an interrupted reply failed");
        }
        let citations = ids
            .iter()
            .filter_map(|id| self.persona.citation(id))
            .collect();
        let _ = self
            .out
            .send(ServerMessage::ReplyEnd {
                reply_id: active.id,
                text: heard,
                citations,
                interrupted: true,
                sentences: heard_sentences,
            })
            .await;
        listening(&self.out).await;
    }
}

/// Tells the client the twin is listening again (after every reply, however it ended).
pub(super) async fn listening(out: &mpsc::Sender<ServerMessage>) {
    let _ = out
        .send(ServerMessage::State {
            state: TwinState::Listening,
        })
        .await;
}
