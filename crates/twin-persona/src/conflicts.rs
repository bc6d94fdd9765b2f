//! Sources of a pack that disagree with no `supersedes` between them: the pack's author should say which one
//! stands (`twin-server persona check` lists them).

use crate::claims::{self, Disagreement};
use crate::pack::PersonaPack;
use crate::recency;

/// Two sources on a shared topic whose sentences disagree, where neither names the other as replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub topic: String,
    pub older: String,
    pub newer: String,
    pub older_sentence: String,
    pub newer_sentence: String,
    pub why: Disagreement,
}

/// Sentences sharing this many content words are about the same thing.
const SAME_THING: usize = 3;

/// Every pair of sources on a shared topic whose claims disagree and that no `supersedes` settles, the first
/// disagreeing sentences of each pair.
pub fn undeclared(pack: &PersonaPack) -> Vec<Conflict> {
    let replaced_by = recency::replacements(pack);
    let replaces = |newer: usize, older: usize| replaced_by[older].contains(&newer);
    let sentences: Vec<Vec<(String, claims::Claim)>> = pack
        .sources
        .iter()
        .map(|s| {
            twin_text::sentence::split(&s.text)
                .into_iter()
                .map(|t| {
                    let c = claims::analyse(&t);
                    (t, c)
                })
                .collect()
        })
        .collect();
    let day = |i: usize| pack.sources[i].day_number().unwrap_or(0);
    let mut out = Vec::new();
    for a in 0..pack.sources.len() {
        for b in 0..pack.sources.len() {
            let (sa, sb) = (&pack.sources[a], &pack.sources[b]);
            let ordered = day(a) < day(b) || (day(a) == day(b) && a < b);
            if !ordered || replaces(b, a) || replaces(a, b) {
                continue;
            }
            let Some(topic) = sa
                .topics
                .iter()
                .find(|t| sb.topics.iter().any(|u| u.eq_ignore_ascii_case(t)))
            else {
                continue;
            };
            if let Some(c) = first_disagreement(&sentences[a], &sentences[b]) {
                out.push(Conflict {
                    topic: topic.clone(),
                    older: sa.id.clone(),
                    newer: sb.id.clone(),
                    older_sentence: c.0,
                    newer_sentence: c.1,
                    why: c.2,
                });
            }
        }
    }
    out
}

fn first_disagreement(
    older: &[(String, claims::Claim)],
    newer: &[(String, claims::Claim)],
) -> Option<(String, String, Disagreement)> {
    for (ot, oc) in older {
        for (nt, nc) in newer {
            let shared = oc.terms.iter().filter(|t| nc.terms.contains(t)).count();
            if shared < SAME_THING {
                continue;
            }
            if let Some(why) = claims::changed(oc, nc) {
                return Some((ot.clone(), nt.clone(), why));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::{Source, test_source as source};

    fn pack(sources: Vec<Source>) -> PersonaPack {
        let meta = toml::from_str(
            "id = \"p\"\nname = \"P Q\"\nrole = \"CEO\"\norganization = \"O\"\ndisclosure = \"An AI.\"\n[style]\ndescription = \"x\"\n[voice]\nid = \"v\"",
        )
        .unwrap();
        PersonaPack {
            dir: ".".into(),
            meta,
            sources,
            retired: vec![],
        }
    }

    #[test]
    fn a_changed_number_with_no_supersedes_is_reported() {
        let old = "Office teams come in three days a week, on Tuesday and Thursday.";
        let new = "Office teams come in two days a week, on Tuesday and Thursday.";
        let found = undeclared(&pack(vec![
            source("s1", "2023-01-01", old, &[]),
            source("n1", "2026-01-01", new, &[]),
        ]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].older.as_str(), found[0].newer.as_str()),
            ("s1", "n1")
        );
        let settled = undeclared(&pack(vec![
            source("s1", "2023-01-01", old, &[]),
            source("n1", "2026-01-01", new, &["s1"]),
        ]));
        assert!(settled.is_empty(), "{settled:?}");
    }
}
