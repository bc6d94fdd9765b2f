//! The playground: the person asks their twin a question and sees the reply with its sources, exactly as an
//! employee would get it (the same reading, retrieval, words and checks), but nothing is stored: a playground
//! question is never an employee's conversation.

use super::html::{self, csrf_field, esc, reply_card};
use super::pages::frame;
use super::{Reviewer, Reviewing};
use crate::app::AppState;
use crate::reply::{Replier, Sent, Turn};
use crate::store::review::StoredReply;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;
use twin_protocol::{ClientMessage, MAX_USER_TEXT_CHARS};

/// `GET /console/playground`.
pub async fn form(Reviewing { reviewer, persona }: Reviewing) -> Response {
    let body = ask_form(&reviewer, &persona, "");
    html::page(
        &frame(&reviewer, &persona, "Playground", "/console/playground"),
        &body,
    )
}

fn ask_form(reviewer: &Reviewer, persona: &str, question: &str) -> String {
    format!(
        "<p>Ask your twin what an employee might. The reply shows the sources it rests on. Nothing asked here is \
         stored.</p><form method=\"post\" action=\"/console/playground\" id=\"playground\">{}\
         <input type=\"hidden\" name=\"persona\" value=\"{}\">\
         <label for=\"question\">Question</label>\
         <input type=\"text\" id=\"question\" name=\"question\" value=\"{}\" maxlength=\"{MAX_USER_TEXT_CHARS}\" required>\
         <button type=\"submit\">Ask</button></form>",
        csrf_field(&reviewer.csrf),
        esc(persona),
        esc(question),
    )
}

#[derive(serde::Deserialize)]
pub struct AskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    persona: Option<String>,
    #[serde(default)]
    question: String,
}

/// `POST /console/playground`: the twin's reply to the question, not stored.
pub async fn ask(
    State(state): State<Arc<AppState>>,
    reviewer: Reviewer,
    Form(form): Form<AskForm>,
) -> Response {
    if let Err(refused) = reviewer.check(&form.csrf) {
        return refused;
    }
    let persona = match reviewer.persona(form.persona.as_deref()) {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    // The same limits as an employee's turn.
    let turn = ClientMessage::UserFinal {
        turn_id: "playground".into(),
        text: form.question.clone(),
        attachment: None,
        revises: None,
    };
    if let Err(e) = ClientMessage::decode(&turn.encode()) {
        return html::error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("That question can't be asked: {e}"),
        );
    }
    let reply = match answer(&state, &persona, &form.question).await {
        Ok(reply) => reply,
        Err(message) => return html::error_page(StatusCode::SERVICE_UNAVAILABLE, &message),
    };
    let body = format!(
        "{}<h2>The twin's reply</h2><div id=\"answer\">{}</div>",
        ask_form(&reviewer, &persona, &form.question),
        reply_card(&reply, Some(&form.question), None)
    );
    html::page(
        &frame(&reviewer, &persona, "Playground", "/console/playground"),
        &body,
    )
}

/// Runs the reply pipeline on `question` with nowhere to store it.
async fn answer(
    state: &Arc<AppState>,
    persona_id: &str,
    question: &str,
) -> Result<StoredReply, String> {
    let persona = state
        .persona(Some(persona_id))
        .ok_or_else(|| "That persona is not loaded.".to_string())?;
    let (out, mut messages) = mpsc::channel(64);
    // The reply's messages are not needed here: what was said is in `sent`.
    let drain = tokio::spawn(async move { while messages.recv().await.is_some() {} });
    let sent = Arc::new(Mutex::new(Sent {
        started: Some(Instant::now()),
        ..Sent::default()
    }));
    let reply_id = "playground";
    let outcome = {
        let replier = Replier::configured(state, &persona, &out, reply_id, &sent);
        let turn = Turn {
            text: question,
            attachment: None,
            history: &[],
        };
        replier.answer(None, turn).await
    };
    drop(out);
    let _ = drain.await;
    let outcome = outcome.map_err(|e| {
        tracing::warn!(error = %e, "playground reply failed");
        "The twin cannot answer right now; try again in a moment.".to_string()
    })?;
    let sent = crate::sync::lock(&sent).clone();
    let audit = sent.audit(&persona);
    Ok(StoredReply {
        session_id: String::new(),
        reply_id: reply_id.into(),
        persona: persona_id.into(),
        question: Some(question.into()),
        text: outcome.text,
        kind: outcome.kind.as_str().into(),
        sentences: outcome.sentences,
        actions: audit.actions,
        latency_ms: audit.latency_ms,
        topic: audit.topic,
        interrupted: false,
        created_ms: crate::store::now_ms(),
    })
}
