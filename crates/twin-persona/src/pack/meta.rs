//! `persona.toml`: who the person is, how they speak, their voice and face, and what it must hold.

use super::is_slug;
use super::problem::{Problem, toml_problem, whole_file};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaMeta {
    pub id: String,
    pub name: String,
    pub role: String,
    pub organization: String,
    /// Said at session start and whenever someone asks whether they talk to the real person.
    pub disclosure: String,
    #[serde(default)]
    pub height_m: Option<f32>,
    pub style: Style,
    pub voice: Voice,
    #[serde(default)]
    pub avatar: Avatar,
    #[serde(default)]
    pub likeness: Likeness,
}

/// Whose face the twin wears: `twin avatar from-photos` refuses to build a likeness from photos without a
/// record of who consented to it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Likeness {
    /// Who consented to their likeness being used, and how ("Jane Doe, signed release of 2026-11-30").
    #[serde(default)]
    pub consent: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Style {
    pub description: String,
    #[serde(default)]
    pub signature_phrases: Vec<String>,
    #[serde(default = "default_max_sentences")]
    pub max_sentences: u32,
}

fn default_max_sentences() -> u32 {
    3
}

/// The persona's voice: which synthesizer (`piper`, `espeak` or `http`), its voice id, and a rate factor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voice {
    #[serde(default = "default_voice_backend")]
    pub backend: String,
    pub id: String,
    #[serde(default = "default_speed")]
    pub speed: f32,
}

fn default_voice_backend() -> String {
    "piper".into()
}

fn default_speed() -> f32 {
    1.0
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Avatar {
    /// Coefficients of the face model's identity modes, so each persona has its own face.
    #[serde(default)]
    pub identity: Vec<f32>,
    /// Iris and hair colours ("#rrggbb"), read off the person's photos by `twin avatar from-photos`.
    #[serde(default)]
    pub iris: Option<String>,
    #[serde(default)]
    pub hair: Option<String>,
    /// The body's build: "male", "female" or "neutral" (MakeHuman's young adult shapes; neutral is its base).
    #[serde(default)]
    pub body: Option<String>,
}

/// Reads and checks `persona.toml`; `None` when it cannot be read or parsed (the problem is in `problems`).
pub(super) fn read_meta(meta_path: &Path, problems: &mut Vec<Problem>) -> Option<PersonaMeta> {
    match std::fs::read_to_string(meta_path) {
        Ok(text) => match toml::from_str::<PersonaMeta>(&text) {
            Ok(meta) => {
                check_meta(&meta, meta_path, problems);
                Some(meta)
            }
            Err(e) => {
                problems.push(toml_problem(meta_path, &text, 0, &e));
                None
            }
        },
        Err(e) => {
            problems.push(whole_file(
                meta_path,
                format!("cannot read persona.toml: {e}"),
            ));
            None
        }
    }
}

fn check_meta(meta: &PersonaMeta, path: &Path, problems: &mut Vec<Problem>) {
    let mut bad = |message: String| problems.push(whole_file(path, message));
    if !is_slug(&meta.id) {
        bad(format!(
            "id {:?} must be lowercase letters, digits and dashes",
            meta.id
        ));
    }
    for (field, value) in [
        ("name", &meta.name),
        ("role", &meta.role),
        ("organization", &meta.organization),
        ("disclosure", &meta.disclosure),
        ("voice.id", &meta.voice.id),
    ] {
        if value.trim().is_empty() {
            bad(format!("{field} must not be empty"));
        }
    }
    let d = meta.disclosure.to_lowercase();
    if !(d.contains("ai") || d.contains("artificial")) {
        bad("disclosure must say plainly that this is an AI".into());
    }
    if let Some(h) = meta.height_m
        && !(0.5..=2.6).contains(&h)
    {
        bad(format!("height_m {h} is not a human height in meters"));
    }
    if !(1..=8).contains(&meta.style.max_sentences) {
        bad("style.max_sentences must be between 1 and 8".into());
    }
}
