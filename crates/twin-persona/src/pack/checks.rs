//! Checks across the sources of a pack: ids are unique, corrections live in `corrections/`, there is a
//! statement at all, and `supersedes` names older sources without going round in a circle.

use super::problem::{Problem, whole_file};
use super::{CORRECTION_KIND, Source, SourceKind};
use std::collections::HashMap;
use std::path::Path;

/// A pack speaks from at least one public statement.
pub(super) fn check_has_statement(dir: &Path, sources: &[Source], problems: &mut Vec<Problem>) {
    if !sources.iter().any(|s| s.kind == SourceKind::Statement) {
        problems.push(whole_file(
            &dir.join("statements"),
            "a pack needs at least one statement".into(),
        ));
    }
}

/// No two sources share an id, whatever folder they are in.
pub(super) fn check_unique_ids(sources: &[Source], problems: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for s in sources {
        if let Some(first) = seen.insert(&s.id, &s.path) {
            problems.push(Problem {
                path: s.path.clone(),
                line: 2,
                column: 1,
                message: format!("duplicate id {:?}, also used by {}", s.id, first.display()),
            });
        }
    }
}

/// Every `supersedes` names another source of the pack that is not newer than the one replacing it, and no
/// chain of them comes back to where it started.
pub(super) fn check_supersedes(sources: &[Source], problems: &mut Vec<Problem>) {
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
pub(super) fn check_corrections(dir: &Path, sources: &[Source], problems: &mut Vec<Problem>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::test_source;

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
}
