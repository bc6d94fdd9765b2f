//! Word error rate: how recognition is scored against what was said.

/// Words as scoring compares them, the same way for what was said and what was recognized (the usual
/// English normalization for word error rates): lower case, punctuation removed (apostrophes kept:
/// "don't"), hyphenated words split ("cold-hearted"), numbers spelled out ("10" → "ten", "3.5" → "three
/// point five", "20%" → "twenty percent"), and the common abbreviations written in full ("Mr." → "mister").
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in s.split(|c: char| c.is_whitespace() || matches!(c, '-' | '—' | '–' | '/')) {
        let token = token.trim_matches(|c: char| !c.is_alphanumeric() && !matches!(c, '%' | '$'));
        let (token, percent) = match token.strip_suffix('%') {
            Some(t) => (t, true),
            None => (token, false),
        };
        let (token, dollars) = match token.strip_prefix('$') {
            Some(t) => (t, true),
            None => (token, false),
        };
        let plain = token.replace(',', "");
        if let Some(spoken) = spell_number(&plain) {
            out.extend(spoken);
        } else {
            let w: String = token
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .flat_map(char::to_lowercase)
                .collect();
            let w = match w.as_str() {
                "mr" => "mister".into(),
                "mrs" => "missus".into(),
                "dr" => "doctor".into(),
                "ok" => "okay".into(),
                "vs" => "versus".into(),
                _ => w,
            };
            if !w.is_empty() {
                out.push(w);
            }
        }
        if dollars {
            out.push("dollars".into());
        }
        if percent {
            out.push("percent".into());
        }
    }
    out
}

/// "42" → ["forty", "two"]; "3.5" → ["three", "point", "five"]; `None` for anything else.
fn spell_number(token: &str) -> Option<Vec<String>> {
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let (whole, fraction) = token.split_once('.').unwrap_or((token, ""));
    if whole.is_empty() || whole.len() > 12 || fraction.contains('.') {
        return None;
    }
    let mut out = cardinal(whole.parse().ok()?);
    if !fraction.is_empty() {
        out.push("point".into());
        for d in fraction.chars() {
            out.extend(cardinal(d.to_digit(10)? as u64));
        }
    }
    Some(out)
}

fn cardinal(n: u64) -> Vec<String> {
    use twin_text::numbers::{ONES, TENS};
    let mut out: Vec<String> = Vec::new();
    let below_thousand = |n: u64, out: &mut Vec<String>| {
        if n >= 100 {
            out.push(ONES[(n / 100) as usize].into());
            out.push("hundred".into());
        }
        let r = n % 100;
        if r >= 20 {
            out.push(TENS[(r / 10) as usize].into());
            if !r.is_multiple_of(10) {
                out.push(ONES[(r % 10) as usize].into());
            }
        } else if r > 0 || n == 0 {
            out.push(ONES[r as usize].into());
        }
    };
    if n == 0 {
        return vec!["zero".into()];
    }
    for (scale, name) in [
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ] {
        if n >= scale && !(n / scale).is_multiple_of(1000) {
            below_thousand((n / scale) % 1000, &mut out);
            out.push(name.into());
        }
    }
    if !n.is_multiple_of(1000) {
        below_thousand(n % 1000, &mut out);
    }
    out
}

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
        assert_eq!(
            words("Mr. Dashwood, cold-hearted: 10 of clubs, 3.5%, $1,200 in 2026"),
            "mister dashwood cold hearted ten of clubs three point five percent one thousand two \
             hundred dollars in two thousand twenty six"
                .split(' ')
                .collect::<Vec<_>>()
        );
        assert_eq!(word_error_rate("ten of clubs", "10 of clubs."), 0.0);
    }
}
