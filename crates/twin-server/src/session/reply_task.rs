//! The task that makes one reply: generates it (or says the opening disclosure), sends it as it comes, with
//! its speech where the client asked for it, and stores it whole before it ends it.

use super::SaidTurn;
use super::replies::listening;
use crate::app::AppState;
use crate::persona::Persona;
use crate::reply::{Replier, ReplyError, ReplyOutcome, Sent, Turn};
use crate::speaking::{SpeechControl, SpeechFeed, SpeechOptions};
use crate::store::{ReplyRecord, Store};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use twin_protocol::{AudioRequest, ErrorCode, HistoryTurn, ReplyKind, ServerMessage};

/// The twin's voice for a reply, what the client asked of it, and the reply's hold on its speech.
pub(super) type Speech = (
    (Arc<dyn twin_voice::Synthesizer>, AudioRequest),
    SpeechControl,
);

/// Everything a reply task needs, owned.
pub(super) struct ReplyJob {
    pub(super) state: Arc<AppState>,
    pub(super) persona: Arc<Persona>,
    pub(super) out: mpsc::Sender<ServerMessage>,
    pub(super) reply_id: String,
    pub(super) sent: Arc<Mutex<Sent>>,
    pub(super) session_id: String,
    /// Who asked (a room's participant), for the model.
    pub(super) speaker: Option<String>,
    /// Told once the complete reply is stored (by the store write itself, which outlives an aborted task).
    pub(super) stored: Arc<tokio::sync::watch::Sender<bool>>,
}

impl ReplyJob {
    /// Runs the reply, and its speech, in a task of its own; the client is told the twin listens again after.
    pub(super) fn spawn(
        self,
        turn: Option<SaidTurn>,
        history: Option<Vec<HistoryTurn>>,
        speech: Option<Speech>,
        turn_started: Option<Instant>,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let speech = speech.map(|((voice, request), control)| {
                crate::speaking::start(
                    self.state.metrics.clone(),
                    voice,
                    self.out.clone(),
                    self.reply_id.clone(),
                    control,
                    SpeechOptions {
                        lipsync: request.lipsync,
                        lead: Duration::from_millis(self.state.config.tts.lead_ms.into()),
                        turn_started,
                    },
                )
            });
            let (feed, speaking) = speech.unzip();
            let listen = self.run(turn, history, feed.as_ref()).await;
            // No more sentences: the speech ends once the last one is out.
            drop(feed);
            if let Some(speaking) = speaking {
                speaking.finish().await;
            }
            if listen {
                listening(&self.out).await;
            }
        })
    }

    /// Generates, sends and stores the reply. Returns whether the client should be told the twin listens again
    /// (not when the client is gone).
    async fn run(
        &self,
        turn: Option<SaidTurn>,
        history: Option<Vec<HistoryTurn>>,
        speech: Option<&SpeechFeed>,
    ) -> bool {
        let (state, persona) = (&self.state, &self.persona);
        let replier = Replier {
            speech,
            speaker: self.speaker.as_deref(),
            ..Replier::configured(state, persona, &self.out, &self.reply_id, &self.sent)
        };
        let result = match &turn {
            Some(said) => {
                let asked = Turn {
                    text: &said.text,
                    attachment: said.attachment.as_ref(),
                    history: history.as_deref().unwrap_or(&[]),
                };
                replier.answer(Some(said.id.clone()), asked).await
            }
            None => {
                let recorded = self
                    .session_id
                    .strip_prefix("room:")
                    .is_some_and(|room| state.config.rooms.records(room));
                let text = persona.opening_text(recorded);
                replier.fixed(None, ReplyKind::Disclosure, &text).await
            }
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(ReplyError::ClientGone) => return false,
            Err(e) => match self.failed(e).await {
                Ok(outcome) => outcome,
                Err(listen) => return listen,
            },
        };
        {
            let mut s = crate::sync::lock(&self.sent);
            if s.finalized {
                return false; // An interruption got there first and stored what was heard.
            }
            s.finalized = true;
        }
        self.store(outcome).await;
        true
    }

    /// The reply failed: the client is told so, and keeps whatever it was already sent (the reply as far as
    /// it got, to store; a reply that never started is not a turn). `Err` when there is nothing to store, with
    /// whether the client should be told the twin listens again.
    async fn failed(&self, e: ReplyError) -> Result<ReplyOutcome, bool> {
        tracing::warn!(error = %e, "reply failed");
        self.state.metrics.error("llm_unavailable");
        let _ = self
            .out
            .send(ServerMessage::error(
                ErrorCode::LlmUnavailable,
                "the twin cannot answer right now; try again in a moment",
            ))
            .await;
        let s = crate::sync::lock(&self.sent).clone();
        match s.kind {
            Some(_) if s.sentences.is_empty() => {
                // Started but nothing was said: close the reply, store no empty turn.
                self.finalize();
                let _ = self
                    .out
                    .send(ServerMessage::ReplyEnd {
                        reply_id: self.reply_id.clone(),
                        text: String::new(),
                        citations: vec![],
                        interrupted: false,
                        sentences: vec![],
                    })
                    .await;
                Err(true)
            }
            Some(kind) => Ok(s.outcome(kind, &self.persona)),
            None => {
                self.finalize();
                Err(true)
            }
        }
    }

    fn finalize(&self) {
        crate::sync::lock(&self.sent).finalized = true;
    }

    /// Stores the complete reply, then ends it for the client.
    async fn store(&self, outcome: ReplyOutcome) {
        let ids: Vec<String> = outcome.citations.iter().map(|c| c.id.clone()).collect();
        let (text, kind_out) = (outcome.text.clone(), outcome.kind);
        let sentences = outcome.sentences.clone();
        let audit = crate::sync::lock(&self.sent).audit(&self.persona);
        let (rid, sid) = (self.reply_id.clone(), self.session_id.clone());
        let told = self.stored.clone();
        let stored = self
            .state
            .store
            .run(move |c| {
                let record = ReplyRecord {
                    reply_id: &rid,
                    kind: kind_out,
                    text: &text,
                    citations: &ids,
                    sentences: &sentences,
                    interrupted: false,
                    audit: &audit,
                };
                let seq = Store::add_reply(c, &sid, &record)?;
                let _ = told.send(true);
                Ok(seq)
            })
            .await;
        if let Err(e) = stored {
            tracing::error!(error = %e, "storing a reply failed");
            let _ = self
                .out
                .send(ServerMessage::error(
                    ErrorCode::Internal,
                    "the reply could not be stored",
                ))
                .await;
            return;
        }
        self.state.metrics.reply(outcome.kind.as_str());
        let _ = self
            .out
            .send(ServerMessage::ReplyEnd {
                reply_id: self.reply_id.clone(),
                text: outcome.text,
                citations: outcome.citations,
                interrupted: false,
                sentences: outcome.sentences,
            })
            .await;
    }
}
