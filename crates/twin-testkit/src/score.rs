//! Word error rate: how recognition is scored against what was said (words compared in their spoken form,
//! `twin_text::words`).

use twin_text::words::words;

/// Word-level edit distance and the reference's word count.
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let (r, h) = (words(reference), words(hypothesis));
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for i in 1..=r.len() {
        let mut prev = row[0];
        row[0] = i;
        for j in 1..=h.len() {
            let cur = row[j];
            row[j] = (row[j] + 1)
                .min(row[j - 1] + 1)
                .min(prev + usize::from(r[i - 1] != h[j - 1]));
            prev = cur;
        }
    }
    (row[h.len()], r.len())
}

/// Word errors over the reference's words (0 when both are empty).
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let (errors, words) = word_errors(reference, hypothesis);
    errors as f64 / words.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_substitutions_insertions_and_deletions() {
        assert_eq!(word_errors("The cat sat.", "the cat sat"), (0, 3));
        assert_eq!(word_errors("the cat sat", "the bat sat down"), (2, 3));
        assert_eq!(word_errors("the cat sat", "cat"), (2, 3));
        assert_eq!(word_error_rate("", ""), 0.0);
        assert_eq!(word_error_rate("ten of clubs", "10 of clubs."), 0.0);
    }
}
