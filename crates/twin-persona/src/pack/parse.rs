//! Parsing one source file: TOML front matter between two `+++` lines, then the text, with every problem
//! reported at its line.

use super::is_slug;
use super::problem::{Problem, toml_problem};
use super::{CORRECTION_KIND, Source, SourceKind};
use serde::Deserialize;
use std::path::Path;

/// The longest text one source may have, in characters.
pub const MAX_SOURCE_CHARS: usize = 4_000;
const STATEMENT_KINDS: &[&str] = &[
    "keynote",
    "interview",
    "blog",
    "podcast",
    "letter",
    "panel",
    "social",
    "memo",
    CORRECTION_KIND,
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    date: toml::value::Datetime,
    title: String,
    #[serde(default)]
    url: Option<String>,
    kind: String,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    supersedes: Vec<String>,
    #[serde(default)]
    retired: bool,
}

/// Parses one source file; `path` is only used in messages.
pub fn parse_source(path: &Path, text: &str, kind: SourceKind) -> Result<Source, Vec<Problem>> {
    let parts = split_front_matter(path, text)?;
    let fm: FrontMatter =
        toml::from_str(&parts.front).map_err(|e| vec![toml_problem(path, &parts.front, 1, &e)])?;
    let spot = Spot {
        path,
        front: &parts.front,
    };
    // Every problem of the file, not only the first, so one `persona check` lists them all.
    let mut problems = Vec::new();
    check_id(&spot, &fm.id, &mut problems);
    let date = plain_date(&spot, &fm.date, &mut problems);
    if fm.title.trim().is_empty() {
        problems.push(spot.at(spot.line_of("title"), "title must not be empty".into()));
    }
    check_url(&spot, &fm, kind, parts.closing_line, &mut problems);
    check_kind(&spot, &fm.kind, kind, &mut problems);
    check_body(&spot, &parts.body, parts.closing_line, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Source {
        id: fm.id,
        kind,
        medium: fm.kind,
        date,
        title: fm.title,
        url: fm.url,
        topics: fm.topics,
        supersedes: fm.supersedes,
        retired: fm.retired,
        text: parts.body,
        path: path.to_path_buf(),
    })
}

/// A source file cut at its front matter.
struct Parts {
    /// The TOML between the two `+++` lines.
    front: String,
    /// The 1-based line of the closing `+++`.
    closing_line: usize,
    /// The text after it, trimmed.
    body: String,
}

/// Where a file's problems are reported: its path, and the front matter to find a key's line in.
struct Spot<'a> {
    path: &'a Path,
    front: &'a str,
}

impl Spot<'_> {
    fn at(&self, line: usize, message: String) -> Problem {
        Problem {
            path: self.path.to_path_buf(),
            line,
            column: 1,
            message,
        }
    }

    /// The line of the first front-matter line starting with `key`; the first line of TOML if none does.
    fn line_of(&self, key: &str) -> usize {
        self.front
            .lines()
            .position(|l| l.trim_start().starts_with(key))
            .map(|i| i + 2)
            .unwrap_or(2)
    }
}

/// Cuts the file into its front matter and its text, or says why it has no front matter.
fn split_front_matter(path: &Path, text: &str) -> Result<Parts, Vec<Problem>> {
    let first_line = |message: &str| vec![Spot { path, front: "" }.at(1, message.into())];
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("+++") {
        return Err(first_line(
            "expected front matter: the file must start with a line `+++`",
        ));
    }
    let mut front = String::new();
    let mut closing_line = None;
    for (i, line) in lines.by_ref().enumerate() {
        if line.trim_end() == "+++" {
            closing_line = Some(i + 2);
            break;
        }
        front.push_str(line);
    }
    let Some(closing_line) = closing_line else {
        return Err(first_line(
            "front matter is not closed: no second `+++` line",
        ));
    };
    let body: String = lines.collect::<String>().trim().to_string();
    Ok(Parts {
        front,
        closing_line,
        body,
    })
}

/// The id names the file and is a slug.
fn check_id(spot: &Spot, id: &str, problems: &mut Vec<Problem>) {
    let stem = spot.path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if id != stem {
        problems.push(spot.at(
            spot.line_of("id"),
            format!("id {id:?} must match the file name {stem:?}"),
        ));
    }
    if !is_slug(id) {
        problems.push(spot.at(
            spot.line_of("id"),
            format!("id {id:?} must be lowercase letters, digits and dashes"),
        ));
    }
}

