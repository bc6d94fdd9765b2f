//! The console's HTML: escaping, the page frame, and the pieces several pages share (a reviewed reply, the
//! stats chart). Plain server-rendered HTML with labelled controls; no script.

use crate::store::review::{DayStats, StoredReply};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;

/// Text made safe for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A query-string value.
pub fn url(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The console's pages, for the navigation.
const NAV: &[(&str, &str)] = &[
    ("/console", "Overview"),
    ("/console/questions", "Questions"),
    ("/console/flagged", "Flagged and shared"),
    ("/console/gaps", "Gaps"),
    ("/console/sources", "Sources"),
    ("/console/playground", "Playground"),
];

/// What every signed-in page needs to draw its frame.
pub struct Frame<'a> {
    pub title: &'a str,
    /// The path of the page, for `aria-current`.
    pub path: &'a str,
    pub csrf: &'a str,
    pub persona: &'a str,
    /// Every persona the reviewer reviews (a chooser shows when there are several).
    pub personas: &'a [String],
}

/// A signed-in page: navigation, sign-out, then `body`.
pub fn page(frame: &Frame<'_>, body: &str) -> Response {
    let mut nav = String::new();
    for (href, label) in NAV {
        let current = if *href == frame.path {
            " aria-current=\"page\""
        } else {
            ""
        };
        let href = format!("{href}?persona={}", url(frame.persona));
        let _ = write!(
            nav,
            "<li><a href=\"{}\"{current}>{label}</a></li>",
            esc(&href)
        );
    }
    let chooser = persona_chooser(frame);
    let header = format!(
        "<header><p class=\"brand\">Twin review · {persona}</p><nav aria-label=\"Console\"><ul>{nav}</ul></nav>\
         {chooser}<form method=\"post\" action=\"/console/sign-out\" class=\"signout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Sign out</button></form></header>",
        persona = esc(frame.persona),
        csrf = esc(frame.csrf),
    );
    document(
        StatusCode::OK,
        frame.title,
        &format!(
            "{header}<main id=\"main\"><h1>{}</h1>{body}</main>",
            esc(frame.title)
        ),
    )
}

fn persona_chooser(frame: &Frame<'_>) -> String {
    if frame.personas.len() < 2 {
        return String::new();
    }
    let options: String = frame
        .personas
        .iter()
        .map(|p| {
            let selected = if p == frame.persona { " selected" } else { "" };
            format!("<option value=\"{0}\"{selected}>{0}</option>", esc(p))
        })
        .collect();
    format!(
        "<form method=\"get\" action=\"{}\"><label for=\"persona\">Persona</label> \
         <select id=\"persona\" name=\"persona\">{options}</select> <button type=\"submit\">Show</button></form>",
        esc(frame.path)
    )
}

/// A whole HTML document with the console's headers.
pub fn document(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Twin review</title><link rel=\"stylesheet\" href=\"/console/style.css\"></head>\
         <body><a class=\"skip\" href=\"#main\">Skip to content</a>{body}</body></html>",
        esc(title)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<main id=\"main\"><h1>{}</h1><p role=\"alert\">{}</p><p><a href=\"/console\">Back to the console</a></p></main>",
        esc(status.canonical_reason().unwrap_or("Error")),
        esc(message)
    );
    document(status, "Error", &body)
}

/// The sign-in form; `nonce` is the login CSRF value also set as a cookie.
pub fn sign_in(status: StatusCode, nonce: &str, problem: Option<&str>) -> Response {
    let problem = problem
        .map(|p| format!("<p role=\"alert\" class=\"problem\">{}</p>", esc(p)))
        .unwrap_or_default();
    let body = format!(
        "<main id=\"main\"><h1>Sign in to review your twin</h1>{problem}\
         <p>Sign in with a token that has the <code>review</code> capability.</p>\
         <form method=\"post\" action=\"/console/sign-in\" id=\"sign-in\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"token\">Review token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form></main>",
        esc(nonce)
    );
    document(status, "Sign in", &body)
}

/// A hidden CSRF field for a form.
pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(csrf)
    )
}

