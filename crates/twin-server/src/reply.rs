//! One twin reply: read the turn (what it asks for), retrieve, then say the person's own words (or, with a
//! strong model, a paraphrase whose every sentence the claim check finds true to a source), each sentence
//! carrying the source sentence it rests on.
//!
//! Text leaves a sentence at a time, after its check, so nothing unchecked ever reaches a client or the speech
//! synthesizer.

use crate::config::Words;
use crate::guardrails::{self, Intent, Verdict};
use crate::metrics::Metrics;
use crate::persona::{Persona, Reading};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;
use twin_llm::sentence::SentenceSplitter;
use twin_llm::{GenerateRequest, LlmBackend, LlmError, Message, Role, StreamEvent};
use twin_persona::compose::{Purpose, Quote};
use twin_persona::{Retrieval, followup::Previous};
use twin_protocol::{
    Attachment, Citation, HistoryTurn, ReplyKind, ReplySentence, ServerMessage, Speaker, TwinState,
};

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
    /// Each sentence sent, with its source.
    pub sentences: Vec<ReplySentence>,
    /// Set when the reply starts.
    pub kind: Option<ReplyKind>,
    /// Stored already (completed, or cut short by an interruption): nothing more may be stored for it.
    pub finalized: bool,
    /// Guardrail actions taken, in order.
    pub actions: Vec<String>,
    /// When the turn it answers reached the server (or the reply began).
    pub started: Option<Instant>,
    /// How long after `started` its first sentence went out.
    pub first_sentence: Option<std::time::Duration>,
    /// The user turns (seqs) it answers.
    pub answers: Vec<u64>,
}

impl Sent {
    /// The reply's text as the client has it: the sentences joined by spaces, as `reply_delta` sends them.
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self.sentences.iter().map(|s| s.text.as_str()).collect();
        texts.join(" ")
    }

    /// The sources of the sentences sent, distinct, in first-use order.
    pub fn citations(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for id in self.sentences.iter().filter_map(|s| s.source.as_ref()) {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }

    /// How the reply came about, for the person's review.
    pub fn audit(&self, persona: &Persona) -> crate::store::ReplyAudit {
        let topic = self
            .citations()
            .first()
            .and_then(|id| persona.pack.source(id))
            .and_then(|s| s.topics.first().cloned());
        crate::store::ReplyAudit {
            actions: self.actions.clone(),
            latency_ms: self.first_sentence.map(|d| d.as_millis() as u64),
            topic,
            answers: self.answers.clone(),
        }
    }

    /// What was sent, as a finished reply of `kind`, its citations resolved in `persona`'s pack.
    pub fn outcome(&self, kind: ReplyKind, persona: &Persona) -> ReplyOutcome {
        ReplyOutcome {
            kind,
            text: self.text(),
            citations: self
                .citations()
                .iter()
                .filter_map(|id| persona.citation(id))
                .collect(),
            sentences: self.sentences.clone(),
        }
    }
}

pub struct ReplyOutcome {
    pub kind: ReplyKind,
    pub text: String,
    pub citations: Vec<Citation>,
    pub sentences: Vec<ReplySentence>,
}

/// A user turn to answer: its words, the document it presents, and the conversation before it.
pub struct Turn<'a> {
    pub text: &'a str,
    pub attachment: Option<&'a Attachment>,
    pub history: &'a [HistoryTurn],
}

pub struct Replier<'a> {
    pub persona: &'a Arc<Persona>,
    pub llm: &'a dyn LlmBackend,
    pub words: Words,
    pub metrics: &'a Metrics,
    pub out: &'a mpsc::Sender<ServerMessage>,
    pub reply_id: &'a str,
    pub sent: &'a Arc<Mutex<Sent>>,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Earlier turns the model sees (each costs prompt evaluation time).
    pub history_turns: usize,
    /// Sentences of the retrieved passages given to the model as context, beside the quotes.
    pub context_sentences: usize,
    /// Where checked sentences go to be spoken (voice clients).
    pub speech: Option<&'a crate::speaking::SpeechFeed>,
    /// In a room: the name of the person asking, so the twin knows who it answers.
    pub speaker: Option<&'a str>,
    pub deadlines: Deadlines,
}

/// How long a model may take to begin an answer, and to finish it, from the turn.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub first_token: std::time::Duration,
    pub whole: std::time::Duration,
}

