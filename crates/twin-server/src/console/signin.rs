//! Signing in to the review console: a token with the `review` capability buys a session cookie (HttpOnly,
//! SameSite=Strict, Secure where TLS is on) that lasts [`LIFETIME`] and lapses after [`IDLE`] unused. Every
//! form carries the session's CSRF token, checked against it; the sign-in form, before any session, carries
//! a one-time value also set as a cookie (a login CSRF check).

use crate::app::AppState;
use crate::auth::{Capability, digest};
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::html;

/// How long a console session lasts at most.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long a console session may go unused.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// Most console sessions held at once (the oldest goes first).
const MOST_SESSIONS: usize = 1024;
const SESSION_COOKIE: &str = "twin_console";
const LOGIN_COOKIE: &str = "twin_console_login";

/// Who is signed in, by the digest of their cookie's secret.
#[derive(Default)]
pub struct Sessions {
    signed_in: Mutex<HashMap<[u8; 32], Signed>>,
}

struct Signed {
    reviewer: Reviewer,
    began: Instant,
    seen: Instant,
}

/// A signed-in reviewer: the token's holder, the personas they review, and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Reviewer {
    pub holder: String,
    /// The personas the token reaches that this server has loaded, the default first.
    pub personas: Vec<String>,
    pub csrf: String,
}

impl Reviewer {
    /// The persona a page is about: the one asked for if this reviewer reaches it, or their first.
    pub fn persona(&self, asked: Option<&str>) -> Result<String, Response> {
        match asked {
            None => self.personas.first().cloned().ok_or_else(|| {
                html::error_page(
                    StatusCode::FORBIDDEN,
                    "Your token reaches no persona on this server.",
                )
            }),
            Some(id) if self.personas.iter().any(|p| p == id) => Ok(id.to_string()),
            Some(_) => Err(html::error_page(
                StatusCode::FORBIDDEN,
                "Your token does not reach that persona.",
            )),
        }
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check(&self, csrf: &str) -> Result<(), Response> {
        match same(csrf, &self.csrf) {
            true => Ok(()),
            false => Err(html::error_page(
                StatusCode::FORBIDDEN,
                "This form did not come from your console session (its CSRF token is missing or wrong). \
                 Reload the page and try again.",
            )),
        }
    }
}

impl Sessions {
    fn begin(&self, reviewer: Reviewer) -> Result<String, Response> {
        let secret = fresh()?;
        let mut signed_in = crate::sync::lock(&self.signed_in);
        forget_lapsed(&mut signed_in);
        if signed_in.len() >= MOST_SESSIONS
            && let Some(oldest) = signed_in
                .iter()
                .min_by_key(|(_, s)| s.began)
                .map(|(k, _)| *k)
        {
            signed_in.remove(&oldest);
        }
        let now = Instant::now();
        signed_in.insert(
            digest(&secret),
            Signed {
                reviewer,
                began: now,
                seen: now,
            },
        );
        Ok(secret)
    }

    /// The reviewer of a cookie's secret, if its session has not lapsed.
    fn find(&self, secret: &str) -> Option<Reviewer> {
        let mut signed_in = crate::sync::lock(&self.signed_in);
        let key = digest(secret);
        let now = Instant::now();
        let signed = signed_in.get_mut(&key)?;
        if lapsed(signed, now) {
            signed_in.remove(&key);
            return None;
        }
        signed.seen = now;
        Some(signed.reviewer.clone())
    }

    fn end(&self, secret: &str) {
        let mut signed_in = crate::sync::lock(&self.signed_in);
        signed_in.remove(&digest(secret));
    }
}

fn lapsed(s: &Signed, now: Instant) -> bool {
    now.duration_since(s.began) > LIFETIME || now.duration_since(s.seen) > IDLE
}

fn forget_lapsed(signed_in: &mut HashMap<[u8; 32], Signed>) {
    let now = Instant::now();
    signed_in.retain(|_, s| !lapsed(s, now));
}

fn fresh() -> Result<String, Response> {
    crate::auth::new_token().map_err(|_| {
        html::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "No random numbers: try again.",
        )
    })
}

/// Equal strings, compared in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && digest(a) == digest(b)
}

/// A cookie of the request, by name.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` for the console's path; `max_age` 0 removes the cookie.
fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Duration) -> HeaderValue {
    let secure = if state.tls.is_some() { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.as_secs()
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

/// Why a request has no reviewer: sent to sign in.
pub struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to("/console").into_response()
    }
}

impl FromRequestParts<Arc<AppState>> for Reviewer {
    type Rejection = SignInFirst;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        cookie(&parts.headers, SESSION_COOKIE)
            .and_then(|secret| state.console.find(secret))
            .ok_or(SignInFirst)
    }
}

