//! Persona packs: whatever a statement's file holds, parsing gives a source or problems with their lines.

use proptest::prelude::*;
use std::path::Path;
use twin_fuzz::{config, near_text};
use twin_persona::SourceKind;

fn seeds() -> Vec<String> {
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/personas/owen-marsh");
    let mut seeds = Vec::new();
    for dir in ["statements", "strategy"] {
        let mut files: Vec<_> = std::fs::read_dir(pack.join(dir))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        seeds.extend(
            files
                .iter()
                .take(4)
                .map(|f| std::fs::read_to_string(f).unwrap()),
        );
    }
    seeds
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn statements_parse_or_name_their_problems(text in near_text(seeds())) {
        for kind in [SourceKind::Statement, SourceKind::Strategy] {
            if let Err(problems) = twin_persona::pack::parse_source(Path::new("s.toml"), &text, kind) {
                prop_assert!(!problems.is_empty());
            }
        }
    }
}
