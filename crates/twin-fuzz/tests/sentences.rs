//! The sentence splitter: whatever text streams in, in whatever pieces, it never panics and never loses or
//! invents words.

use proptest::prelude::*;
use twin_fuzz::{config, near_text};
use twin_text::sentence::SentenceSplitter;

const TEXT: &[&str] = &[
    "Robots should take the walking, not the job. We slow to 0.8 m/s near people! Dr. Smith agreed?",
    "From October 1, 2026, office-based teams come in two days a week... \"Safety beats speed,\" I said.",
    "U.S. sales rose 3.5% in Q2 — e.g. in St. Louis. Why? Because we listened.",
];

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_word_comes_out_once_in_order(
        text in near_text(TEXT.to_vec()),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let chars: Vec<char> = text.chars().collect();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (chars.len() + 1)).collect();
        points.push(chars.len());
        points.sort_unstable();
        let mut splitter = SentenceSplitter::new();
        let (mut out, mut from) = (Vec::new(), 0);
        for to in points {
            let piece: String = chars[from..to].iter().collect();
            out.extend(splitter.push(&piece));
            from = to;
        }
        out.extend(splitter.finish());
        let joined = out.join(" ");
        prop_assert_eq!(words(&joined), words(&text));
    }
}