/// The date as `YYYY-MM-DD`; empty, with a problem, when it is not a plain date.
fn plain_date(spot: &Spot, date: &toml::value::Datetime, problems: &mut Vec<Problem>) -> String {
    match (&date.date, &date.time) {
        (Some(d), None) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        _ => {
            problems.push(spot.at(
                spot.line_of("date"),
                "date must be a plain date like 2025-03-14".into(),
            ));
            String::new()
        }
    }
}

/// A public statement names its source; a url, where given, is a web address. (A correction is the
/// person's own word, with no url to give.)
fn check_url(
    spot: &Spot,
    fm: &FrontMatter,
    kind: SourceKind,
    closing_line: usize,
    problems: &mut Vec<Problem>,
) {
    match (&fm.url, kind) {
        (None, SourceKind::Statement) if fm.kind != CORRECTION_KIND => problems.push(spot.at(
            closing_line,
            "a public statement needs the url of its source".into(),
        )),
        (Some(u), _) if !(u.starts_with("https://") || u.starts_with("http://")) => {
            problems.push(spot.at(
                spot.line_of("url"),
                format!("url {u:?} must start with https:// or http://"),
            ))
        }
        _ => {}
    }
}

/// The `kind` field fits the folder: a statement's medium, or `strategy` for a strategy note.
fn check_kind(spot: &Spot, medium: &str, kind: SourceKind, problems: &mut Vec<Problem>) {
    match kind {
        SourceKind::Statement if !STATEMENT_KINDS.contains(&medium) => problems.push(spot.at(
            spot.line_of("kind"),
            format!(
                "kind {medium:?} is not one of {}",
                STATEMENT_KINDS.join(", ")
            ),
        )),
        SourceKind::Strategy if medium != "strategy" => problems.push(spot.at(
            spot.line_of("kind"),
            "a strategy note has kind = \"strategy\"".into(),
        )),
        _ => {}
    }
}

/// The text is there, and short enough to retrieve as one passage.
fn check_body(spot: &Spot, body: &str, closing_line: usize, problems: &mut Vec<Problem>) {
    if body.is_empty() {
        problems.push(spot.at(
            closing_line + 1,
            "the text after the front matter is empty".into(),
        ));
    } else if body.chars().count() > MAX_SOURCE_CHARS {
        problems.push(spot.at(
            closing_line + 1,
            format!("the text is longer than {MAX_SOURCE_CHARS} characters; split it into several sources"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "+++\nid = \"s001\"\ndate = 2024-03-14\ntitle = \"Keynote\"\nurl = \"https://x.example/k\"\nkind = \"keynote\"\n+++\nWe build robots.\n";

    #[test]
    fn parses_a_good_statement() {
        let s = parse_source(Path::new("statements/s001.md"), GOOD, SourceKind::Statement).unwrap();
        assert_eq!(s.id, "s001");
        assert_eq!(s.date, "2024-03-14");
        assert_eq!(s.text, "We build robots.");
    }

    #[test]
    fn reports_the_line_of_a_toml_error() {
        let bad = GOOD.replace("title = \"Keynote\"", "title = Keynote");
        let p =
            parse_source(Path::new("statements/s001.md"), &bad, SourceKind::Statement).unwrap_err();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 4, "{p:?}");
    }

    #[test]
    fn reports_semantic_problems_with_lines() {
        let bad = GOOD
            .replace("kind = \"keynote\"", "kind = \"rumour\"")
            .replace("\"s001\"", "\"s002\"");
        let p =
            parse_source(Path::new("statements/s001.md"), &bad, SourceKind::Statement).unwrap_err();
        let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 6], "{p:?}");
    }

    #[test]
    fn missing_front_matter_and_missing_url() {
        let p = parse_source(Path::new("s001.md"), "hello", SourceKind::Statement).unwrap_err();
        assert!(p[0].message.contains("front matter"));
        let no_url = GOOD.replace("url = \"https://x.example/k\"\n", "");
        let p = parse_source(Path::new("s001.md"), &no_url, SourceKind::Statement).unwrap_err();
        assert!(p[0].message.contains("url"));
        let unclosed = "+++\nid = \"s001\"\n";
        assert!(parse_source(Path::new("s001.md"), unclosed, SourceKind::Statement).is_err());
    }
}
