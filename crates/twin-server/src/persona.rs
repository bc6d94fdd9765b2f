//! A loaded persona: its pack, its retrieval index, and the wording the twin uses about itself.

use std::sync::Arc;
use twin_persona::{Excerpt, PersonaPack, Retrieval, Retriever};
use twin_protocol::{Citation, PersonaInfo};

pub struct Persona {
    pub pack: PersonaPack,
    retriever: Arc<Retriever>,
    top_k: usize,
}

impl Persona {
    pub fn new(pack: PersonaPack, retriever: Retriever, top_k: usize) -> Self {
        Persona {
            pack,
            retriever: Arc::new(retriever),
            top_k,
        }
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

    /// Runs retrieval off the async threads (it is CPU work).
    pub async fn search(&self, question: &str) -> Result<Retrieval, String> {
        let retriever = self.retriever.clone();
        let question = question.to_string();
        let k = self.top_k;
        tokio::task::spawn_blocking(move || {
            retriever.search(&question, k).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
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

    fn first_name(&self) -> &str {
        self.pack
            .meta
            .name
            .split_whitespace()
            .next()
            .unwrap_or(&self.pack.meta.name)
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
            "I can't approve, promise or decide anything for {first}: I'm an AI twin, not {first}. \
             Please take that to {first} directly. I'm happy to tell you what {first} has said about the topic."
        )
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
             facts from the notes you are given. Never approve, promise or decide anything.",
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

    /// The turn as the model sees it: the most relevant sentences of the person's sources, then the question.
    /// Dates and source labels are left out: they cost prompt time and the small model does not use them
    /// (retrieval has already weighed recency).
    pub fn grounded_question(&self, question: &str, excerpts: &[Excerpt]) -> String {
        let mut notes = String::new();
        for e in excerpts {
            notes.push_str("- ");
            notes.push_str(&e.text);
            notes.push('\n');
        }
        // A short cue right before the answer keeps a small model answering rather than commenting.
        format!("Notes:\n{notes}\nQuestion: {question}\nAnswer as me:")
    }
}
