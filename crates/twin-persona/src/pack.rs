//! Loading and validating a persona pack: `persona.toml`, `statements/*.md`, `strategy/*.md`, and the
//! person's own corrections, `corrections/*.md` (written by the review console, see [`crate::corrections`]).
//!
//! Each source file starts with TOML front matter between two `+++` lines, then the text itself.
//! Every problem is reported with its file, line and column, and all problems are collected,
//! so `twin-server persona check` can list them in one go.

use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

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

/// The medium of a statement the person wrote in review, correcting what the twin said (`corrections/`).
pub const CORRECTION_KIND: &str = "correction";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// 1-based; 0 when the problem concerns the whole file or folder.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// Everything wrong with a pack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PackErrors(pub Vec<Problem>);

impl fmt::Display for PackErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "persona pack has {} problem(s):", self.0.len())?;
        for p in &self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

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
        let meta_path = dir.join("persona.toml");
        let meta = match std::fs::read_to_string(&meta_path) {
            Ok(text) => match toml::from_str::<PersonaMeta>(&text) {
                Ok(meta) => {
                    check_meta(&meta, &meta_path, &mut problems);
                    Some(meta)
                }
                Err(e) => {
                    problems.push(toml_problem(&meta_path, &text, 0, &e));
                    None
                }
            },
            Err(e) => {
                problems.push(whole_file(
                    &meta_path,
                    format!("cannot read persona.toml: {e}"),
                ));
                None
            }
        };
        let mut sources = Vec::new();
        for (folder, kind) in [
            ("statements", SourceKind::Statement),
            ("strategy", SourceKind::Strategy),
            ("corrections", SourceKind::Statement),
        ] {
            load_folder(&dir.join(folder), kind, &mut sources, &mut problems);
        }
        check_corrections(dir, &sources, &mut problems);
        if !sources.iter().any(|s| s.kind == SourceKind::Statement) {
            problems.push(whole_file(
                &dir.join("statements"),
                "a pack needs at least one statement".into(),
            ));
        }
        let mut seen: HashMap<&str, &Path> = HashMap::new();
        for s in &sources {
            if let Some(first) = seen.insert(&s.id, &s.path) {
                problems.push(Problem {
                    path: s.path.clone(),
                    line: 2,
                    column: 1,
                    message: format!("duplicate id {:?}, also used by {}", s.id, first.display()),
                });
            }
        }
        check_supersedes(&sources, &mut problems);
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

/// Every `supersedes` names another source of the pack that is not newer than the one replacing it, and no
/// chain of them comes back to where it started.
fn check_supersedes(sources: &[Source], problems: &mut Vec<Problem>) {
    let by_id: HashMap<&str, &Source> = sources.iter().map(|s| (s.id.as_str(), s)).collect();
    for s in sources {
        for old in &s.supersedes {
            let message = match by_id.get(old.as_str()) {
                None => format!("supersedes {old:?}, which is not a source of this pack"),
                Some(o) if o.id == s.id => "a source cannot supersede itself".to_string(),
                Some(o) if o.day_number() > s.day_number() => format!(
                    "supersedes {old:?} of {}, which is newer than this source ({})",
                    o.date, s.date
                ),
                Some(_) => continue,
            };
            problems.push(Problem {
                path: s.path.clone(),
                line: 2,
                column: 1,
                message,
            });
        }
        // Dates rule out a cycle except among sources of one day: follow the chain from each source.
        // (Naming itself is reported above.)
        let mut todo: Vec<&str> = s
            .supersedes
            .iter()
            .map(String::as_str)
            .filter(|&id| id != s.id)
            .collect();
        let mut seen: Vec<&str> = Vec::new();
        while let Some(id) = todo.pop() {
            if id == s.id {
                problems.push(Problem {
                    path: s.path.clone(),
                    line: 2,
                    column: 1,
                    message: "its supersedes come back to it through other sources".into(),
                });
                break;
            }
            let Some(older) = by_id.get(id).filter(|_| !seen.contains(&id)) else {
                continue;
            };
            seen.push(id);
            todo.extend(older.supersedes.iter().map(String::as_str));
        }
    }
}

