//! One twin reply: classify the turn, retrieve passages, generate, check every sentence, cite.
//!
//! Text leaves a sentence at a time, after its guardrail check, so nothing unchecked ever reaches a client or
//! the speech synthesizer.

use crate::guardrails::{self, Intent, Verdict};
use crate::metrics::Metrics;
use crate::persona::Persona;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;
use twin_llm::sentence::SentenceSplitter;
use twin_llm::{GenerateRequest, LlmBackend, LlmError, Message, Role, StreamEvent};
use twin_protocol::{Citation, HistoryTurn, ReplyKind, ServerMessage, Speaker, TwinState};

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("retrieval failed: {0}")]
    Retrieval(String),
    #[error("the client went away")]
    ClientGone,
}

/// What has been sent of a reply so far, shared with the session so an interruption can store what was heard.
#[derive(Debug, Default, Clone)]
pub struct Sent {
    pub text: String,
    pub citations: Vec<String>,
    /// Set when the reply starts.
    pub kind: Option<ReplyKind>,
    /// Stored already (completed, or cut short by an interruption): nothing more may be stored for it.
    pub finalized: bool,
}

pub struct ReplyOutcome {
    pub kind: ReplyKind,
    pub text: String,
    pub citations: Vec<Citation>,
}

pub struct Replier<'a> {
    pub persona: &'a Persona,
    pub llm: &'a dyn LlmBackend,
    pub metrics: &'a Metrics,
    pub out: &'a mpsc::Sender<ServerMessage>,
    pub reply_id: &'a str,
    pub sent: &'a Arc<Mutex<Sent>>,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Earlier turns the model sees (each costs prompt evaluation time).
    pub history_turns: usize,
    /// Sentences of the retrieved passages given to the model as context.
    pub context_sentences: usize,
    /// Where checked sentences go to be spoken (voice clients).
    pub speech: Option<&'a crate::speaking::SpeechFeed>,
    /// In a room: the name of the person asking, so the twin knows who it answers.
    pub speaker: Option<&'a str>,
}

