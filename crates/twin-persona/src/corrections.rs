//! The person teaching their twin: a correction written into the pack's `corrections/` folder (a dated
//! statement, `kind = "correction"`, superseding what it corrects), and a source retired from retrieval
//! (`retired = true` in its front matter). Each change is written atomically (a temporary file, synced, then
//! linked or renamed into place) and the whole pack is loaded again with it: a change that leaves the pack
//! with a problem is undone and the problems are returned.

use crate::pack::{CORRECTION_KIND, PackErrors, PersonaPack, SourceKind, parse_source};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What the person would actually say, as a new statement of the pack.
#[derive(Debug, Clone)]
pub struct Correction<'a> {
    pub text: &'a str,
    /// Shown in citations ("Correction by Owen Marsh").
    pub title: &'a str,
    /// `YYYY-MM-DD`: the day it was written.
    pub date: &'a str,
    pub topics: &'a [String],
    /// The sources it corrects; empty for a statement that fills a gap.
    pub supersedes: &'a [String],
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("the change was not made: {0}")]
    Invalid(PackErrors),
    #[error("no source {0:?} in this pack")]
    UnknownSource(String),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EditError + '_ {
    move |error| EditError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Writes `correction` as the pack's next `corrections/cNNN.md` and returns its id and the pack as it now
/// stands. Nothing is left behind when the correction or the pack with it does not validate.
pub fn add_correction(
    dir: &Path,
    correction: &Correction<'_>,
) -> Result<(String, PersonaPack), EditError> {
    let folder = dir.join("corrections");
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let id = next_id(&folder)?;
    let path = folder.join(format!("{id}.md"));
    let text = render(&id, correction);
    // Checked on its own first, so its problems name its own lines.
    parse_source(&path, &text, SourceKind::Statement)
        .map_err(|p| EditError::Invalid(PackErrors(p)))?;
    let temporary = folder.join(format!(".{id}.md.tmp"));
    write_synced(&temporary, &text)?;
    // A hard link never replaces a file: two corrections written at once cannot take the same id.
    let linked = std::fs::hard_link(&temporary, &path).map_err(io(&path));
    let _ = std::fs::remove_file(&temporary);
    linked?;
    sync_folder(&folder);
    match PersonaPack::load(dir) {
        Ok(pack) => Ok((id, pack)),
        Err(problems) => {
            let _ = std::fs::remove_file(&path);
            Err(EditError::Invalid(problems))
        }
    }
}

/// Marks source `id` retired (hidden from retrieval, kept in the pack) or brings it back, and returns the pack
/// as it now stands.
pub fn set_retired(dir: &Path, id: &str, retired: bool) -> Result<PersonaPack, EditError> {
    let pack = PersonaPack::load(dir).map_err(EditError::Invalid)?;
    let source = pack
        .any_source(id)
        .ok_or_else(|| EditError::UnknownSource(id.to_string()))?;
    let path = source.path.clone();
    let before = std::fs::read_to_string(&path).map_err(io(&path))?;
    let after = with_retired(&before, retired).ok_or_else(|| {
        EditError::Invalid(PackErrors(vec![crate::Problem {
            path: path.clone(),
            line: 1,
            column: 1,
            message: "its front matter could not be found".into(),
        }]))
    })?;
    replace_file(&path, &after)?;
    match PersonaPack::load(dir) {
        Ok(pack) => Ok(pack),
        Err(problems) => {
            replace_file(&path, &before)?;
            Err(EditError::Invalid(problems))
        }
    }
}

/// The source file's text with its `retired` line set: removed when `retired` is false.
fn with_retired(text: &str, retired: bool) -> Option<String> {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines
        .first()
        .map(|l| l.trim_end().trim_start_matches('\u{feff}'))
        != Some("+++")
    {
        return None;
    }
    let closing = 1 + lines[1..].iter().position(|l| l.trim_end() == "+++")?;
    let front: Vec<&str> = lines[1..closing]
        .iter()
        .copied()
        .filter(|l| !is_retired_line(l))
        .collect();
    let closing_line = lines[closing];
    let rest = lines.split_off(closing + 1);
    let mut out = String::from(lines[0]);
    for l in front {
        out.push_str(l);
        if !l.ends_with('\n') {
            out.push('\n');
        }
    }
    if retired {
        out.push_str("retired = true\n");
    }
    out.push_str(closing_line);
    out.extend(rest);
    Some(out)
}

