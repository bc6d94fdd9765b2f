//! Retrieval's figure, and the prompts the server would build from what it retrieves (for the LLM backends).

use crate::series::Series;
use anyhow::Result;
use std::sync::Arc;
use std::time::Instant;
use twin_bench::models_dir;
use twin_llm::{Message, Role};
use twin_persona::{Embedder, PersonaPack, Retriever};

/// Retrieval's time per question, and each question's prompt as the server builds it.
pub(crate) async fn measure(
    pack: &PersonaPack,
    questions: &[String],
) -> Result<(Series, Vec<Vec<Message>>)> {
    eprintln!("retrieval…");
    let embedder = Arc::new(Embedder::load(&models_dir().join("all-minilm-l6-v2"))?);
    let persona = Arc::new(twin_server::persona::Persona::new(
        pack.clone(),
        Retriever::build(pack, embedder)?,
        3,
    )?);
    let mut retrieval = Series::new("retrieval (embed query + hybrid search)", "ms");
    let mut prompts = Vec::new();
    for q in questions {
        let started = Instant::now();
        let reading = persona.read(q).await.map_err(anyhow::Error::msg)?;
        let (r, _) = persona
            .search(&reading, &[])
            .await
            .map_err(anyhow::Error::msg)?;
        retrieval
            .values
            .push(started.elapsed().as_secs_f64() * 1000.0);
        let notes: Vec<String> = persona
            .excerpts(&r, 3)
            .into_iter()
            .map(|e| e.text)
            .collect();
        prompts.push(vec![
            Message::new(Role::System, persona.system_prompt()),
            Message::new(Role::User, persona.grounded_question(q, &notes)),
        ]);
    }
    Ok((retrieval, prompts))
}
