//! The twin's replies: what kind each is, its sentences with what they rest on, and the sources it cites.

use serde::{Deserialize, Serialize};

/// One sentence of a twin reply and what it rests on: the id of a source of the persona pack and the sentence
/// of that source that supports it (for a quoted sentence, the sentence itself). Both are absent for the
/// twin's own fixed wording (the disclosure, a redirect, "I don't know"), which states nothing in the
/// person's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplySentence {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
}

impl ReplySentence {
    /// A sentence in the twin's own fixed wording, resting on no source.
    pub fn own(text: impl Into<String>) -> Self {
        ReplySentence {
            text: text.into(),
            source: None,
            quote: None,
        }
    }
}

/// Why the reply says what it says; clients may style these differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// Generated from retrieved passages, with citations.
    Grounded,
    /// States that this is an AI twin (session start, or asked).
    Disclosure,
    /// A request the twin will not carry out in the person's name (approve, refuse, decide, promise, voice
    /// words the user supplied), redirected to the real person, with what they have said on the topic.
    Redirect,
    /// What the person has said that bears on a plan or proposal the user presented: no verdict.
    Feedback,
    /// The persona pack has nothing on the topic.
    Unknown,
}

impl ReplyKind {
    /// The wire name (`grounded`, …), also used in the store and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyKind::Grounded => "grounded",
            ReplyKind::Disclosure => "disclosure",
            ReplyKind::Redirect => "redirect",
            ReplyKind::Feedback => "feedback",
            ReplyKind::Unknown => "unknown",
        }
    }
}

/// A source the reply drew on, resolved by the server from the persona pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub id: String,
    pub kind: SourceKind,
    pub title: String,
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Statement,
    Strategy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_kind_names_match_the_wire() {
        for k in [
            ReplyKind::Grounded,
            ReplyKind::Disclosure,
            ReplyKind::Redirect,
            ReplyKind::Unknown,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
