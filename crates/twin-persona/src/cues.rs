//! What form an answer takes: "why" is answered by a reason, "how many" by a number, "when" by a time. The
//! embedder blurs this ("Why did we start doing that?" sits nearer "what we started" than "because..."), so
//! a unit in the form the question asks for gains a little.

/// What a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Reason,
    Number,
    Time,
    Anything,
}

/// Reads what a question asks for from its first words.
pub fn wanted(question: &str) -> Wanted {
    let q = question.trim().to_lowercase();
    let starts = |p: &[&str]| p.iter().any(|w| q.starts_with(w));
    if starts(&["why", "how come", "what for", "for what reason"]) {
        Wanted::Reason
    } else if starts(&[
        "how many",
        "how much",
        "how big",
        "how large",
        "how fast",
        "how long",
    ]) {
        Wanted::Number
    } else if starts(&[
        "when",
        "since when",
        "until when",
        "what year",
        "which year",
        "by when",
    ]) {
        Wanted::Time
    } else {
        Wanted::Anything
    }
}

const REASONS: &[&str] = &[
    "because",
    "so that",
    "the reason",
    "that's why",
    "which is why",
    "since",
    "so we",
    "so people",
    "to make",
    "to keep",
    "mostly protects",
];
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "spring",
    "summer",
    "autumn",
    "winter",
    "quarter",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "day",
    "days",
];

/// Whether a unit is in the form the question asks for.
pub fn answers_in_form(wanted: Wanted, sentences: &[String]) -> bool {
    let text = format!(" {} ", sentences.join(" ").to_lowercase());
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let number =
        |w: &&str| w.chars().any(|c| c.is_ascii_digit()) || crate::claims::is_number_word(w);
    match wanted {
        Wanted::Reason => REASONS.iter().any(|r| text.contains(&format!(" {r} "))),
        Wanted::Number => words.iter().any(number),
        Wanted::Time => words.iter().any(|w| {
            MONTHS.contains(w)
                || (w.len() == 4 && w.starts_with("20") && w.chars().all(|c| c.is_ascii_digit()))
        }),
        Wanted::Anything => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Vec<String> {
        vec![t.to_string()]
    }

    #[test]
    fn the_form_of_the_answer_is_read_from_the_question() {
        assert_eq!(wanted("Why did we start doing that?"), Wanted::Reason);
        assert_eq!(wanted("How many people were there?"), Wanted::Number);
        assert_eq!(wanted("When does Helm 3 launch?"), Wanted::Time);
        assert_eq!(wanted("Do we track workers?"), Wanted::Anything);
        assert!(answers_in_form(
            Wanted::Reason,
            &s("We did this because pay secrecy protects whoever underpays.")
        ));
        assert!(!answers_in_form(
            Wanted::Reason,
            &s("Every employee sees the pay bands.")
        ));
        assert!(answers_in_form(
            Wanted::Number,
            &s("Three of us, one prototype.")
        ));
        assert!(answers_in_form(
            Wanted::Time,
            &s("Helm 3 launches in September.")
        ));
        assert!(!answers_in_form(Wanted::Time, &s("Safety beats speed.")));
    }
}