impl<'a> Replier<'a> {
    /// A replier as the server's config sets it up, with no voice and no one named as asking.
    pub fn configured(
        state: &'a crate::app::AppState,
        persona: &'a Arc<Persona>,
        out: &'a mpsc::Sender<ServerMessage>,
        reply_id: &'a str,
        sent: &'a Arc<Mutex<Sent>>,
    ) -> Replier<'a> {
        let config = &state.config;
        Replier {
            persona,
            llm: state.llm.as_ref(),
            words: config.llm.words(),
            metrics: &state.metrics,
            out,
            reply_id,
            sent,
            max_tokens: config.llm.max_tokens,
            temperature: config.llm.temperature,
            history_turns: config.llm.history_turns,
            context_sentences: config.retrieval.context_sentences,
            speech: None,
            speaker: None,
            deadlines: config.llm.deadlines(),
        }
    }

    /// A guardrail acted: counted, and noted on the reply for review.
    fn guard(&self, rule: &'static str) {
        self.metrics.guardrail(rule);
        let mut sent = crate::sync::lock(self.sent);
        sent.actions.push(rule.to_string());
    }

    async fn send(&self, message: ServerMessage) -> Result<(), ReplyError> {
        self.out
            .send(message)
            .await
            .map_err(|_| ReplyError::ClientGone)
    }

    async fn start(&self, turn_id: Option<String>, kind: ReplyKind) -> Result<(), ReplyError> {
        crate::sync::lock(self.sent).kind = Some(kind);
        self.send(ServerMessage::ReplyStart {
            reply_id: self.reply_id.to_string(),
            turn_id,
            kind,
            to: None,
        })
        .await
    }

    /// Sends one checked sentence: to the client, to the voice, and into what was sent.
    async fn say(&self, sentence: ReplySentence) -> Result<(), ReplyError> {
        let index = {
            let mut sent = crate::sync::lock(self.sent);
            sent.sentences.push(sentence.clone());
            if sent.first_sentence.is_none() {
                sent.first_sentence = sent.started.map(|t| t.elapsed());
            }
            sent.sentences.len() as u32 - 1
        };
        let text = sentence.text;
        if index == 0 {
            self.send(ServerMessage::State {
                state: TwinState::Speaking,
            })
            .await?;
        }
        if let Some(speech) = self.speech {
            speech.say(&text);
        }
        let delta = if index == 0 {
            text.clone()
        } else {
            format!(" {text}")
        };
        self.send(ServerMessage::ReplyDelta {
            reply_id: self.reply_id.to_string(),
            text: delta,
        })
        .await?;
        self.send(ServerMessage::Sentence {
            reply_id: self.reply_id.to_string(),
            index,
            text,
            citations: sentence.source.into_iter().collect(),
        })
        .await
    }

    /// The twin's own wording (disclosure, redirect, "I don't know"), which rests on no source.
    async fn say_own(&self, text: &str) -> Result<(), ReplyError> {
        for s in twin_llm::sentence::split(text) {
            self.say(ReplySentence::own(s)).await?;
        }
        Ok(())
    }

    /// The person's words, each sentence with itself as its source sentence; the frame (when and where it
    /// was said) goes before the first.
    async fn say_quote(&self, quote: &Quote) -> Result<(), ReplyError> {
        let id = self.persona.source_id(quote.source).to_string();
        for (i, s) in quote.sentences.iter().enumerate() {
            let text = match (&quote.frame, i) {
                (Some(frame), 0) => format!("{frame} {s}"),
                _ => s.clone(),
            };
            self.say(ReplySentence {
                text,
                source: Some(id.clone()),
                quote: Some(s.clone()),
            })
            .await?;
        }
        Ok(())
    }

    /// Quotes the first unit whole, then more while the reply stays short.
    async fn say_quotes(&self, quotes: &[Quote], started: Instant) -> Result<(), ReplyError> {
        let most = self.persona.pack.meta.style.max_sentences as usize + 1;
        let mut count = 0;
        for (i, q) in quotes.iter().enumerate() {
            if i > 0 && count + q.sentences.len() > most {
                break;
            }
            if i == 0 {
                self.metrics.observe_first_sentence(started.elapsed());
            }
            self.say_quote(q).await?;
            count += q.sentences.len();
        }
        Ok(())
    }

    fn outcome(&self, kind: ReplyKind) -> ReplyOutcome {
        let sent = crate::sync::lock(self.sent);
        sent.outcome(kind, self.persona)
    }

    /// A fixed reply (disclosure, redirect, unknown): still streamed sentence by sentence.
    pub async fn fixed(
        &self,
        turn_id: Option<String>,
        kind: ReplyKind,
        text: &str,
    ) -> Result<ReplyOutcome, ReplyError> {
        self.start(turn_id, kind).await?;
        self.say_own(text).await?;
        Ok(self.outcome(kind))
    }

    /// Answers one user turn.
    pub async fn answer(
        &self,
        turn_id: Option<String>,
        turn: Turn<'_>,
    ) -> Result<ReplyOutcome, ReplyError> {
        let started = Instant::now();
        let reading = self
            .persona
            .read(turn.text)
            .await
            .map_err(ReplyError::Retrieval)?;
        let intent = match (reading.intent, turn.attachment) {
            (Intent::Question, Some(_)) => Intent::Feedback,
            (intent, _) => intent,
        };
        match intent {
            Intent::Identity => {
                self.guard("identity");
                let p = self.persona;
                let text = format!("{} {}", p.pack.meta.disclosure, p.what_i_can_do());
                self.fixed(turn_id, ReplyKind::Disclosure, &text).await
            }
            Intent::Decision => {
                self.guard("approval");
                let text = self.persona.redirect_text();
                self.redirect(turn_id, &reading, &text, started).await
            }
            Intent::Repeat => {
                self.guard("repeat_after_me");
                let text = self.persona.decline_repeat_text();
                self.redirect(turn_id, &reading, &text, started).await
            }
            Intent::Feedback => {
                let document = turn.attachment.map(|a| a.text.as_str());
                self.feedback(turn_id, &reading, document, started).await
            }
            Intent::Question => self.question(turn_id, &reading, &turn, started).await,
        }
    }

    /// A request the twin won't carry out for the person: said so, then what they have said on the topic.
    async fn redirect(
        &self,
        turn_id: Option<String>,
        reading: &Reading,
        text: &str,
        started: Instant,
    ) -> Result<ReplyOutcome, ReplyError> {
        let (retrieval, _) = self.retrieve(reading, &[]).await?;
        self.start(turn_id, ReplyKind::Redirect).await?;
        self.say_own(text).await?;
        if retrieval.covered {
            let quotes = self.persona.quotes(&retrieval, Purpose::Topic, &[], &[]);
            if !quotes.is_empty() {
                self.say_own(&self.persona.on_the_topic()).await?;
                self.say_quotes(&quotes, started).await?;
            }
        }
        Ok(self.outcome(ReplyKind::Redirect))
    }

    /// What the person has said that bears on a presented plan, each cited; never a verdict.
    async fn feedback(
        &self,
        turn_id: Option<String>,
        reading: &Reading,
        document: Option<&str>,
        started: Instant,
    ) -> Result<ReplyOutcome, ReplyError> {
        let (retrieval, chunks) = self
            .persona
            .search_plan(reading, document)
            .await
            .map_err(ReplyError::Retrieval)?;
        self.metrics.observe_retrieval(started.elapsed());
        let quotes = match retrieval.covered {
            true => self
                .persona
                .quotes(&retrieval, Purpose::Feedback, &[], &chunks),
            false => vec![],
        };
        if quotes.is_empty() {
            self.guard("unknown_topic");
            let text = self.persona.no_feedback_text();
            return self.fixed(turn_id, ReplyKind::Feedback, &text).await;
        }
        self.start(turn_id, ReplyKind::Feedback).await?;
        self.say_own(&self.persona.feedback_text()).await?;
        for q in &quotes {
            self.say_quote(q).await?;
        }
        Ok(self.outcome(ReplyKind::Feedback))
    }

    /// Retrieval for the turn, and the previous exchange where the turn follows it.
    async fn retrieve(
        &self,
        reading: &Reading,
        history: &[HistoryTurn],
    ) -> Result<(Retrieval, Option<Previous>), ReplyError> {
        let started = Instant::now();
        let found = self
            .persona
            .search(reading, history)
            .await
            .map_err(ReplyError::Retrieval)?;
        self.metrics.observe_retrieval(started.elapsed());
        Ok(found)
    }

    async fn question(
        &self,
        turn_id: Option<String>,
        reading: &Reading,
        turn: &Turn<'_>,
        started: Instant,
    ) -> Result<ReplyOutcome, ReplyError> {
        let (retrieval, follows) = self.retrieve(reading, turn.history).await?;
        if !retrieval.covered {
            self.guard("unknown_topic");
            let text = self.persona.unknown_text();
            return self.fixed(turn_id, ReplyKind::Unknown, &text).await;
        }
        // A follow-up brings something new.
        let said = follows.map(|p| p.said).unwrap_or_default();
        let quotes = self.persona.quotes(&retrieval, Purpose::Answer, &said, &[]);
        if quotes.is_empty() {
            self.guard("unknown_topic");
            let text = self.persona.unknown_text();
            return self.fixed(turn_id, ReplyKind::Unknown, &text).await;
        }
        self.start(turn_id, ReplyKind::Grounded).await?;
        match self.words {
            Words::Quoted => self.say_quotes(&quotes, started).await?,
            Words::Generated => {
                self.generated(turn, &retrieval, &quotes, started).await?;
            }
        }
        Ok(self.outcome(ReplyKind::Grounded))
    }

    /// The model's paraphrase, each sentence kept only where the claim check finds it true to a current
    /// source sentence; if none is, the person's own words instead.
    async fn generated(
        &self,
        turn: &Turn<'_>,
        retrieval: &Retrieval,
        quotes: &[Quote],
        started: Instant,
    ) -> Result<(), ReplyError> {
        let persona = self.persona;
        let evidence = persona.evidence(retrieval);
        let evidence_text: Vec<&str> = evidence.iter().map(|(_, s)| s.as_str()).collect();
        let mut notes: Vec<String> = quotes.iter().flat_map(|q| q.sentences.clone()).collect();
        for e in persona.excerpts(retrieval, self.context_sentences) {
            if !notes.contains(&e.text) && evidence_text.contains(&e.text.as_str()) {
                notes.push(e.text);
            }
        }
        let request = self.request(turn, &notes);
        let mut stream = self.llm.generate(request)?;
        let mut splitter = SentenceSplitter::new();
        let max_sentences = persona.pack.meta.style.max_sentences as usize;
        let (mut kept, mut first_token, mut stop) = (0usize, true, false);
        let whole_by = started + self.deadlines.whole;
        let first_by = (started + self.deadlines.first_token).min(whole_by);
        while !stop {
            let by = if first_token { first_by } else { whole_by };
            let Ok(event) =
                tokio::time::timeout_at(tokio::time::Instant::from_std(by), stream.next()).await
            else {
                // Dropping the stream stops the generation (the embedded model's job is cancelled).
                tracing::warn!(after = ?started.elapsed(), first_token, "the model took too long");
                self.metrics.error("llm_timeout");
                self.say(ReplySentence::own(persona.cannot_answer_now_text()))
                    .await?;
                return Ok(());
            };
            let (pieces, done) = match event {
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
                let s = s.trim_matches(|c: char| c == '"' || c.is_whitespace());
                let sentence = match guardrails::check_sentence(s, &evidence_text, turn.text) {
                    Verdict::Keep { index } => ReplySentence {
                        text: s.to_string(),
                        source: Some(persona.source_id(evidence[index].0).to_string()),
                        quote: Some(evidence[index].1.clone()),
                    },
                    Verdict::Commitment => {
                        self.guard("commitment_in_reply");
                        stop = true;
                        ReplySentence::own(persona.redirect_text())
                    }
                    Verdict::ClaimsHuman => {
                        self.guard("human_claim_in_reply");
                        ReplySentence::own(persona.pack.meta.disclosure.clone())
                    }
                    Verdict::Unsupported => {
                        self.guard("unsupported_sentence");
                        continue;
                    }
                    Verdict::Contradicts(_) => {
                        self.guard("contradicting_sentence");
                        continue;
                    }
                    Verdict::EchoesUser => {
                        self.guard("echoes_user");
                        continue;
                    }
                };
                if kept == 0 {
                    self.metrics.observe_first_sentence(started.elapsed());
                }
                self.say(sentence).await?;
                kept += 1;
                if stop || kept >= max_sentences {
                    // Dropping the stream stops generation.
                    stop = true;
                    break;
                }
            }
            stop |= done;
        }
        if kept == 0 {
            // Nothing the model wrote held up: what the person actually said instead.
            self.guard("extractive_fallback");
            self.say_quotes(quotes, started).await?;
        }
        Ok(())
    }

    fn request(&self, turn: &Turn<'_>, notes: &[String]) -> GenerateRequest {
        let persona = self.persona;
        let system = match self.speaker {
            Some(name) => format!(
                "{}\nSeveral people are in the room; this question is from {name}.",
                persona.system_prompt()
            ),
            None => persona.system_prompt(),
        };
        let mut messages = vec![Message::new(Role::System, system)];
        let history = turn.history;
        for t in &history[history.len().saturating_sub(self.history_turns)..] {
            let role = if t.speaker == Speaker::User {
                Role::User
            } else {
                Role::Assistant
            };
            let text = twin_text::markers::strip_role_markers(&t.text);
            messages.push(Message::new(role, text));
        }
        // A served model's template is the server's: role markers in user text are taken out here.
        let question = twin_text::markers::strip_role_markers(turn.text);
        messages.push(Message::new(
            Role::User,
            persona.grounded_question(&question, notes),
        ));
        GenerateRequest {
            messages,
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            seed: 42,
        }
    }
}
