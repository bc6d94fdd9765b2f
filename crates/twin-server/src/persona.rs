//! A loaded persona: its pack, its retrieval index, which of its sources replace which, the intent rules and
//! classifier with its names put in, and the wording the twin uses about itself.

use crate::guardrails::classifier::{Classifier, ClassifierError, Examples};
use crate::guardrails::intent::Rules;
use crate::guardrails::{Intent, Intents};
use std::sync::Arc;
use twin_persona::compose::{self, Purpose, Quote};
use twin_persona::followup::Previous;
use twin_persona::recency::{self, Recency};
use twin_persona::{Excerpt, PersonaPack, Retrieval, Retriever};
use twin_protocol::{Citation, HistoryTurn, PersonaInfo, Speaker};

pub struct Persona {
    pub pack: PersonaPack,
    retriever: Arc<Retriever>,
    recency: Recency,
    intents: Arc<Intents>,
    top_k: usize,
}

/// A user turn, read: its normalised text, its embedding and what it asks for.
pub struct Reading {
    pub normalised: String,
    pub vector: Vec<f32>,
    pub intent: Intent,
}

impl Persona {
    pub fn new(
        pack: PersonaPack,
        retriever: Retriever,
        top_k: usize,
    ) -> Result<Self, ClassifierError> {
        let first = first_name(&pack.meta.name).to_string();
        let rules = Rules::new(&[&pack.meta.name, &first]);
        let examples = Examples::builtin().for_person(&first);
        let classifier = Classifier::train(retriever.embedder(), &examples)?;
        Ok(Persona {
            recency: Recency::new(&pack, &retriever),
            pack,
            retriever: Arc::new(retriever),
            intents: Arc::new(Intents { rules, classifier }),
            top_k,
        })
    }

    /// The same persona over its pack as it now stands (a correction written, a source retired): its intents
    /// are kept, and its index embeds only the texts it has not seen.
    pub fn reloaded(&self, pack: PersonaPack) -> Result<Persona, twin_persona::EmbedError> {
        let retriever = Retriever::build(&pack, self.retriever.embedder().clone())?;
        Ok(Persona {
            recency: Recency::new(&pack, &retriever),
            pack,
            retriever: Arc::new(retriever),
            intents: self.intents.clone(),
            top_k: self.top_k,
        })
    }

    pub fn id(&self) -> &str {
        &self.pack.meta.id
    }

    pub fn info(&self) -> PersonaInfo {
        let m = &self.pack.meta;
        PersonaInfo {
            id: m.id.clone(),
            name: m.name.clone(),
            role: m.role.clone(),
            organization: m.organization.clone(),
            disclosure: m.disclosure.clone(),
        }
    }