impl Replier<'_> {
    async fn send(&self, message: ServerMessage) -> Result<(), ReplyError> {
        self.out
            .send(message)
            .await
            .map_err(|_| ReplyError::ClientGone)
    }

    async fn start(&self, turn_id: Option<String>, kind: ReplyKind) -> Result<(), ReplyError> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).kind = Some(kind);
        self.send(ServerMessage::ReplyStart {
            reply_id: self.reply_id.to_string(),
            turn_id,
            kind,
            to: None,
        })
        .await
    }

    async fn sentence(
        &self,
        index: u32,
        text: &str,
        citations: Vec<String>,
    ) -> Result<(), ReplyError> {
        {
            let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            if !sent.text.is_empty() {
                sent.text.push(' ');
            }
            sent.text.push_str(text);
            for c in &citations {
                if !sent.citations.contains(c) {
                    sent.citations.push(c.clone());
                }
            }
        }
        let delta = if index == 0 {
            text.to_string()
        } else {
            format!(" {text}")
        };
        if index == 0 {
            self.send(ServerMessage::State {
                state: TwinState::Speaking,
            })
            .await?;
        }
        if let Some(speech) = self.speech {
            speech.say(text);
        }
        self.send(ServerMessage::ReplyDelta {
            reply_id: self.reply_id.to_string(),
            text: delta,
        })
        .await?;
        self.send(ServerMessage::Sentence {
            reply_id: self.reply_id.to_string(),
            index,
            text: text.to_string(),
            citations,
        })
        .await
    }

    /// A fixed reply (disclosure, redirect, unknown): still streamed sentence by sentence.
    pub async fn fixed(
        &self,
        turn_id: Option<String>,
        kind: ReplyKind,
        text: &str,
    ) -> Result<ReplyOutcome, ReplyError> {
        self.start(turn_id, kind).await?;
        let sentences = twin_llm::sentence::split(text);
        for (i, s) in sentences.iter().enumerate() {
            self.sentence(i as u32, s, vec![]).await?;
        }
        Ok(ReplyOutcome {
            kind,
            text: sentences.join(" "),
            citations: vec![],
        })
    }

    /// Answers one user turn.
    pub async fn answer(
        &self,
        turn_id: Option<String>,
        question: &str,
        history: &[HistoryTurn],
    ) -> Result<ReplyOutcome, ReplyError> {
        let persona = self.persona;
        match guardrails::classify(question) {
            Intent::Identity => {
                self.metrics.guardrail("identity");
                let text = format!(
                    "{} {}",
                    persona.pack.meta.disclosure,
                    persona.what_i_can_do()
                );
                return self.fixed(turn_id, ReplyKind::Disclosure, &text).await;
            }
            Intent::Approval => {
                self.metrics.guardrail("approval");
                return self
                    .fixed(turn_id, ReplyKind::Redirect, &persona.redirect_text())
                    .await;
            }
            Intent::Question => {}
        }
        let started = Instant::now();
        let retrieval = persona
            .search(question)
            .await
            .map_err(ReplyError::Retrieval)?;
        self.metrics.observe_retrieval(started.elapsed());
        if !retrieval.covered {
            self.metrics.guardrail("unknown_topic");
            return self
                .fixed(turn_id, ReplyKind::Unknown, &persona.unknown_text())
                .await;
        }
        let sources: Vec<&twin_persona::Source> = retrieval
            .hits
            .iter()
            .map(|h| &persona.pack.sources[h.source])
            .collect();
        let passages: Vec<&str> = sources.iter().map(|s| s.text.as_str()).collect();
        let excerpts = persona.excerpts(&retrieval, self.context_sentences);

        let system = match self.speaker {
            Some(name) => format!(
                "{}\nSeveral people are in the room; this question is from {name}.",
                persona.system_prompt()
            ),
            None => persona.system_prompt(),
        };
        let mut messages = vec![Message::new(Role::System, system)];
        let recent = &history[history.len().saturating_sub(self.history_turns)..];
        for turn in recent {
            let role = if turn.speaker == Speaker::User {
                Role::User
            } else {
                Role::Assistant
            };
            messages.push(Message::new(role, turn.text.clone()));
        }
        messages.push(Message::new(
            Role::User,
            persona.grounded_question(question, &excerpts),
        ));
        let request = GenerateRequest {
            messages,
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            seed: 42,
        };

        self.start(turn_id, ReplyKind::Grounded).await?;
        let mut stream = self.llm.generate(request)?;
        let mut splitter = SentenceSplitter::new();
        let mut kept: Vec<(String, Vec<String>)> = Vec::new();
        let max_sentences = persona.pack.meta.style.max_sentences as usize;
        let mut first_token = true;
        let mut stop = false;
        while !stop {
            let (pieces, done) = match stream.next().await {
                Some(Ok(StreamEvent::Text(t))) => {
                    if first_token {
                        self.metrics.observe_first_token(started.elapsed());
                        first_token = false;
                    }
                    (splitter.push(&t), false)
                }
                Some(Ok(StreamEvent::Done(_))) | None => {
                    (splitter.finish().into_iter().collect(), true)
                }
                Some(Err(e)) => return Err(e.into()),
            };
            for s in pieces {
                let s = s
                    .trim_matches(|c: char| c == '"' || c.is_whitespace())
                    .to_string();
                let text = match guardrails::check_sentence(&s, &passages, question) {
                    Verdict::Keep => s,
                    Verdict::Unsupported => {
                        self.metrics.guardrail("unsupported_sentence");
                        continue;
                    }
                    Verdict::Contradicts => {
                        self.metrics.guardrail("contradicting_sentence");
                        continue;
                    }
                    Verdict::Commitment => {
                        self.metrics.guardrail("commitment_in_reply");
                        stop = true;
                        persona.redirect_text()
                    }
                    Verdict::ClaimsHuman => {
                        self.metrics.guardrail("human_claim_in_reply");
                        persona.pack.meta.disclosure.clone()
                    }
                };
                let cite = guardrails::best_source(&text, &passages).map(|i| sources[i].id.clone());
                if kept.is_empty() {
                    self.metrics.observe_first_sentence(started.elapsed());
                }
                self.sentence(kept.len() as u32, &text, cite.iter().cloned().collect())
                    .await?;
                kept.push((text, cite.into_iter().collect()));
                if stop || kept.len() >= max_sentences {
                    // Dropping the stream stops generation.
                    stop = true;
                    break;
                }
            }
            stop |= done;
        }
        if kept.is_empty() {
            // The model produced nothing the passages support: say what the person actually said instead.
            self.metrics.guardrail("extractive_fallback");
            // The passages' sentences closest to the question, in the person's own words.
            for excerpt in excerpts.iter().take(2) {
                let id = persona.pack.sources[excerpt.source].id.clone();
                if kept.is_empty() {
                    self.metrics.observe_first_sentence(started.elapsed());
                }
                self.sentence(kept.len() as u32, &excerpt.text, vec![id.clone()])
                    .await?;
                kept.push((excerpt.text.clone(), vec![id]));
            }
        }
        let text = kept
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let mut ids: Vec<&str> = Vec::new();
        for (_, c) in &kept {
            for id in c {
                if !ids.contains(&id.as_str()) {
                    ids.push(id);
                }
            }
        }
        let citations = ids.iter().filter_map(|id| persona.citation(id)).collect();
        Ok(ReplyOutcome {
            kind: ReplyKind::Grounded,
            text,
            citations,
        })
    }
}
