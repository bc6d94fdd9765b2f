//! Shared strategies for the property tests in `tests/`: inputs made by mutating valid seeds (bytes flipped,
//! cut, repeated, spliced), since what breaks a parser is mostly near what it accepts, plus plain noise.
//!
//! Each test runs `cases()` cases: `TWIN_FUZZ_CASES` (default 256, what `cargo xtask test` runs), more under
//! `cargo xtask fuzz`. A failure prints the smallest input proptest could shrink it to.

use proptest::prelude::*;

/// Cases per target: `TWIN_FUZZ_CASES`, or 256.
pub fn cases() -> u32 {
    std::env::var("TWIN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// The proptest config every target runs with (no files written for regressions: the seeds are the corpus).
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One change to a byte string.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip { at: usize, bits: u8 },
    Set { at: usize, byte: u8 },
    Cut { at: usize },
    Remove { at: usize, len: usize },
    Repeat { at: usize, len: usize, times: usize },
    Insert { at: usize, bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, bits)| Mutation::Flip { at, bits }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Cut { at }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Remove { at, len }),
        (any::<usize>(), 1usize..32, 2usize..16).prop_map(|(at, len, times)| Mutation::Repeat {
            at,
            len,
            times
        }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
    ]
}

/// Applies mutations to `seed` (positions taken modulo its length).
pub fn mutate(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for m in mutations {
        let n = out.len().max(1);
        match m {
            Mutation::Flip { at, bits } if !out.is_empty() => out[at % n] ^= bits,
            Mutation::Set { at, byte } if !out.is_empty() => out[at % n] = *byte,
            Mutation::Cut { at } => out.truncate(at % n),
            Mutation::Remove { at, len } if !out.is_empty() => {
                let start = at % n;
                let end = (start + len).min(out.len());
                out.drain(start..end);
            }
            Mutation::Repeat { at, len, times } if !out.is_empty() => {
                let start = at % n;
                let end = (start + len).min(out.len());
                let piece = out[start..end].to_vec();
                for _ in 0..*times {
                    out.splice(end..end, piece.iter().copied());
                }
            }
            Mutation::Insert { at, bytes } => {
                let at = at % (out.len() + 1);
                out.splice(at..at, bytes.iter().copied());
            }
            _ => {}
        }
    }
    out
}

/// Inputs near the seeds: one of them, changed one to eight times; and now and then plain noise.
pub fn near(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let count = seeds.len();
    prop_oneof![
        8 => (0..count, prop::collection::vec(mutation(), 1..8))
            .prop_map(move |(i, ms)| mutate(&seeds[i], &ms)),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

/// The same, as text (bytes that are not UTF-8 are replaced).
pub fn near_text<S: AsRef<str>>(seeds: Vec<S>) -> impl Strategy<Value = String> {
    near(
        seeds
            .iter()
            .map(|s| s.as_ref().as_bytes().to_vec())
            .collect(),
    )
    .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_in_bounds() {
        let seed = b"hello".to_vec();
        let all = [
            Mutation::Flip { at: 99, bits: 1 },
            Mutation::Repeat {
                at: 3,
                len: 10,
                times: 3,
            },
            Mutation::Remove { at: 1, len: 100 },
            Mutation::Insert {
                at: 1000,
                bytes: vec![1, 2],
            },
            Mutation::Cut { at: 2 },
        ];
        let out = mutate(&seed, &all);
        assert!(out.len() <= 20, "{out:?}");
        assert!(mutate(&[], &all).len() <= 2);
    }
}