/// A reply as the person reviews it: the question (already anonymised where it must be), each sentence with
/// the source it rests on, the guardrails that acted, the latency, and a link to correct it.
pub fn reply_card(
    reply: &StoredReply,
    question: Option<&str>,
    correct_link: Option<&str>,
) -> String {
    let mut out = String::from("<article class=\"reply\">");
    if let Some(q) = question {
        let _ = write!(
            out,
            "<p class=\"question\"><strong>Asked:</strong> {}</p>",
            esc(q)
        );
    }
    let _ = write!(
        out,
        "<table><caption>The twin's reply ({kind}{cut})</caption><thead><tr><th scope=\"col\">Sentence</th>\
         <th scope=\"col\">Source</th><th scope=\"col\">Source sentence</th></tr></thead><tbody>",
        kind = esc(&reply.kind),
        cut = if reply.interrupted { ", cut off" } else { "" },
    );
    for s in &reply.sentences {
        let source = s
            .source
            .as_deref()
            .map(esc)
            .unwrap_or_else(|| "twin's own words".into());
        let quote = s.quote.as_deref().map(esc).unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"source\">{source}</td><td class=\"quote\">{quote}</td></tr>",
            esc(&s.text)
        );
    }
    if reply.sentences.is_empty() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td></td><td></td></tr>",
            esc(&reply.text)
        );
    }
    let actions = match reply.actions.is_empty() {
        true => "none".to_string(),
        false => esc(&reply.actions.join(", ")),
    };
    let latency = reply
        .latency_ms
        .map(|ms| format!("{ms} ms to the first sentence"))
        .unwrap_or_else(|| "not measured".into());
    let _ = write!(
        out,
        "</tbody></table><p class=\"meta\">Guardrail actions: <span class=\"actions\">{actions}</span> · \
         Latency: {latency} · {}</p>",
        day(reply.created_ms)
    );
    if let Some(link) = correct_link {
        let _ = write!(
            out,
            "<p><a class=\"correct\" href=\"{}\">Correct this reply</a></p>",
            esc(link)
        );
    }
    out.push_str("</article>");
    out
}

/// The link to the correction form for a stored reply.
pub fn correct_link(reply: &StoredReply) -> String {
    format!(
        "/console/correct?persona={}&reply={}",
        url(&reply.persona),
        url(&reply.reply_id)
    )
}

