//! A problem found in a pack, with its file, line and column, and turning TOML errors into such problems.

use std::fmt;
use std::path::{Path, PathBuf};

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

pub(super) fn whole_file(path: &Path, message: String) -> Problem {
    Problem {
        path: path.to_path_buf(),
        line: 0,
        column: 0,
        message,
    }
}

/// Turns a TOML error into a line-precise problem; `line_offset` is the number of lines before the TOML text.
pub(super) fn toml_problem(
    path: &Path,
    text: &str,
    line_offset: usize,
    e: &toml::de::Error,
) -> Problem {
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
