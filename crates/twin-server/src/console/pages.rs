//! The console's reading pages: the overview with its stats, the questions by topic, flagged exchanges and
//! shared conversations, one conversation, the gaps, and the pack's sources.

use super::html::{self, Frame, correct_link, csrf_field, esc, reply_card, url};
use super::{Reviewer, Reviewing, anonymise};
use crate::app::AppState;
use crate::store::review::Said;
use crate::store::{Store, StoreError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rusqlite::Connection;
use std::fmt::Write as _;
use std::sync::Arc;

/// Days of history in the stats chart.
const CHART_DAYS: i64 = 30;
/// Latest questions shown on the questions page.
const QUESTIONS_SHOWN: usize = 200;
/// Most questions shown under one topic.
const PER_TOPIC: usize = 10;
/// "I don't know" replies looked at for gaps, and gaps shown.
const GAP_REPLIES: usize = 2_000;
const GAPS_SHOWN: usize = 30;

/// Runs a read on the store for a page; a failure becomes an error page.
pub(super) async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    state.store.run(move |c| f(c)).await.map_err(|e| {
        tracing::error!(error = %e, "console read failed");
        html::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The conversation store could not be read.",
        )
    })
}

pub(super) fn frame<'a>(
    reviewer: &'a Reviewer,
    persona: &'a str,
    title: &'a str,
    path: &'a str,
) -> Frame<'a> {
    Frame {
        title,
        path,
        csrf: &reviewer.csrf,
        persona,
        personas: &reviewer.personas,
    }
}

