//! A session's setting: the persona the twin stands for, the history a resumed session gets back, who said
//! a turn and the twin's conversational state.

use serde::{Deserialize, Serialize};

use crate::ReplySentence;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonaInfo {
    pub id: String,
    pub name: String,
    pub role: String,
    pub organization: String,
    pub disclosure: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryTurn {
    pub seq: u64,
    pub speaker: Speaker,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<String>,
    /// The twin's turns: each sentence with the source sentence it rests on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sentences: Vec<ReplySentence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    User,
    Twin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TwinState {
    Listening,
    Thinking,
    Speaking,
}