/// A signed-in reviewer and the persona a page is about (`?persona=`, or their first): what every page
/// reads, the refusal page where the persona is not theirs.
pub struct Reviewing {
    pub reviewer: Reviewer,
    pub persona: String,
}

impl FromRequestParts<Arc<AppState>> for Reviewing {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let reviewer = Reviewer::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let asked = axum::extract::Query::<super::PersonaQuery>::try_from_uri(&parts.uri)
            .map_err(IntoResponse::into_response)?
            .0
            .persona;
        let persona = reviewer.persona(asked.as_deref())?;
        Ok(Reviewing { reviewer, persona })
    }
}

/// `/console`: the overview when signed in, else the sign-in form.
pub async fn home(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: axum::extract::Query<super::PersonaQuery>,
) -> Response {
    match cookie(&headers, SESSION_COOKIE).and_then(|s| state.console.find(s)) {
        Some(reviewer) => super::pages::overview(&state, &reviewer, query.persona.as_deref()).await,
        None => sign_in_page(&state, StatusCode::OK, None),
    }
}

fn sign_in_page(state: &AppState, status: StatusCode, problem: Option<&str>) -> Response {
    let Ok(nonce) = fresh() else {
        return html::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "No random numbers: try again.",
        );
    };
    let mut response = html::sign_in(status, &nonce, problem);
    let cookie = set_cookie(state, LOGIN_COOKIE, &nonce, Duration::from_secs(600));
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

#[derive(serde::Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/sign-in`.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let nonce = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if !same(&form.csrf, nonce) {
        let problem =
            "The sign-in form had expired or did not come from this console. Please sign in again.";
        return sign_in_page(&state, StatusCode::FORBIDDEN, Some(problem));
    }
    let Some(grant) = state.authenticate(form.token.trim()) else {
        state
            .metrics
            .auth_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        state.gate.failed(peer.ip());
        return sign_in_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("That token is not valid."),
        );
    };
    if !grant.may(Capability::Review) {
        let problem = "That token lacks the review capability: only the person the twin stands for (or \
                       whoever they trust with review) can sign in here.";
        return sign_in_page(&state, StatusCode::FORBIDDEN, Some(problem));
    }
    let personas = state
        .personas()
        .iter()
        .map(|p| p.id().to_string())
        .filter(|id| grant.reaches(id))
        .collect();
    let reviewer = Reviewer {
        holder: grant.holder.clone(),
        personas,
        csrf: match fresh() {
            Ok(csrf) => csrf,
            Err(response) => return response,
        },
    };
    tracing::info!(holder = %reviewer.holder, "signed in to the review console");
    let secret = match state.console.begin(reviewer) {
        Ok(secret) => secret,
        Err(response) => return response,
    };
    let mut response = Redirect::to("/console").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &secret, LIFETIME),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, LOGIN_COOKIE, "", Duration::ZERO),
    );
    response
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/sign-out`.
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    reviewer: Reviewer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = reviewer.check(&form.csrf) {
        return refused;
    }
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        state.console.end(secret);
    }
    let mut response = Redirect::to("/console").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", Duration::ZERO),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reviewer() -> Reviewer {
        Reviewer {
            holder: "Owen".into(),
            personas: vec!["owen-marsh".into()],
            csrf: "the-csrf".into(),
        }
    }

    #[test]
    fn a_session_is_found_by_its_secret_until_it_ends() {
        let sessions = Sessions::default();
        let secret = sessions.begin(reviewer()).ok().unwrap();
        assert_eq!(sessions.find(&secret).unwrap().holder, "Owen");
        assert!(sessions.find("another").is_none());
        assert!(sessions.find("").is_none());
        sessions.end(&secret);
        assert!(sessions.find(&secret).is_none());
    }

    #[test]
    fn an_idle_session_lapses() {
        let now = Instant::now();
        let Some(long_ago) = now.checked_sub(IDLE + Duration::from_secs(1)) else {
            return; // The machine has been up for less than the idle time.
        };
        let idle = Signed {
            reviewer: reviewer(),
            began: now,
            seen: long_ago,
        };
        assert!(lapsed(&idle, now));
        let fresh = Signed {
            reviewer: reviewer(),
            began: now,
            seen: now,
        };
        assert!(!lapsed(&fresh, now));
    }

    #[test]
    fn forms_need_the_sessions_csrf_token() {
        let r = reviewer();
        assert!(r.check("the-csrf").is_ok());
        assert!(r.check("").is_err());
        assert!(r.check("the-csrf ").is_err());
        assert_eq!(r.persona(None).ok().as_deref(), Some("owen-marsh"));
        assert!(r.persona(Some("someone-else")).is_err());
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; twin_console=xyz; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