fn is_retired_line(line: &str) -> bool {
    line.trim_start()
        .strip_prefix("retired")
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

/// The next free `cNNN` in the folder.
fn next_id(folder: &Path) -> Result<String, EditError> {
    let mut highest = 0u32;
    for entry in std::fs::read_dir(folder).map_err(io(folder))? {
        let name = entry.map_err(io(folder))?.file_name();
        let n = name
            .to_str()
            .and_then(|n| n.strip_prefix('c'))
            .and_then(|n| n.strip_suffix(".md"))
            .and_then(|n| n.parse::<u32>().ok());
        highest = highest.max(n.unwrap_or(0));
    }
    Ok(format!("c{:03}", highest + 1))
}

fn render(id: &str, c: &Correction<'_>) -> String {
    let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
    let list = |items: &[String]| {
        let items: Vec<String> = items.iter().map(|s| quoted(s)).collect();
        format!("[{}]", items.join(", "))
    };
    // The text may not open a line with +++ inside the front matter, but it is the body: only the first
    // closing line counts, so the body is free.
    format!(
        "+++\nid = {}\ndate = {}\ntitle = {}\nkind = {}\ntopics = {}\nsupersedes = {}\n+++\n{}\n",
        quoted(id),
        c.date,
        quoted(c.title),
        quoted(CORRECTION_KIND),
        list(c.topics),
        list(c.supersedes),
        c.text.trim().replace("\r\n", "\n"),
    )
}

fn write_synced(path: &Path, text: &str) -> Result<(), EditError> {
    let mut file = std::fs::File::create(path).map_err(io(path))?;
    file.write_all(text.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Writes `text` over `path` atomically: a synced temporary file renamed over it.
fn replace_file(path: &Path, text: &str) -> Result<(), EditError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("source");
    let temporary = path.with_file_name(format!(".{name}.tmp"));
    write_synced(&temporary, text)?;
    std::fs::rename(&temporary, path).map_err(io(path))?;
    if let Some(folder) = path.parent() {
        sync_folder(folder);
    }
    Ok(())
}

/// The new name survives a power cut once its folder is synced (best effort: not every system allows it).
fn sync_folder(folder: &Path) {
    if let Ok(f) = std::fs::File::open(folder) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: &str = "id = \"p\"\nname = \"Pat Quinn\"\nrole = \"CEO\"\norganization = \"O\"\n\
        disclosure = \"I am an AI twin.\"\n[style]\ndescription = \"x\"\n[voice]\nid = \"v\"\n";

    fn pack_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("persona.toml"), META).unwrap();
        std::fs::create_dir(dir.path().join("statements")).unwrap();
        std::fs::write(
            dir.path().join("statements/s001.md"),
            "+++\nid = \"s001\"\ndate = 2024-03-14\ntitle = \"Keynote\"\nurl = \"https://x.example/k\"\n\
             kind = \"keynote\"\ntopics = [\"office\"]\n+++\nWe come in three days a week.\n",
        )
        .unwrap();
        dir
    }

    fn correction<'a>(text: &'a str, supersedes: &'a [String]) -> Correction<'a> {
        Correction {
            text,
            title: "Correction by Pat Quinn",
            date: "2026-12-05",
            topics: &[],
            supersedes,
        }
    }

    #[test]
    fn a_correction_becomes_a_statement_that_supersedes_its_source() {
        let dir = pack_dir();
        let old = vec!["s001".to_string()];
        let (id, pack) = add_correction(
            dir.path(),
            &correction("Two days a week, \"Tuesday\" and Thursday.", &old),
        )
        .unwrap();
        assert_eq!(id, "c001");
        let c = pack.source("c001").unwrap();
        assert_eq!(c.medium, CORRECTION_KIND);
        assert_eq!(c.supersedes, old);
        assert_eq!(c.text, "Two days a week, \"Tuesday\" and Thursday.");
        let (next, _) = add_correction(dir.path(), &correction("More.", &[])).unwrap();
        assert_eq!(next, "c002");
        // No temporary file is left.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("corrections"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_bad_correction_leaves_nothing_behind() {
        let dir = pack_dir();
        let unknown = vec!["s999".to_string()];
        let err = add_correction(dir.path(), &correction("Fine.", &unknown)).unwrap_err();
        assert!(err.to_string().contains("s999"), "{err}");
        let err = add_correction(dir.path(), &correction("   ", &[])).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let long = "word ".repeat(1000);
        assert!(add_correction(dir.path(), &correction(&long, &[])).is_err());
        let left = std::fs::read_dir(dir.path().join("corrections"))
            .unwrap()
            .count();
        assert_eq!(left, 0);
        assert!(PersonaPack::load(dir.path()).is_ok());
    }

    #[test]
    fn a_retired_source_stays_in_the_pack_out_of_retrieval() {
        let dir = pack_dir();
        add_correction(dir.path(), &correction("Two days.", &[])).unwrap();
        let pack = set_retired(dir.path(), "s001", true).unwrap();
        assert!(pack.source("s001").is_none());
        assert_eq!(pack.any_source("s001").unwrap().id, "s001");
        let text = std::fs::read_to_string(dir.path().join("statements/s001.md")).unwrap();
        assert_eq!(text.matches("retired = true").count(), 1, "{text}");
        // Retiring twice changes nothing; bringing it back removes the line.
        set_retired(dir.path(), "s001", true).unwrap();
        let pack = set_retired(dir.path(), "s001", false).unwrap();
        assert!(pack.source("s001").is_some());
        let back = std::fs::read_to_string(dir.path().join("statements/s001.md")).unwrap();
        assert!(!back.contains("retired"), "{back}");
        assert!(matches!(
            set_retired(dir.path(), "s404", true),
            Err(EditError::UnknownSource(_))
        ));
    }

    #[test]
    fn a_correction_outside_its_folder_is_a_problem() {
        let dir = pack_dir();
        std::fs::write(
            dir.path().join("statements/s002.md"),
            "+++\nid = \"s002\"\ndate = 2024-03-14\ntitle = \"T\"\nkind = \"correction\"\n+++\nText.\n",
        )
        .unwrap();
        let problems = PersonaPack::load(dir.path()).unwrap_err();
        assert!(problems.to_string().contains("corrections/"), "{problems}");
    }
}
