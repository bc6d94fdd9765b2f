//! Words in their spoken form: lower case, punctuation off, numbers, money and percentages spelled out,
//! common abbreviations written in full. How recognized speech is compared with what was said, and how
//! barge-in tells real words from noise.

/// Words in their spoken form, the same way for what was said and what was recognized (the usual English
/// normalization for word error rates, and how barge-in counts real words): lower case, punctuation removed (apostrophes kept:
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
    use crate::numbers::{ONES, TENS};
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

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn numbers_abbreviations_and_hyphens_come_out_spoken() {
        assert_eq!(
            words("Mr. Dashwood, cold-hearted: 10 of clubs, 3.5%, $1,200 in 2026"),
            "mister dashwood cold hearted ten of clubs three point five percent one thousand two \
             hundred dollars in two thousand twenty six"
                .split(' ')
                .collect::<Vec<_>>()
        );
    }
}
