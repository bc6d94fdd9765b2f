//! Teaching the twin from the console: a correction of a reply (a dated statement that supersedes the sources
//! it rested on), a statement that fills a gap, and retiring a source. Each change is written into the pack
//! (see [`twin_persona::corrections`]), validated like any source, and the persona is loaded again before the
//! answer goes back: the next question uses it.

use super::html::{self, csrf_field, esc, reply_card, url};
use super::pages::{frame, read};
use super::{Reviewer, Reviewing, anonymise};
use crate::app::AppState;
use crate::store::Store;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;
use twin_persona::PersonaPack;
use twin_persona::corrections::{self, Correction, EditError};

#[derive(serde::Deserialize)]
pub struct ReplyQuery {
    reply: String,
    /// The id of a correction just saved, to say so.
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /console/correct`: a reply with the form for what the person would actually say.
pub async fn correct_form(
    State(state): State<Arc<AppState>>,
    Reviewing { reviewer, persona }: Reviewing,
    Query(q): Query<ReplyQuery>,
) -> Response {
    let (pid, rid) = (persona.clone(), q.reply.clone());
    let reply = match read(&state, move |c| Store::reply(c, &pid, &rid)).await {
        Ok(Some(reply)) => reply,
        Ok(_) => {
            return html::error_page(
                StatusCode::NOT_FOUND,
                "There is no such reply of this persona.",
            );
        }
        Err(page) => return page,
    };
    let mut sources: Vec<String> = Vec::new();
    for id in reply.sentences.iter().filter_map(|s| s.source.clone()) {
        if !sources.contains(&id) {
            sources.push(id);
        }
    }
    let said = |id: &str| {
        state
            .persona(Some(&persona))
            .and_then(|p| p.pack.source(id).map(|s| s.text.clone()))
            .unwrap_or_default()
    };
    let saved = q
        .saved
        .map(|id| {
            format!(
                "<p class=\"notice\" role=\"status\">Saved as {}: “{}” The twin uses it from the next question \
                 on. <a href=\"/console/playground?persona={}\">Try it in the playground</a>.</p>",
                esc(&id),
                esc(&said(&id)),
                url(&persona)
            )
        })
        .unwrap_or_default();
    let question = reply.question.as_deref().map(anonymise);
    let body = format!(
        "{saved}{card}<form method=\"post\" action=\"/console/corrections\" id=\"correction\">{csrf}\
         <input type=\"hidden\" name=\"persona\" value=\"{persona}\">\
         <input type=\"hidden\" name=\"session\" value=\"{session}\">\
         <input type=\"hidden\" name=\"reply\" value=\"{reply_id}\">\
         <label for=\"text\">What you would actually say</label>\
         <textarea id=\"text\" name=\"text\" rows=\"4\" required></textarea>\
         <label for=\"supersedes\">It replaces these sources (ids, space-separated)</label>\
         <input type=\"text\" id=\"supersedes\" name=\"supersedes\" value=\"{supersedes}\">\
         <label for=\"topics\">Topics (comma-separated; the replaced sources' topics when empty)</label>\
         <input type=\"text\" id=\"topics\" name=\"topics\">\
         <button type=\"submit\">Save the correction</button></form>",
        card = reply_card(&reply, question.as_deref(), None),
        csrf = csrf_field(&reviewer.csrf),
        persona = esc(&persona),
        session = esc(&reply.session_id),
        reply_id = esc(&reply.reply_id),
        supersedes = esc(&sources.join(" ")),
    );
    html::page(
        &frame(&reviewer, &persona, "Correct a reply", "/console/questions"),
        &body,
    )
}

#[derive(serde::Deserialize)]
pub struct CorrectionForm {
    #[serde(default)]
    csrf: String,
    persona: String,
    #[serde(default)]
    session: String,
    #[serde(default)]
    reply: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    supersedes: String,
    #[serde(default)]
    topics: String,
}

/// `POST /console/corrections`.
pub async fn correct(
    State(state): State<Arc<AppState>>,
    reviewer: Reviewer,
    Form(form): Form<CorrectionForm>,
) -> Response {
    if let Err(refused) = reviewer.check(&form.csrf) {
        return refused;
    }
    let supersedes: Vec<String> = form
        .supersedes
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let teaching = Teaching {
        persona: &form.persona,
        text: &form.text,
        supersedes,
        topics: split_topics(&form.topics),
        action: "correction",
    };
    match teach(&state, &reviewer, teaching).await {
        Ok(id) => {
            let to = format!(
                "/console/correct?persona={}&session={}&reply={}&saved={}",
                url(&form.persona),
                url(&form.session),
                url(&form.reply),
                url(&id)
            );
            Redirect::to(&to).into_response()
        }
        Err(page) => page,
    }
}

#[derive(serde::Deserialize)]
pub struct StatementForm {
    #[serde(default)]
    csrf: String,
    persona: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    topics: String,
}

/// `POST /console/statements`: what the person would say to a question the twin could not answer.
pub async fn add_statement(
    State(state): State<Arc<AppState>>,
    reviewer: Reviewer,
    Form(form): Form<StatementForm>,
) -> Response {
    if let Err(refused) = reviewer.check(&form.csrf) {
        return refused;
    }
    let teaching = Teaching {
        persona: &form.persona,
        text: &form.text,
        supersedes: vec![],
        topics: split_topics(&form.topics),
        action: "statement",
    };
    match teach(&state, &reviewer, teaching).await {
        Ok(id) => {
            let body = format!(
                "<p class=\"notice\" role=\"status\">Saved as {}: the twin uses it from the next question on.</p>\
                 <p><a href=\"/console/gaps?persona={p}\">Back to the gaps</a> · \
                 <a href=\"/console/playground?persona={p}\">Try it in the playground</a></p>",
                esc(&id),
                p = url(&form.persona)
            );
            html::page(
                &frame(&reviewer, &form.persona, "Statement added", "/console/gaps"),
                &body,
            )
        }
        Err(page) => page,
    }
}

fn split_topics(topics: &str) -> Vec<String> {
    topics
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// A new statement of the person's, from the console.
struct Teaching<'a> {
    persona: &'a str,
    text: &'a str,
    supersedes: Vec<String>,
    /// Empty: the topics of the sources it supersedes.
    topics: Vec<String>,
    /// "correction" or "statement", for the stats.
    action: &'static str,
}

/// Writes the statement into the persona's pack and puts the persona, loaded again, in place. Returns its id.
async fn teach(
    state: &Arc<AppState>,
    reviewer: &Reviewer,
    t: Teaching<'_>,
) -> Result<String, Response> {
    let persona = reviewer.persona(Some(t.persona))?;
    let _one_at_a_time = state.teaching.lock().await;
    let loaded = state
        .persona(Some(&persona))
        .ok_or_else(|| html::error_page(StatusCode::NOT_FOUND, "That persona is not loaded."))?;
    let mut topics = t.topics;
    if topics.is_empty() {
        for id in &t.supersedes {
            for topic in loaded
                .pack
                .source(id)
                .map(|s| s.topics.clone())
                .unwrap_or_default()
            {
                if !topics.contains(&topic) {
                    topics.push(topic);
                }
            }
        }
    }
    let (dir, name) = (loaded.pack.dir.clone(), loaded.pack.meta.name.clone());
    let (text, supersedes) = (t.text.to_string(), t.supersedes);
    let title = match t.action {
        "correction" => format!("Correction by {name}, in review"),
        _ => format!("Statement by {name}, in review"),
    };
    let today = html::day(crate::store::now_ms());
    let written = tokio::task::spawn_blocking(move || {
        let correction = Correction {
            text: &text,
            title: &title,
            date: &today,
            topics: &topics,
            supersedes: &supersedes,
        };
        let (id, pack) = corrections::add_correction(&dir, &correction)?;
        Ok::<_, EditError>((id, loaded.reloaded(pack)))
    })
    .await;
    let (id, reloaded) = edited(written)?;
    state.replace_persona(reloaded);
    record(state, &persona, t.action, &id).await;
    tracing::info!(%persona, source = %id, holder = %reviewer.holder, "the person taught their twin");
    Ok(id)
}

/// A pack edit done on a blocking thread: its value and the persona loaded again, or why not.
type Edited<T> = Result<
    Result<(T, Result<crate::persona::Persona, twin_persona::EmbedError>), EditError>,
    tokio::task::JoinError,
>;

/// The outcome of a pack edit, as a page where it failed.
fn edited<T>(written: Edited<T>) -> Result<(T, crate::persona::Persona), Response> {
    match written {
        Ok(Ok((value, Ok(persona)))) => Ok((value, persona)),
        Ok(Ok((_, Err(e)))) => {
            tracing::error!(error = %e, "the corrected pack could not be indexed");
            Err(html::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The pack changed but could not be indexed; restart the server.",
            ))
        }
        Ok(Err(EditError::Invalid(problems))) => {
            let list: Vec<String> = problems.0.iter().map(|p| p.message.clone()).collect();
            Err(html::error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("Nothing was changed: {}", list.join("; ")),
            ))
        }
        Ok(Err(EditError::UnknownSource(id))) => Err(html::error_page(
            StatusCode::NOT_FOUND,
            &format!("There is no source {id} in the pack."),
        )),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "writing to the pack failed");
            Err(html::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The pack could not be written.",
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "a pack edit failed");
            Err(html::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The change failed.",
            ))
        }
    }
}

async fn record(state: &AppState, persona: &str, action: &'static str, source: &str) {
    let (persona, source) = (persona.to_string(), source.to_string());
    let recorded = state
        .store
        .run(move |c| Store::record_teaching(c, &persona, action, &source))
        .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "a change to the pack was made but not counted in the stats");
    }
}

#[derive(serde::Deserialize)]
pub struct RetireForm {
    #[serde(default)]
    csrf: String,
    persona: String,
    id: String,
    /// "true" retires, "false" brings back.
    retired: String,
}

/// `POST /console/sources/retire`.
pub async fn retire(
    State(state): State<Arc<AppState>>,
    reviewer: Reviewer,
    Form(form): Form<RetireForm>,
) -> Response {
    if let Err(refused) = reviewer.check(&form.csrf) {
        return refused;
    }
    let persona = match reviewer.persona(Some(&form.persona)) {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let retired = form.retired == "true";
    let _one_at_a_time = state.teaching.lock().await;
    let Some(loaded) = state.persona(Some(&persona)) else {
        return html::error_page(StatusCode::NOT_FOUND, "That persona is not loaded.");
    };
    let (dir, id) = (loaded.pack.dir.clone(), form.id.clone());
    let written = tokio::task::spawn_blocking(move || {
        let pack: PersonaPack = corrections::set_retired(&dir, &id, retired)?;
        Ok::<_, EditError>(((), loaded.reloaded(pack)))
    })
    .await;
    match edited(written) {
        Ok(((), reloaded)) => state.replace_persona(reloaded),
        Err(page) => return page,
    }
    let action = if retired { "retire" } else { "restore" };
    record(&state, &persona, action, &form.id).await;
    let to = format!(
        "/console/sources?persona={}#source-{}",
        url(&persona),
        url(&form.id)
    );
    Redirect::to(&to).into_response()
}
