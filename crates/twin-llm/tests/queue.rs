//! The embedded model's queue is bounded, and a job whose asker has gone is dropped unstarted.

mod common;

use common::model;
use twin_llm::embedded::{EmbeddedConfig, EmbeddedLlm, QUEUE};
use twin_llm::{GenerateRequest, LlmBackend, LlmError, Message, Role};

fn request() -> GenerateRequest {
    GenerateRequest {
        messages: vec![
            Message::new(Role::System, "You are a helpful assistant."),
            Message::new(Role::User, "Count from one to twenty in words."),
        ],
        max_tokens: 48,
        temperature: 0.0,
        seed: 1,
    }
}

#[tokio::test]
async fn the_queue_is_bounded_and_abandoned_jobs_are_skipped() {
    let llm = EmbeddedLlm::load(EmbeddedConfig {
        model_path: model(),
        threads: Some(1),
        context_tokens: 1024,
    })
    .unwrap();
    // One job running, QUEUE waiting: the next is refused at once, and may be retried later.
    let asked: Vec<_> = (0..QUEUE + 4).map(|_| llm.generate(request())).collect();
    let busy = asked
        .iter()
        .filter(|r| matches!(r, Err(LlmError::Busy(n)) if *n == QUEUE))
        .count();
    assert!(busy >= 2, "{busy} refused");
    assert!(
        asked
            .iter()
            .any(|r| r.as_ref().is_err_and(LlmError::is_retryable))
    );
    // Everyone who asked goes away: what waits is never started. The queue frees as the model skips it; a
    // client would retry a refused turn the same way.
    drop(asked);
    let stream = loop {
        match llm.generate(request()) {
            Ok(stream) => break stream,
            Err(LlmError::Busy(_)) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    let (text, _) = stream.collect_text().await.unwrap();
    assert!(!text.is_empty());
    assert!(
        llm.skipped() >= (QUEUE - 1) as u64,
        "skipped {}",
        llm.skipped()
    );
}