/// `YYYY-MM-DD` (UTC) of a time in milliseconds since the epoch.
pub fn day(ms: i64) -> String {
    date_of_day(ms.div_euclid(86_400_000))
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (Howard Hinnant's civil-from-days).
pub fn date_of_day(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A measure of a day.
type Measure = fn(&DayStats) -> u64;

/// The series of the stats chart: name, colour, value of a day.
const SERIES: &[(&str, &str, Measure)] = &[
    ("Conversations", "#1b6ac9", |d| d.conversations),
    ("Turns", "#2a9d5c", |d| d.turns),
    ("Flags", "#c0392b", |d| d.flags),
    ("Corrections", "#8e44ad", |d| d.corrections),
    ("Guardrail actions", "#d68910", |d| d.guardrail_actions),
];

/// A small bar chart per measure, each on its own scale (one line chart would hide the small counts under the
/// large ones), with the same numbers as a table for screen readers and keyboards.
pub fn stats_chart(days: &[DayStats]) -> String {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return String::new();
    };
    let mut out = format!(
        "<figure class=\"charts\"><figcaption>Per day, {} to {}</figcaption>",
        date_of_day(first.day),
        date_of_day(last.day)
    );
    for (name, colour, value) in SERIES {
        let total: u64 = days.iter().map(value).sum();
        let most = days.iter().map(value).max().unwrap_or(0);
        let _ = write!(
            out,
            "<div class=\"series\"><p>{name}: <strong>{total}</strong> <small>(most in a day: {most})</small></p>{}</div>",
            bars(
                days,
                *value,
                colour,
                &format!("{name} per day, {total} in all")
            )
        );
    }
    out.push_str("</figure>");
    out + &stats_table(days)
}

/// One measure's bars, a bar a day, scaled to its busiest day.
fn bars(days: &[DayStats], value: Measure, colour: &str, title: &str) -> String {
    let (w, h) = (300.0f32, 40.0f32);
    let most = days.iter().map(value).max().unwrap_or(0).max(1) as f32;
    let slot = w / days.len().max(1) as f32;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">\
         <line x1=\"0\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#999\"/>",
        esc(title)
    );
    for (i, d) in days.iter().enumerate() {
        let v = value(d);
        if v == 0 {
            continue;
        }
        let bar = (v as f32 / most * (h - 2.0)).max(1.0);
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"{colour}\"><title>{}: {v}</title></rect>",
            i as f32 * slot + slot * 0.15,
            h - bar,
            slot * 0.7,
            date_of_day(d.day)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn stats_table(days: &[DayStats]) -> String {
    let mut t = String::from(
        "<details><summary>The numbers, day by day</summary><table><thead><tr><th scope=\"col\">Day</th>",
    );
    for (name, _, _) in SERIES {
        let _ = write!(t, "<th scope=\"col\">{name}</th>");
    }
    t.push_str("</tr></thead><tbody>");
    for d in days.iter().rev() {
        let _ = write!(t, "<tr><th scope=\"row\">{}</th>", date_of_day(d.day));
        for (_, _, value) in SERIES {
            let _ = write!(t, "<td>{}</td>", value(d));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table></details>");
    t
}

/// The console's stylesheet: readable on a phone, visible focus, no layout tricks.
pub const STYLE: &str = r#"
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}
header{background:#1d2b3a;color:#fff;padding:8px 16px;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center}
header a{color:#fff}header .brand{margin:0;font-weight:600}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px;margin:0;padding:0}
a[aria-current=page]{font-weight:700;text-decoration:underline}
main{max-width:1000px;margin:0 auto;padding:16px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:600}
.reply{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px;margin:12px 0}
.meta{color:#555;font-size:14px}.problem,.notice{border-left:4px solid #c0392b;padding:4px 8px;background:#fff}
.notice{border-color:#2a9d5c}
label{display:block;font-weight:600;margin-top:8px}
input[type=text],input[type=password],textarea,select{font:inherit;width:100%;max-width:640px;box-sizing:border-box;padding:6px}
button{font:inherit;padding:6px 14px;margin-top:8px;cursor:pointer}
:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.charts{margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:8px 24px}
.charts figcaption{grid-column:1/-1;color:#555}.series p{margin:0}
.chart{width:100%;height:auto;background:#fff;border:1px solid #ddd}
.signout{margin-left:auto}.signout button{margin:0}
@media (max-width:600px){th,td{display:block;border:none}tr{display:block;border-bottom:1px solid #ccc}thead{display:none}
.reply td.source::before{content:"Source: ";font-weight:600}.reply td.quote::before{content:"Source sentence: ";font-weight:600}}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_dates_are_civil() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url("a b/é"), "a%20b%2F%C3%A9");
        assert_eq!(date_of_day(0), "1970-01-01");
        assert_eq!(date_of_day(20_792), "2026-12-05");
        assert_eq!(day(1_709_251_200_000), "2024-03-01");
    }

    #[test]
    fn the_chart_has_a_line_and_a_total_per_series() {
        let days: Vec<DayStats> = (0..3)
            .map(|i| DayStats {
                day: 20_790 + i,
                turns: i as u64 * 4,
                flags: 1,
                ..DayStats::default()
            })
            .collect();
        let chart = stats_chart(&days);
        assert_eq!(chart.matches("<svg").count(), SERIES.len());
        // Two days with turns, three with a flag; none drawn for a zero.
        assert_eq!(chart.matches("#2a9d5c").count(), 2);
        assert!(
            chart.contains("Turns: <strong>12</strong>")
                && chart.contains("Flags: <strong>3</strong>"),
            "{chart}"
        );
        assert!(chart.contains("2026-12-05"));
    }
}
