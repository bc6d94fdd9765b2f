//! Persona packs and grounded retrieval over them.
//!
//! A pack is one folder per person: `persona.toml` (who they are, how they speak, their voice and face),
//! `statements/` (dated public statements with their sources) and `strategy/` (dated recent notes), and `corrections/` (what the person wrote in review to correct the twin).

pub mod claims;
pub mod compose;
pub mod conflicts;
pub mod corrections;
pub mod cues;
pub mod embed;
pub mod eval;
pub mod followup;
pub mod keyword;
pub mod pack;
pub mod recency;
pub mod retrieval;
pub mod units;

pub use embed::{EmbedError, Embedder};
pub use pack::{PackErrors, PersonaMeta, PersonaPack, Problem, Source, SourceKind};
pub use retrieval::{Excerpt, Hit, Retrieval, Retriever};
