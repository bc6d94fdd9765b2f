//! Cuts a token stream into sentences as they complete, so speech synthesis can start on the first one.

/// Words after which a period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd",
    "co", "corp", "no", "approx", "dept", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "u.s",
];

/// Splits a whole text into sentences, by the same rules as the streaming splitter.
pub fn split(text: &str) -> Vec<String> {
    let mut splitter = SentenceSplitter::new();
    let mut out = splitter.push(text);
    out.extend(splitter.finish());
    out
}

#[derive(Debug, Default)]
pub struct SentenceSplitter {
    buffer: String,
}

impl SentenceSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds streamed text; returns the sentences it completed, trimmed.
    pub fn push(&mut self, text: &str) -> Vec<String> {
        self.buffer.push_str(text);
        let mut out = Vec::new();
        while let Some(end) = self.find_boundary() {
            let sentence: String = self.buffer.drain(..end).collect();
            let sentence = sentence.trim();
            if !sentence.is_empty() {
                out.push(sentence.to_string());
            }
        }
        out
    }

    /// The rest, at the end of the stream.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buffer);
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }

    /// Byte index just past a sentence end that is followed by whitespace (so "3.5" or "e.g." mid-stream wait).
    fn find_boundary(&self) -> Option<usize> {
        let chars: Vec<(usize, char)> = self.buffer.char_indices().collect();
        for (n, &(i, c)) in chars.iter().enumerate() {
            if c == '\n' && n > 0 && chars[n - 1].1 == '\n' {
                return Some(i + 1);
            }
            if !matches!(c, '.' | '!' | '?' | '…') {
                continue;
            }
            // Include closing quotes and brackets and further punctuation ("?!", ".\"").
            let mut m = n + 1;
            while m < chars.len()
                && matches!(
                    chars[m].1,
                    '.' | '!' | '?' | '"' | '\'' | ')' | '”' | '’' | ']'
                )
            {
                m += 1;
            }
            let &(next_i, next) = chars.get(m)?;
            if !next.is_whitespace() {
                continue;
            }
            if c == '.' && self.is_abbreviation(i) {
                continue;
            }
            return Some(next_i);
        }
        None
    }

    fn is_abbreviation(&self, dot: usize) -> bool {
        let word: String = self.buffer[..dot]
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '.')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let lower = word.to_lowercase();
        // Single capital letters are initials ("J. Smith").
        ABBREVIATIONS.contains(&lower.as_str())
            || (word.chars().count() == 1 && word.chars().all(char::is_uppercase))
    }
}

/// Words that open a clause of their own within a sentence: "move assembly overseas | so we hit the margin
/// target", "set up a status call | for the Helm 3 migration".
const CLAUSE_OPENERS: &[&str] = &[
    "so that",
    "so",
    "before",
    "until",
    "because",
    "while",
    "unless",
    "instead of",
    "in order to",
    "for",
    "by",
    "and then",
    "but",
];

/// The clauses of a sentence of several points, at commas, semicolons and the words that open a clause; each
/// of at least `min_words` words. A sentence of one point comes back whole.
pub fn clauses(sentence: &str, min_words: usize) -> Vec<String> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let mut parts: Vec<Vec<&str>> = vec![Vec::new()];
    let mut i = 0;
    while i < words.len() {
        let rest: Vec<String> = words[i..]
            .iter()
            .take(3)
            .map(|w| w.to_lowercase())
            .collect();
        let opener = CLAUSE_OPENERS.iter().find(|o| {
            let n = o.split(' ').count();
            rest.len() >= n && rest[..n].join(" ") == **o
        });
        if let Some(o) = opener.filter(|_| i > 0) {
            parts.push(Vec::new());
            i += o.split(' ').count();
            continue;
        }
        let w = words[i];
        if let Some(part) = parts.last_mut() {
            part.push(w.trim_end_matches([',', ';']));
        }
        if w.ends_with(',') || w.ends_with(';') {
            parts.push(Vec::new());
        }
        i += 1;
    }
    let clauses: Vec<String> = parts
        .into_iter()
        .filter(|p| p.len() >= min_words)
        .map(|p| p.join(" "))
        .collect();
    if clauses.len() > 1 {
        clauses
    } else {
        vec![sentence.to_string()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_stream(pieces: &[&str]) -> Vec<String> {
        let mut s = SentenceSplitter::new();
        let mut out: Vec<String> = pieces.iter().flat_map(|p| s.push(p)).collect();
        out.extend(s.finish());
        out
    }

    #[test]
    fn splits_as_tokens_arrive() {
        let mut s = SentenceSplitter::new();
        assert!(s.push("Here's the thing").is_empty());
        assert!(
            s.push(".").is_empty(),
            "waits for the space after the period"
        );
        assert_eq!(s.push(" We"), vec!["Here's the thing."]);
        assert!(s.push(" ship").is_empty());
        assert_eq!(s.push(" robots! Why? "), vec!["We ship robots!", "Why?"]);
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn keeps_numbers_abbreviations_and_initials_together() {
        let out = split_stream(&[
            "Margins rose 3.5 percent, e.g. in Europe. Dr. Lee and J. Smith agreed. ",
            "Done",
        ]);
        assert_eq!(
            out,
            vec![
                "Margins rose 3.5 percent, e.g. in Europe.",
                "Dr. Lee and J. Smith agreed.",
                "Done"
            ]
        );
    }

    #[test]
    fn closing_quotes_stay_with_their_sentence() {
        let out = split_stream(&["He said \"no way.\" Then ", "he left."]);
        assert_eq!(out, vec!["He said \"no way.\"", "Then he left."]);
    }

    #[test]
    fn a_sentence_of_several_points_comes_apart_at_its_clauses() {
        assert_eq!(
            clauses(
                "My team wants to set up a weekly Wednesday status call for the Helm 3 migration.",
                3
            ),
            vec![
                "My team wants to set up a weekly Wednesday status call",
                "the Helm 3 migration."
            ]
        );
        assert_eq!(
            clauses(
                "I'm planning to wait, then tell them before the audit closes.",
                3
            ),
            vec![
                "I'm planning to wait",
                "then tell them",
                "the audit closes."
            ]
        );
        assert_eq!(
            clauses("Safety beats speed.", 3),
            vec!["Safety beats speed."]
        );
    }

    #[test]
    fn blank_lines_end_sentences() {
        assert_eq!(split_stream(&["A list\n\nB"]), vec!["A list", "B"]);
    }
}
