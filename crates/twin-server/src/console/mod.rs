//! The review console (`/console`): the person the twin stands for sees what it said in their name, corrects
//! it, retires sources, fills gaps and tries questions, in plain server-rendered HTML.
//!
//! Privacy by design: employees' conversations are private. The console shows the questions asked only
//! anonymised ([`anonymise`]) and grouped by topic, an exchange only when its employee flagged it, a whole
//! conversation only when its employee shared it or it is a room recorded for review (`[rooms] recorded`).

// A handler that cannot go on returns the page that says why; its size is no concern on this path.
#![allow(clippy::result_large_err)]

mod html;
mod pages;
mod playground;
mod signin;
mod teach;

pub use signin::{Reviewer, Reviewing, Sessions};

use crate::app::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

/// `?persona=` on a console page: which of the reviewer's personas it is about.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PersonaQuery {
    #[serde(default)]
    pub persona: Option<String>,
}

/// The console's routes, with their security headers and server timing.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console", get(signin::home))
        .route("/console/sign-in", post(signin::sign_in))
        .route("/console/sign-out", post(signin::sign_out))
        .route("/console/style.css", get(style))
        .route("/console/questions", get(pages::questions))
        .route("/console/flagged", get(pages::flagged))
        .route("/console/conversations/{id}", get(pages::conversation))
        .route("/console/gaps", get(pages::gaps))
        .route("/console/sources", get(pages::sources))
        .route("/console/sources/retire", post(teach::retire))
        .route("/console/correct", get(teach::correct_form))
        .route("/console/corrections", post(teach::correct))
        .route("/console/statements", post(teach::add_statement))
        .route(
            "/console/playground",
            get(playground::form).post(playground::ask),
        )
        .layer(axum::middleware::from_fn(headers))
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        html::STYLE,
    )
        .into_response()
}

/// Every console response: not cached, not framed, no scripts, no referrer; and how long the server took
/// (`Server-Timing`, read by the benchmark).
async fn headers(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let took = started.elapsed().as_secs_f64() * 1000.0;
    let h = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(timing) = HeaderValue::from_str(&format!("app;dur={took:.2}")) {
        h.insert("server-timing", timing);
    }
    response
}

/// A question as the person may see it when its employee did not share it: the speaker's name a room puts
/// before it taken off, and e-mail addresses and long numbers (phone, employee, account numbers) masked.
pub fn anonymise(question: &str) -> String {
    let text = crate::persona::strip_speaker(question);
    let mut out: Vec<String> = Vec::new();
    // A run of number-like words (a phone number written in groups) is masked whole.
    let mut run: Vec<&str> = Vec::new();
    for word in text.split(' ').chain(std::iter::once("")) {
        let bare = word.trim_end_matches([',', '.', ';', ':', '?', '!']);
        let numeric = !bare.is_empty()
            && bare
                .chars()
                .all(|c| c.is_ascii_digit() || "+-().".contains(c));
        if numeric {
            run.push(word);
            continue;
        }
        flush_numbers(&mut run, &mut out);
        if word.contains('@') && word.contains('.') {
            out.push("[email]".into());
        } else if !word.is_empty() {
            out.push(word.into());
        }
    }
    out.join(" ")
}

fn flush_numbers(run: &mut Vec<&str>, out: &mut Vec<String>) {
    let digits: usize = run
        .iter()
        .map(|w| w.chars().filter(char::is_ascii_digit).count())
        .sum();
    match run.last() {
        Some(last) if digits >= 6 => {
            let tail = &last[last.trim_end_matches([',', '.', ';', ':', '?', '!']).len()..];
            out.push(format!("[number]{tail}"));
        }
        _ => out.extend(run.iter().map(|w| w.to_string())),
    }
    run.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_lose_names_addresses_and_long_numbers() {
        assert_eq!(anonymise("Ana: Are we hiring?"), "Are we hiring?");
        assert_eq!(
            anonymise("Mail me at ana.b@halyard.example or call +44 7700 900123, ok?"),
            "Mail me at [email] or call [number], ok?"
        );
        assert_eq!(anonymise("Is Q2 2026 on track?"), "Is Q2 2026 on track?");
        assert_eq!(
            anonymise("Employee 48213377: my pay?"),
            "Employee [number]: my pay?"
        );
    }
}
