//! The intent rules and the embedding classifier on the labelled examples: trained on
//! `assets/intents/train.toml`, scored on `assets/intents/heldout.toml` (never trained or tuned on).

mod common;

use std::collections::HashMap;
use twin_persona::Embedder;
use twin_server::guardrails::classifier::{Classifier, Examples};
use twin_server::guardrails::intent::Rules;
use twin_server::guardrails::{Intent, Intents};

struct Score {
    right: usize,
    total: usize,
    /// Per label: (right, total).
    labels: HashMap<&'static str, (usize, usize)>,
    wrong: Vec<String>,
}

fn score(examples: &[(Intent, String)], classify: impl Fn(&str) -> Intent) -> Score {
    let mut s = Score {
        right: 0,
        total: 0,
        labels: HashMap::new(),
        wrong: vec![],
    };
    for (want, text) in examples {
        let got = classify(text);
        let entry = s.labels.entry(want.label()).or_default();
        entry.1 += 1;
        s.total += 1;
        if got == *want {
            entry.0 += 1;
            s.right += 1;
        } else {
            s.wrong
                .push(format!("{text:?}: {} as {}", want.label(), got.label()));
        }
    }
    s
}

fn recall(s: &Score, label: &str) -> f64 {
    let (right, total) = s.labels.get(label).copied().unwrap_or((0, 1));
    right as f64 / total as f64
}

fn report(name: &str, s: &Score) {
    let mut labels: Vec<_> = s.labels.iter().collect();
    labels.sort();
    println!(
        "{name}: {}/{} right ({:.3}); per label {labels:?}",
        s.right,
        s.total,
        s.right as f64 / s.total as f64
    );
    if std::env::var_os("TWIN_EVAL_MISSES").is_some() {
        println!("  {}", s.wrong.join("\n  "));
    }
}

#[test]
fn rules_and_classifier_on_the_held_out_examples() {
    let root = common::demo_pack().join("../../intents");
    let embedder = Embedder::load(&common::models_dir().join("all-minilm-l6-v2")).unwrap();
    let train = Examples::load(&root.join("train.toml"))
        .unwrap()
        .for_person("Owen");
    let heldout = Examples::load(&root.join("heldout.toml"))
        .unwrap()
        .for_person("Owen");
    assert!(heldout.len() >= 60, "a held-out split of some size");
    let intents = Intents {
        rules: Rules::new(&["Owen Marsh", "Owen"]),
        classifier: Classifier::train(&embedder, &train).unwrap(),
    };
    let combined = |text: &str| {
        let v = embedder.embed(&[text]).unwrap().pop().unwrap();
        intents.intent(text, &v)
    };
    let rules = &intents.rules;
    let on_train = score(&train, |t| rules.classify(t));
    report("train split, rules alone", &on_train);
    let rules_only = score(&heldout, |t| rules.classify(t));
    report("held-out split, rules alone", &rules_only);
    let held = score(&heldout, combined);
    report("held-out split, rules + classifier", &held);
    // Floors a little under the first measurement (BENCHMARKS.md), to catch regressions; the aim
    // (intents that hold on paraphrase) is not met yet on this split.
    assert!(held.right as f64 / held.total as f64 >= 0.7);
    assert!(recall(&held, "identity") >= 0.65);
    assert!(recall(&held, "decision") >= 0.5);
    assert!(recall(&held, "question") >= 0.9);
    assert!(
        held.right >= rules_only.right,
        "the classifier adds to the rules"
    );
}

#[test]
fn the_built_in_examples_are_the_training_file() {
    let root = common::demo_pack().join("../../intents");
    let file = Examples::load(&root.join("train.toml")).unwrap();
    assert_eq!(file.example.len(), Examples::builtin().example.len());
}

/// Leave-one-out on the training split (`cargo test --release -- --ignored`): how the rules and the
/// classifier's thresholds were tuned, without the held-out split.
#[test]
#[ignore]
fn tune_on_the_training_split() {
    let root = common::demo_pack().join("../../intents");
    let embedder = Embedder::load(&common::models_dir().join("all-minilm-l6-v2")).unwrap();
    let train = Examples::load(&root.join("train.toml"))
        .unwrap()
        .for_person("Owen");
    let rules = Rules::new(&["Owen Marsh", "Owen"]);
    let asked = std::env::var("TWIN_TUNE_ASK").unwrap_or_default();
    if !asked.is_empty() {
        let c = Classifier::train(&embedder, &train).unwrap();
        for text in asked.split('|') {
            let t = twin_text::normalise::user_text(text);
            let v = embedder.embed(&[t.as_str()]).unwrap().pop().unwrap();
            println!(
                "{text:?}: rules {}, classifier {:?}",
                rules.classify(&t).label(),
                c.classify(&v).map(|i| i.label())
            );
        }
        return;
    }
    // Leave-one-out on the training split: how the classifier was tuned, without the held-out split.
    let texts: Vec<&str> = train.iter().map(|(_, t)| t.as_str()).collect();
    let vectors = embedder.embed(&texts).unwrap();
    let grid = [
        (5, 4, 0.55),
        (5, 4, 0.6),
        (5, 5, 0.55),
        (7, 5, 0.55),
        (7, 6, 0.55),
        (3, 3, 0.6),
    ];
    for (k, votes, similarity) in grid {
        let loo = score(&train, |text| match rules.classify(text) {
            Intent::Question => {
                let at = texts.iter().position(|t| *t == text).unwrap();
                let others = train
                    .iter()
                    .zip(&vectors)
                    .enumerate()
                    .filter(|(i, _)| *i != at)
                    .map(|(_, ((intent, _), v))| (*intent, v.clone()))
                    .collect();
                let c = Classifier::from_embedded(others);
                c.classify_with(&vectors[at], k, votes, similarity)
                    .unwrap_or(Intent::Question)
            }
            intent => intent,
        });
        report(
            &format!("train split, leave-one-out, k {k}, votes {votes}, similarity {similarity}"),
            &loo,
        );
    }
}