    /// Normalises, embeds and classifies a turn, off the async threads (it is CPU work).
    pub async fn read(self: &Arc<Self>, text: &str) -> Result<Reading, String> {
        let persona = self.clone();
        let normalised = twin_text::normalise::user_text(text);
        tokio::task::spawn_blocking(move || {
            let vector = persona
                .retriever
                .embed(&normalised)
                .map_err(|e| e.to_string())?;
            let intent = persona.intents.intent(&normalised, &vector);
            Ok(Reading {
                normalised,
                vector,
                intent,
            })
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Retrieval for a turn; for a follow-up ("why?", "and for field teams?"), against the previous exchange
    /// of `history`, which comes back where the turn was taken to follow it.
    pub async fn search(
        self: &Arc<Self>,
        reading: &Reading,
        history: &[HistoryTurn],
    ) -> Result<(Retrieval, Option<Previous>), String> {
        let persona = self.clone();
        let (text, vector, k) = (
            reading.normalised.clone(),
            reading.vector.clone(),
            self.top_k,
        );
        let previous = self.previous(history);
        tokio::task::spawn_blocking(move || {
            let (retrieval, follows) = persona
                .retriever
                .search_turn_embedded(&text, vector, previous.as_ref(), k)
                .map_err(|e| e.to_string())?;
            Ok((retrieval, previous.filter(|_| follows)))
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Retrieval for a presented plan: the turn and the document's chunks, each a query; their vectors come
    /// back for choosing the units that bear on any part of it.
    pub async fn search_plan(
        self: &Arc<Self>,
        reading: &Reading,
        document: Option<&str>,
    ) -> Result<(Retrieval, Vec<Vec<f32>>), String> {
        let persona = self.clone();
        let mut chunks = plan_chunks(document.unwrap_or(""));
        // A plan told in the turn itself: each of its sentences a query of its own, as a document's are.
        let said = plan_chunks(&reading.normalised);
        if said.len() > 1 {
            chunks.extend(said);
        }
        let (text, vector, k) = (
            reading.normalised.clone(),
            reading.vector.clone(),
            self.top_k + 2,
        );
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
            let vectors = persona
                .retriever
                .embedder()
                .embed(&refs)
                .map_err(|e| e.to_string())?;
            let mut retrieval = persona.retriever.search_embedded(&text, vector, k);
            // Each point keeps its best source, however the others score.
            let mut each_best: Vec<usize> = Vec::new();
            for (chunk, v) in chunks.iter().zip(&vectors) {
                let more = persona.retriever.search_embedded(chunk, v.clone(), k);
                retrieval.covered |= more.covered;
                if more.covered {
                    each_best.extend(more.hits.first().map(|h| h.source));
                }
                for hit in more.hits {
                    match retrieval.hits.iter_mut().find(|h| h.source == hit.source) {
                        Some(h) if h.score < hit.score => *h = hit,
                        Some(_) => {}
                        None => retrieval.hits.push(hit),
                    }
                }
            }
            retrieval.hits.sort_by(|a, b| b.score.total_cmp(&a.score));
            let mut rank = 0;
            retrieval.hits.retain(|h| {
                rank += 1;
                rank <= k + 2 || each_best.contains(&h.source)
            });
            Ok((retrieval, vectors))
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// The person's own words that answer `retrieval` for `purpose`.
    pub fn quotes(
        &self,
        retrieval: &Retrieval,
        purpose: Purpose,
        said: &[String],
        extra: &[Vec<f32>],
    ) -> Vec<Quote> {
        compose::quotes(
            &self.pack,
            &self.retriever,
            &self.recency,
            retrieval,
            purpose,
            said,
            extra,
        )
    }

    /// The sentences of the hits that still stand (of a superseded source, only what its replacement does not
    /// speak to, as for the quotes): the evidence a generated sentence must rest on.
    pub fn evidence(&self, retrieval: &Retrieval) -> Vec<(usize, String)> {
        let mut evidence = Vec::new();
        for source in recency::current_hits(&self.pack, &self.recency, retrieval) {
            let passage = self.retriever.passage(source);
            for (unit, range) in passage.units.iter().enumerate() {
                if self.recency.stands(source, unit) {
                    let sentences = &passage.sentences[range.clone()];
                    evidence.extend(sentences.iter().map(|s| (source, s.clone())));
                }
            }
        }
        evidence
    }

    /// The previous exchange of `history` (oldest first): the last thing the user asked and what the twin
    /// quoted in answer.
    fn previous(&self, history: &[HistoryTurn]) -> Option<Previous> {
        let last_user = history.iter().rposition(|t| t.speaker == Speaker::User)?;
        let reply = history[last_user + 1..]
            .iter()
            .find(|t| t.speaker == Speaker::Twin)?;
        let index = |id: &str| self.pack.sources.iter().position(|s| s.id == id);
        let mut sources: Vec<usize> = reply
            .sentences
            .iter()
            .filter_map(|s| s.source.as_deref())
            .chain(reply.citations.iter().map(String::as_str))
            .filter_map(index)
            .collect();
        sources.sort_unstable();
        sources.dedup();
        Some(Previous {
            question: strip_speaker(&history[last_user].text).to_string(),
            sources,
            said: reply
                .sentences
                .iter()
                .filter_map(|s| s.quote.clone())
                .collect(),
        })
    }

    pub fn citation(&self, id: &str) -> Option<Citation> {
        self.pack.source(id).map(|s| Citation {
            id: s.id.clone(),
            kind: s.kind,
            title: s.title.clone(),
            date: s.date.clone(),
            url: s.url.clone(),
        })
    }

    pub fn source_id(&self, index: usize) -> &str {
        &self.pack.sources[index].id
    }

    fn first_name(&self) -> &str {
        first_name(&self.pack.meta.name)
    }

    /// What the twin says first to everyone it meets: that it is an AI, what it can do, and who sees the
    /// conversation (`recorded`: a room recorded for the person's review).
    pub fn opening_text(&self, recorded: bool) -> String {
        let first = self.first_name();
        let privacy = match recorded {
            true => format!("This room is recorded for {first} to review."),
            false => format!(
                "This conversation is private: {first} sees questions only without names, and sees a reply \
                 only if you flag it or share the conversation."
            ),
        };
        format!(
            "{} {} {privacy}",
            self.pack.meta.disclosure,
            self.what_i_can_do()
        )
    }

    pub fn what_i_can_do(&self) -> String {
        format!(
            "I can tell you what {first} has said publicly and written in recent strategy notes, and point you to the source.",
            first = self.first_name()
        )
    }

    pub fn redirect_text(&self) -> String {
        let first = self.first_name();
        format!(
            "I can't approve, refuse or decide anything for {first}: I'm an AI twin, not {first}. \
             Please take that to {first} directly."
        )
    }

    /// Said before the person's words on the topic of a redirected request.
    pub fn on_the_topic(&self) -> String {
        format!("Here is what {} has said on the topic.", self.first_name())
    }

    pub fn decline_repeat_text(&self) -> String {
        let first = self.first_name();
        format!(
            "I won't say that in {first}'s voice: I only repeat what {first} has actually said or written, \
             and I'm an AI twin, not {first}."
        )
    }

    pub fn feedback_text(&self) -> String {
        let first = self.first_name();
        format!(
            "I can't give a verdict on your plan for {first}; that is {first}'s call. \
             Here is what {first} has said that bears on it."
        )
    }

    pub fn no_feedback_text(&self) -> String {
        format!(
            "I can't give a verdict on your plan, and I don't know anything {} has said that bears on it. \
             Please take it to them directly.",
            self.first_name()
        )
    }

    /// What the twin says when its model does not answer in time: nothing in the person's name.
    pub fn cannot_answer_now_text(&self) -> String {
        "I can't answer that right now. Please ask me again in a moment.".to_string()
    }

    pub fn unknown_text(&self) -> String {
        format!(
            "I don't know {}'s view on that. It isn't in the public statements or recent notes I was built from, \
             so I'd rather not guess.",
            self.first_name()
        )
    }

    /// Fixed for the persona, so the model's KV cache for it is reused on every turn. Every fixed
    /// instruction lives here rather than in the turn, because each uncached token costs about 5 ms of
    /// prompt processing on a 2-core CPU.
    pub fn system_prompt(&self) -> String {
        let m = &self.pack.meta;
        format!(
            "You are the AI twin of {name}, {role} of {org}. You speak as {name}, in the first person, to a colleague. \
             Style: {style} Rules: answer in one or two short spoken sentences (never more than {n}), using only \
             facts from the notes you are given, in their words. Never approve, refuse, promise or decide anything.",
            name = m.name,
            role = m.role,
            org = m.organization,
            style = m.style.description,
            n = m.style.max_sentences,
        )
    }

    pub fn excerpts(&self, retrieval: &Retrieval, n: usize) -> Vec<Excerpt> {
        self.retriever.excerpts(retrieval, n)
    }

    /// The turn as the model sees it: the person's sentences to use, then the question.
    pub fn grounded_question(&self, question: &str, notes: &[String]) -> String {
        let mut text = String::new();
        for n in notes {
            text.push_str("- ");
            text.push_str(n);
            text.push('\n');
        }
        // A short cue right before the answer keeps a small model answering rather than commenting.
        format!("Notes:\n{text}\nQuestion: {question}\nAnswer as me:")
    }
}

fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}

/// A stored room turn reads "Ana: …"; the question is what follows.
pub(crate) fn strip_speaker(text: &str) -> &str {
    match text.split_once(": ") {
        Some((name, rest)) if !name.is_empty() && name.len() <= 40 && !name.contains(' ') => rest,
        _ => text,
    }
}

/// A presented plan cut into chunks of a few sentences each (at most 16), each a query of its own.
fn plan_chunks(document: &str) -> Vec<String> {
    // Markdown keeps one point a line: each line ends a sentence.
    let sentences: Vec<String> = twin_text::sentence::split(&document.replace('\n', "\n\n"))
        .into_iter()
        .map(|s| s.trim_start_matches(['#', '-', '*', ' ']).to_string())
        .filter(|s| s.split_whitespace().count() >= 3)
        .collect();
    // One point each: a chunk of several points matches none of them well. A sentence of several clauses
    // gives each clause too ("a Wednesday status call | for the Helm 3 migration").
    let mut chunks: Vec<String> = Vec::new();
    for s in sentences {
        let clauses = twin_text::sentence::clauses(&s, 3);
        chunks.push(s);
        if clauses.len() > 1 {
            chunks.extend(clauses);
        }
    }
    chunks.into_iter().take(24).collect()
}
