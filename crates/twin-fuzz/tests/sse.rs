//! The LLM server's event stream: whatever bytes arrive, in whatever pieces, reading gives text pieces or a
//! clear error, and never reads past `[DONE]`.

use proptest::prelude::*;
use twin_fuzz::{config, near};
use twin_llm::Usage;
use twin_llm::openai::drain_events;

const STREAM: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"Safety \"}}]}\n\n\
data: {\"choices\":[{\"delta\":{\"content\":\"beats speed.\"}}],\"timings\":{\"cache_n\":3,\"prompt_ms\":1.5,\"predicted_ms\":9.0}}\n\n\
: a comment\n\
data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":4}}\n\n\
data: [DONE]\n\n";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn event_streams_read_or_are_refused(
        bytes in near(vec![STREAM.as_bytes().to_vec()]),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        // Delivered in pieces, as a network delivers them.
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.push(bytes.len());
        points.sort_unstable();
        let (mut buffer, mut usage, mut from) = (Vec::new(), Usage::default(), 0);
        for to in points {
            buffer.extend_from_slice(&bytes[from..to]);
            from = to;
            match drain_events(&mut buffer, &mut usage) {
                Ok((_, true)) | Err(_) => break,
                Ok((_, false)) => prop_assert!(!buffer.contains(&b'\n')),
            }
        }
    }

    #[test]
    fn the_unchanged_stream_reads_whole(cut in 0usize..STREAM.len()) {
        let (mut buffer, mut usage) = (STREAM.as_bytes()[..cut].to_vec(), Usage::default());
        let (mut text, first_done) = drain_events(&mut buffer, &mut usage).unwrap();
        let done = first_done || {
            buffer.extend_from_slice(&STREAM.as_bytes()[cut..]);
            let (more, done) = drain_events(&mut buffer, &mut usage).unwrap();
            text.extend(more);
            done
        };
        prop_assert!(done);
        prop_assert_eq!(text.concat(), "Safety beats speed.");
        prop_assert_eq!(usage.completion_tokens, 4);
    }
}