/// `corrections/` holds only corrections, and corrections live only there.
fn check_corrections(dir: &Path, sources: &[Source], problems: &mut Vec<Problem>) {
    let folder = dir.join("corrections");
    for s in sources {
        let in_folder = s.path.parent() == Some(folder.as_path());
        let message = match (in_folder, s.medium == CORRECTION_KIND) {
            (true, false) => "a file in corrections/ has kind = \"correction\"",
            (false, true) => "kind = \"correction\" belongs in the corrections/ folder",
            _ => continue,
        };
        problems.push(Problem {
            path: s.path.clone(),
            line: 2,
            column: 1,
            message: message.into(),
        });
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

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn whole_file(path: &Path, message: String) -> Problem {
    Problem {
        path: path.to_path_buf(),
        line: 0,
        column: 0,
        message,
    }
}

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
    let at = |line: usize, message: String| {
        vec![Problem {
            path: path.to_path_buf(),
            line,
            column: 1,
            message,
        }]
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("+++") {
        return Err(at(
            1,
            "expected front matter: the file must start with a line `+++`".into(),
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
        return Err(at(
            1,
            "front matter is not closed: no second `+++` line".into(),
        ));
    };
    let body: String = lines.collect::<String>().trim().to_string();
    let fm: FrontMatter =
        toml::from_str(&front).map_err(|e| vec![toml_problem(path, &front, 1, &e)])?;
    let line_of = |key: &str| {
        front
            .lines()
            .position(|l| l.trim_start().starts_with(key))
            .map(|i| i + 2)
            .unwrap_or(2)
    };
    let mut problems = Vec::new();
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if fm.id != stem {
        problems.extend(at(
            line_of("id"),
            format!("id {:?} must match the file name {stem:?}", fm.id),
        ));
    }
    if !is_slug(&fm.id) {
        problems.extend(at(
            line_of("id"),
            format!(
                "id {:?} must be lowercase letters, digits and dashes",
                fm.id
            ),
        ));
    }
    let date = match (&fm.date.date, &fm.date.time) {
        (Some(d), None) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        _ => {
            problems.extend(at(
                line_of("date"),
                "date must be a plain date like 2025-03-14".into(),
            ));
            String::new()
        }
    };
    if fm.title.trim().is_empty() {
        problems.extend(at(line_of("title"), "title must not be empty".into()));
    }
    match (&fm.url, kind) {
        (None, SourceKind::Statement) if fm.kind != CORRECTION_KIND => problems.extend(at(
            closing_line,
            "a public statement needs the url of its source".into(),
        )),
        (Some(u), _) if !(u.starts_with("https://") || u.starts_with("http://")) => problems
            .extend(at(
                line_of("url"),
                format!("url {u:?} must start with https:// or http://"),
            )),
        _ => {}
    }
    match kind {
        SourceKind::Statement if !STATEMENT_KINDS.contains(&fm.kind.as_str()) => {
            problems.extend(at(
                line_of("kind"),
                format!(
                    "kind {:?} is not one of {}",
                    fm.kind,
                    STATEMENT_KINDS.join(", ")
                ),
            ))
        }
        SourceKind::Strategy if fm.kind != "strategy" => problems.extend(at(
            line_of("kind"),
            "a strategy note has kind = \"strategy\"".into(),
        )),
        _ => {}
    }
    if body.is_empty() {
        problems.extend(at(
            closing_line + 1,
            "the text after the front matter is empty".into(),
        ));
    } else if body.chars().count() > MAX_SOURCE_CHARS {
        problems.extend(at(
            closing_line + 1,
            format!("the text is longer than {MAX_SOURCE_CHARS} characters; split it into several sources"),
        ));
    }
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
        text: body,
        path: path.to_path_buf(),
    })
}

/// Turns a TOML error into a line-precise problem; `line_offset` is the number of lines before the TOML text.
fn toml_problem(path: &Path, text: &str, line_offset: usize, e: &toml::de::Error) -> Problem {
    let (line, column) = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(0)
                + 1;
            (line + line_offset, column)
        }
        None => (line_offset + 1, 1),
    };
    Problem {
        path: path.to_path_buf(),
        line,
        column,
        message: e.message().to_string(),
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

    #[test]
    fn supersedes_must_name_an_older_source_of_the_pack() {
        let source =
            |id: &str, date: &str, supersedes: &[&str]| test_source(id, date, "x", supersedes);
        let mut problems = Vec::new();
        let ok = [
            source("s1", "2024-01-01", &[]),
            source("n1", "2026-01-01", &["s1"]),
        ];
        check_supersedes(&ok, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let bad = [
            source("s1", "2024-01-01", &["n1", "s1"]),
            source("n1", "2026-01-01", &["s9"]),
        ];
        check_supersedes(&bad, &mut problems);
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(problems.len(), 3, "{messages:?}");
        assert!(messages[0].contains("newer"), "{messages:?}");
        assert!(messages[1].contains("itself"), "{messages:?}");
        assert!(messages[2].contains("not a source"), "{messages:?}");
        let mut problems = Vec::new();
        let same_day = [
            source("a", "2026-01-01", &["b"]),
            source("b", "2026-01-01", &["a"]),
        ];
        check_supersedes(&same_day, &mut problems);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().all(|p| p.message.contains("come back")));
    }

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