/// `/console` signed in: the twin's use over the last month.
pub async fn overview(state: &AppState, reviewer: &Reviewer, asked: Option<&str>) -> Response {
    let persona = match reviewer.persona(asked) {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let id = persona.clone();
    let now = crate::store::now_ms();
    let days = match read(state, move |c| Store::daily_stats(c, &id, CHART_DAYS, now)).await {
        Ok(days) => days,
        Err(page) => return page,
    };
    let body = format!(
        "<p>What your twin said in your name over the last {CHART_DAYS} days. Conversations are private: you \
         see questions without names, and exchanges only when an employee flagged them or shared the \
         conversation.</p><h2>Use</h2>{}",
        html::stats_chart(&days)
    );
    html::page(&frame(reviewer, &persona, "Overview", "/console"), &body)
}

/// `/console/questions`: the questions asked, anonymised, grouped by the topic of the source that answered.
pub async fn questions(
    State(state): State<Arc<AppState>>,
    Reviewing { reviewer, persona }: Reviewing,
) -> Response {
    let id = persona.clone();
    let read_all = read(&state, move |c| {
        Ok((
            Store::topic_counts(c, &id)?,
            Store::answered_questions(c, &id, QUESTIONS_SHOWN)?,
        ))
    });
    let (counts, replies) = match read_all.await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let mut body = String::from(
        "<p>Every question asked, without who asked or when beyond the day, grouped by the topic of the \
         source the twin answered from.</p>",
    );
    for (topic, count) in &counts {
        let name = topic
            .as_deref()
            .unwrap_or("no source (the twin said it did not know, or declined)");
        let _ = write!(
            body,
            "<section><h2>{} <small>({count})</small></h2>",
            esc(name)
        );
        for reply in replies.iter().filter(|r| &r.topic == topic).take(PER_TOPIC) {
            let question = reply.question.as_deref().map(anonymise);
            body.push_str(&reply_card(
                reply,
                question.as_deref(),
                Some(&correct_link(reply)),
            ));
        }
        body.push_str("</section>");
    }
    if counts.is_empty() {
        body.push_str("<p>No questions yet.</p>");
    }
    html::page(
        &frame(&reviewer, &persona, "Questions", "/console/questions"),
        &body,
    )
}

/// `/console/flagged`: the exchanges employees flagged, and the conversations they shared or rooms recorded.
pub async fn flagged(
    State(state): State<Arc<AppState>>,
    Reviewing { reviewer, persona }: Reviewing,
) -> Response {
    let (id, rooms) = (persona.clone(), state.config.rooms.recorded.clone());
    let read_all = read(&state, move |c| {
        Ok((
            Store::flagged(c, &id, 100)?,
            Store::visible_conversations(c, &id, &rooms, 100)?,
        ))
    });
    let (flags, conversations) = match read_all.await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let mut body = String::from("<h2>Flagged exchanges</h2>");
    if flags.is_empty() {
        body.push_str("<p>No one has flagged a reply.</p>");
    }
    for f in &flags {
        let note = f
            .note
            .as_deref()
            .map(esc)
            .unwrap_or_else(|| "no note".into());
        let _ = write!(
            body,
            "<section class=\"flag\"><p><strong>Flagged</strong> {} · “{note}”</p>",
            html::day(f.flagged_ms)
        );
        let question = f.reply.question.as_deref().map(anonymise);
        body.push_str(&reply_card(
            &f.reply,
            question.as_deref(),
            Some(&correct_link(&f.reply)),
        ));
        body.push_str("</section>");
    }
    body.push_str("<h2>Shared conversations and recorded rooms</h2>");
    if conversations.is_empty() {
        body.push_str("<p>No conversation has been shared with you.</p>");
    }
    body.push_str("<ul>");
    for c in &conversations {
        let label = match c.id.strip_prefix("room:") {
            Some(room) => format!("Room {} (recorded)", esc(room)),
            None => "A conversation shared with you".to_string(),
        };
        let href = format!(
            "/console/conversations/{}?persona={}",
            url(&c.id),
            url(&persona)
        );
        let _ = write!(
            body,
            "<li><a href=\"{}\">{label}</a>, {} turns, last {}</li>",
            esc(&href),
            c.turns,
            html::day(c.last_ms)
        );
    }
    body.push_str("</ul>");
    html::page(
        &frame(
            &reviewer,
            &persona,
            "Flagged and shared",
            "/console/flagged",
        ),
        &body,
    )
}

/// `/console/conversations/{id}`: a whole conversation, if its employee shared it or it is a recorded room.
pub async fn conversation(
    State(state): State<Arc<AppState>>,
    Reviewing { reviewer, persona }: Reviewing,
    Path(id): Path<String>,
) -> Response {
    let (sid, rooms, pid) = (
        id.clone(),
        state.config.rooms.recorded.clone(),
        persona.clone(),
    );
    let turns = read(&state, move |c| {
        let visible = Store::is_visible(c, &sid, &rooms)?
            && Store::session_persona(c, &sid)?.as_deref() == Some(pid.as_str());
        match visible {
            true => Ok(Some(Store::conversation(c, &sid)?)),
            false => Ok(None),
        }
    });
    let turns = match turns.await {
        Ok(Some(turns)) => turns,
        Ok(None) => {
            // The same answer whether it exists or not: an unshared conversation is not there for the console.
            return html::error_page(
                StatusCode::NOT_FOUND,
                "There is no conversation shared with you by that id.",
            );
        }
        Err(page) => return page,
    };
    let mut body = String::new();
    for said in &turns {
        match said {
            Said::User(text) => {
                let _ = write!(
                    body,
                    "<p class=\"user\"><strong>Asked:</strong> {}</p>",
                    esc(text)
                );
            }
            Said::Twin(reply) => {
                body.push_str(&reply_card(reply, None, Some(&correct_link(reply))))
            }
        }
    }
    html::page(
        &frame(&reviewer, &persona, "Conversation", "/console/flagged"),
        &body,
    )
}

/// `/console/gaps`: the questions the twin most often could not answer, each with a form for the missing
/// statement.
pub async fn gaps(
    State(state): State<Arc<AppState>>,
    Reviewing { reviewer, persona }: Reviewing,
) -> Response {
    let id = persona.clone();
    let unknown = match read(&state, move |c| {
        Store::unknown_questions(c, &id, GAP_REPLIES)
    })
    .await
    {
        Ok(v) => v,
        Err(page) => return page,
    };
    let ranked = rank_gaps(&unknown);
    let mut body = String::from(
        "<p>Questions your twin answered with “I don't know”, the most asked first. Write what you would \
         say, and the twin uses it from the next question on.</p>",
    );
    if ranked.is_empty() {
        body.push_str("<p>No gaps: the twin found something you said for every question.</p>");
    }
    body.push_str("<ol class=\"gaps\">");
    for (i, gap) in ranked.iter().take(GAPS_SHOWN).enumerate() {
        let _ = write!(
            body,
            "<li><p><strong>{}</strong> <small>asked {} time{}, last {}</small></p>\
             <form method=\"post\" action=\"/console/statements\">{}\
             <input type=\"hidden\" name=\"persona\" value=\"{}\">\
             <input type=\"hidden\" name=\"question\" value=\"{}\">\
             <label for=\"gap-{i}\">What you would say</label>\
             <textarea id=\"gap-{i}\" name=\"text\" rows=\"3\" required></textarea>\
             <label for=\"gap-topics-{i}\">Topics (comma-separated)</label>\
             <input type=\"text\" id=\"gap-topics-{i}\" name=\"topics\">\
             <button type=\"submit\">Add this statement</button></form></li>",
            esc(&gap.question),
            gap.count,
            if gap.count == 1 { "" } else { "s" },
            html::day(gap.last_ms),
            csrf_field(&reviewer.csrf),
            esc(&persona),
            esc(&gap.question),
        );
    }
    body.push_str("</ol>");
    html::page(&frame(&reviewer, &persona, "Gaps", "/console/gaps"), &body)
}

/// A question the twin could not answer, and how often it was asked.
#[derive(Debug, PartialEq)]
pub struct Gap {
    pub question: String,
    pub count: usize,
    pub last_ms: i64,
}

/// Unanswered questions (anonymised) grouped by their words, ignoring case and punctuation, the most asked
/// first, then the latest.
pub fn rank_gaps(unknown: &[(String, i64)]) -> Vec<Gap> {
    let key = |q: &str| -> String {
        q.to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || c.is_whitespace())
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut gaps: Vec<(String, Gap)> = Vec::new();
    for (question, at) in unknown {
        let question = anonymise(question);
        let k = key(&question);
        match gaps.iter_mut().find(|(g, _)| *g == k) {
            Some((_, gap)) => {
                gap.count += 1;
                gap.last_ms = gap.last_ms.max(*at);
            }
            None => gaps.push((
                k,
                Gap {
                    question,
                    count: 1,
                    last_ms: *at,
                },
            )),
        }
    }
    let mut gaps: Vec<Gap> = gaps.into_iter().map(|(_, g)| g).collect();
    gaps.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_ms.cmp(&a.last_ms)));
    gaps
}

