//! Loading a persona pack: `persona.toml`, `statements/*.md`, `strategy/*.md`, and the person's own
//! corrections, `corrections/*.md` (written by the review console, see [`crate::corrections`]).
//!
//! Each source file starts with TOML front matter between two `+++` lines, then the text itself
//! ([`parse_source`]). Every problem is reported with its file, line and column, and all problems are
//! collected, so `twin-server persona check` can list them in one go.

mod checks;
mod meta;
mod parse;
mod problem;

pub use meta::{Avatar, Likeness, PersonaMeta, Style, Voice};
pub use parse::{MAX_SOURCE_CHARS, parse_source};
pub use problem::{PackErrors, Problem};

use problem::whole_file;
use std::path::{Path, PathBuf};

/// The medium of a statement the person wrote in review, correcting what the twin said (`corrections/`).
pub const CORRECTION_KIND: &str = "correction";

/// Where a passage comes from; strategy notes are recent and weigh more.
pub use twin_protocol::SourceKind;

#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub kind: SourceKind,
    /// Where it was said: `keynote`, `interview`, … (`strategy` for strategy notes).
    pub medium: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub title: String,
    pub url: Option<String>,
    pub topics: Vec<String>,
    /// Ids of older sources this one replaces where they disagree (`supersedes = ["s007"]`).
    pub supersedes: Vec<String>,
    /// Hidden from retrieval by the person (`retired = true`); kept in the pack, out of [`PersonaPack::sources`].
    pub retired: bool,
    pub text: String,
    pub path: PathBuf,
}

impl Source {
    /// Days since 0000-03-01 (proleptic Gregorian), for recency arithmetic without a date crate.
    pub fn day_number(&self) -> Option<i64> {
        day_number(&self.date)
    }
}

/// Converts `YYYY-MM-DD` to a day count; `None` if malformed or not a real date.
pub fn day_number(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month[(m - 1) as usize] {
        return None;
    }
    // Days-from-civil (Howard Hinnant), shifted so March is month 0.
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe)
}

#[derive(Debug, Clone)]
pub struct PersonaPack {
    pub dir: PathBuf,
    pub meta: PersonaMeta,
    /// The sources the twin speaks from, sorted by id.
    pub sources: Vec<Source>,
    /// Sources the person retired: still in the pack, never retrieved or quoted.
    pub retired: Vec<Source>,
}

impl PersonaPack {
    /// Loads a pack, or lists every problem found in it.
    pub fn load(dir: &Path) -> Result<Self, PackErrors> {
        let mut problems = Vec::new();
        let meta = meta::read_meta(&dir.join("persona.toml"), &mut problems);
        let mut sources = Vec::new();
        for (folder, kind) in [
            ("statements", SourceKind::Statement),
            ("strategy", SourceKind::Strategy),
            ("corrections", SourceKind::Statement),
        ] {
            load_folder(&dir.join(folder), kind, &mut sources, &mut problems);
        }
        checks::check_corrections(dir, &sources, &mut problems);
        checks::check_has_statement(dir, &sources, &mut problems);
        checks::check_unique_ids(&sources, &mut problems);
        checks::check_supersedes(&sources, &mut problems);
        match meta {
            Some(meta) if problems.is_empty() => {
                sources.sort_by(|a, b| a.id.cmp(&b.id));
                let (retired, sources) = sources.into_iter().partition(|s| s.retired);
                Ok(PersonaPack {
                    dir: dir.to_path_buf(),
                    meta,
                    sources,
                    retired,
                })
            }
            _ => Err(PackErrors(problems)),
        }
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// A source of the pack, retired or not.
    pub fn any_source(&self, id: &str) -> Option<&Source> {
        self.sources
            .iter()
            .chain(&self.retired)
            .find(|s| s.id == id)
    }

    /// The newest date in the pack: "now" for recency weighting, so results don't drift with the wall clock.
    pub fn newest_day(&self) -> i64 {
        self.sources
            .iter()
            .filter_map(Source::day_number)
            .max()
            .unwrap_or(0)
    }
}

/// Ids of the person and of sources: lowercase letters, digits and dashes, as they name files and URLs.
fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parses every `.md` file of `folder`, in name order; only `statements/` must exist.
fn load_folder(
    folder: &Path,
    kind: SourceKind,
    sources: &mut Vec<Source>,
    problems: &mut Vec<Problem>,
) {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !folder.ends_with("statements") => {
            return;
        }
        Err(e) => {
            problems.push(whole_file(folder, format!("cannot read folder: {e}")));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    paths.sort();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse_source(&path, &text, kind) {
                Ok(source) => sources.push(source),
                Err(mut p) => problems.append(&mut p),
            },
            Err(e) => problems.push(whole_file(&path, format!("cannot read: {e}"))),
        }
    }
}

/// A statement for tests: the given id, date, text and supersedes, one topic ("office").
#[cfg(test)]
pub(crate) fn test_source(id: &str, date: &str, text: &str, supersedes: &[&str]) -> Source {
    Source {
        id: id.into(),
        kind: SourceKind::Statement,
        medium: "blog".into(),
        date: date.into(),
        title: "t".into(),
        url: None,
        topics: vec!["office".into()],
        supersedes: supersedes.iter().map(|s| s.to_string()).collect(),
        retired: false,
        text: text.into(),
        path: PathBuf::from(format!("{id}.md")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers() {
        assert_eq!(
            day_number("2024-03-01").unwrap() - day_number("2024-02-28").unwrap(),
            2
        );
        assert_eq!(
            day_number("2025-01-01").unwrap() - day_number("2024-01-01").unwrap(),
            366
        );
        assert!(day_number("2023-02-29").is_none());
        assert!(day_number("2023-13-01").is_none());
    }
}
