//! The end of turn's reading of a transcript: the embedded model finds a whole question likelier to end than
//! the same question stopped mid-way, whatever closing mark the recognizer put on it.

use twin_llm::sentence_end::SentenceEnd;

fn judge() -> SentenceEnd {
    let model =
        twin_testkit::models_with(&["smollm2"]).join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    SentenceEnd::load(&model, 1).expect("the embedded model loads")
}

#[test]
fn a_question_stopped_midway_goes_on_and_a_whole_one_ends() {
    let judge = judge();
    let p = |text: &str| judge.probability(text).expect("the model answers");
    for (whole, cut) in [
        (
            "Can you say more about the hiring freeze?",
            "Can you say more about?",
        ),
        (
            "What did the board decide last week?",
            "What did the board decide last.",
        ),
        (
            "I would like to hear your view on remote work.",
            "I would like to hear your view on",
        ),
    ] {
        let (whole_p, cut_p) = (p(whole), p(cut));
        // The listener's threshold (twin_listen's ENDS_AT) is 0.03: each side well clear of it.
        assert!(whole_p > 0.1, "{whole:?}: {whole_p}");
        assert!(cut_p < 0.01, "{cut:?}: {cut_p}");
    }
    assert_eq!(p("  ?"), 1.0, "nothing said has nothing to go on from");
}

#[test]
fn a_missing_model_is_named() {
    let err = SentenceEnd::load(std::path::Path::new("/nonexistent/model.gguf"), 1)
        .err()
        .expect("no model, no judge");
    assert!(err.to_string().contains("/nonexistent/model.gguf"), "{err}");
}