/// `/console/sources`: the pack's sources, each with retire (or bring back).
pub async fn sources(
    State(state): State<Arc<AppState>>,
    Reviewing { reviewer, persona }: Reviewing,
) -> Response {
    let Some(loaded) = state.persona(Some(&persona)) else {
        return html::error_page(StatusCode::NOT_FOUND, "That persona is not loaded.");
    };
    let pack = &loaded.pack;
    let mut all: Vec<(&twin_persona::Source, bool)> =
        pack.sources.iter().map(|s| (s, false)).collect();
    all.extend(pack.retired.iter().map(|s| (s, true)));
    all.sort_by(|a, b| b.0.date.cmp(&a.0.date).then(a.0.id.cmp(&b.0.id)));
    let mut body = String::from(
        "<p>Everything your twin may quote, newest first. Retiring a source hides it from the twin; it stays in \
         the pack, marked <code>retired = true</code>, and can be brought back.</p><table><thead><tr>\
         <th scope=\"col\">Id</th><th scope=\"col\">Date</th><th scope=\"col\">Title</th>\
         <th scope=\"col\">Text</th><th scope=\"col\">Action</th></tr></thead><tbody>",
    );
    for (s, retired) in all {
        let (label, value) = if retired {
            ("Bring back", "false")
        } else {
            ("Retire", "true")
        };
        let _ = write!(
            body,
            "<tr id=\"source-{id}\"><th scope=\"row\">{id}{retired}</th><td>{date}</td><td>{title} ({medium})</td>\
             <td>{text}</td><td><form method=\"post\" action=\"/console/sources/retire\">{csrf}\
             <input type=\"hidden\" name=\"persona\" value=\"{persona}\">\
             <input type=\"hidden\" name=\"id\" value=\"{id}\"><input type=\"hidden\" name=\"retired\" value=\"{value}\">\
             <button type=\"submit\" aria-label=\"{label} {id}\">{label}</button></form></td></tr>",
            id = esc(&s.id),
            retired = if retired {
                " <small>(retired)</small>"
            } else {
                ""
            },
            date = esc(&s.date),
            title = esc(&s.title),
            medium = esc(&s.medium),
            text = esc(&s.text),
            csrf = csrf_field(&reviewer.csrf),
            persona = esc(&persona),
        );
    }
    body.push_str("</tbody></table>");
    html::page(
        &frame(&reviewer, &persona, "Sources", "/console/sources"),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_group_the_same_question_and_rank_the_most_asked_first() {
        let unknown = vec![
            ("Ana: What about Mars?".to_string(), 5),
            ("What's our dog policy?".to_string(), 3),
            ("what about mars".to_string(), 1),
        ];
        let gaps = rank_gaps(&unknown);
        assert_eq!(gaps.len(), 2);
        assert_eq!(gaps[0].question, "What about Mars?");
        assert_eq!((gaps[0].count, gaps[0].last_ms), (2, 5));
        assert_eq!(gaps[1].count, 1);
    }
}
