//! The review console against a real server: each page's server time (its `Server-Timing`) with 10,000 stored
//! turns, and how soon a correction saved is used by the next answer.

use crate::percentile;
use crate::security::{Server, start};
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};
use twin_protocol::{ReplyKind, ReplySentence};
use twin_server::store::{ReplyAudit, ReplyRecord, Store};

const REVIEW_TOKEN: &str = "bench-review-token";
/// Sessions of ten turns each: the opening disclosure, four questions with their replies, a last question.
const SESSIONS: usize = 1_000;
/// Requests per page.
const ROUNDS: usize = 40;
/// Corrections saved, each followed by the question it answers.
const CORRECTIONS: usize = 10;
const QUESTION: &str = "How many days do I need to come into the office now?";

/// Blocking HTTP from the benchmark's one task: the server is another process.
pub async fn section(md: &mut String, server_bin: &Path, models: &Path, pack: &Path) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let pack_copy = dir.path().join("pack");
    copy_dir(pack, &pack_copy)?;
    let store = dir.path().join("console.db");
    eprintln!("console: filling a store with {} turns…", SESSIONS * 10);
    let (turns, a_reply) = fill_store(&store, &pack_copy).await?;
    let config = dir.path().join("console.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstore = \"{}\"\nmodels_dir = \"{}\"\npersonas = [\"{}\"]\n\
             [auth]\ndemo = true\n[[auth.tokens]]\nname = \"Owen\"\ntoken = \"{REVIEW_TOKEN}\"\n\
             capabilities = [\"review\"]\n[llm]\nbackend = \"embedded\"\n[rooms]\nrecorded = [\"standup\"]\n",
            store.display(),
            models.display(),
            pack_copy.display()
        ),
    )?;
    let server = start(server_bin, &config)?;
    let mut console = Console::sign_in(&server)?;
    eprintln!("console: pages…");
    let pages = [
        ("overview (30-day stats)", "/console".to_string()),
        ("questions by topic", "/console/questions".into()),
        ("flagged and shared", "/console/flagged".into()),
        ("gaps", "/console/gaps".into()),
        ("sources", "/console/sources".into()),
        (
            "correct a reply",
            format!("/console/correct?reply={a_reply}"),
        ),
        ("a shared conversation", "/console/conversations/s-0".into()),
    ];
    let mut rows = String::new();
    let mut worst = 0.0f64;
    for (name, path) in &pages {
        let mut ms = Vec::new();
        for _ in 0..ROUNDS {
            let r = console.get(path)?;
            if r.status != 200 {
                bail!("{path}: status {}", r.status);
            }
            ms.push(r.server_ms.context("no Server-Timing")?);
        }
        let p95 = percentile(&ms, 95.0);
        worst = worst.max(p95);
        let _ = writeln!(rows, "| {name} | {:.1} | {p95:.1} |", percentile(&ms, 50.0));
    }
    eprintln!("console: corrections…");
    let corrected = corrections(&mut console)?;
    let (save_p50, total_p50, total_p95) = (
        percentile(&corrected.iter().map(|c| c.0).collect::<Vec<_>>(), 50.0),
        percentile(&corrected.iter().map(|c| c.1).collect::<Vec<_>>(), 50.0),
        percentile(&corrected.iter().map(|c| c.1).collect::<Vec<_>>(), 95.0),
    );
    drop(server);
    let _ = write!(
        md,
        "\n## Review console\n\n`twin-bench --console-only`: a real `twin-server` (embedded defaults, plaintext on loopback) \
         over a store of {turns} turns ({SESSIONS} sessions over 30 days: questions, grounded, unknown and redirected \
         replies with their sources and audits, 2% of replies flagged, 5% of sessions shared). Server time is the \
         handler's own (`Server-Timing`), {ROUNDS} requests a page.\n\n\
         | page | server time p50 (ms) | p95 (ms) |\n|---|---|---|\n{rows}\n\
         | measure | target | measured |\n|---|---|---|\n\
         | console pages, server time, p95, {turns} stored turns (slowest page) | ≤ 100 ms | {worst:.1} ms |\n\
         | a correction saved → the next answer uses it (save, then the same question in the playground), p50 / p95 of {CORRECTIONS} | ≤ 1 s | {total_p50:.0} / {total_p95:.0} ms |\n\n\
         Saving a correction (write, validate the pack, load the persona again with only the new text embedded) takes \
         {save_p50:.0} ms at p50; the rest is the answer itself. Every answer after a save quoted that correction.\n"
    );
    Ok(())
}

/// Saves corrections one after another, each asked about at once: (save ms, save + answer ms) each.
fn corrections(console: &mut Console) -> Result<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    for i in 0..CORRECTIONS {
        let id = format!("c{:03}", i + 1);
        let text = format!(
            "From month {} of 2027, office-based teams come in {} days a week.",
            i + 1,
            i % 3 + 2
        );
        // What the console offers: the sources the last answer rested on (the previous correction).
        let supersedes = match i {
            0 => "n003".to_string(),
            _ => format!("n003 c{i:03}"),
        };
        let started = Instant::now();
        let saved = console.post(
            "/console/corrections",
            &[
                ("persona", "owen-marsh"),
                ("reply", "x"),
                ("text", &text),
                ("supersedes", &supersedes),
            ],
        )?;
        let save_ms = started.elapsed().as_secs_f64() * 1000.0;
        if saved.status != 303 || !saved.location.contains(&id) {
            bail!("correction {id} not saved: {} {}", saved.status, saved.body);
        }
        let answer = console.post(
            "/console/playground",
            &[("persona", "owen-marsh"), ("question", QUESTION)],
        )?;
        let total_ms = started.elapsed().as_secs_f64() * 1000.0;
        if !answer
            .body
            .contains(&format!("<td class=\"source\">{id}</td>"))
        {
            bail!("the answer after {id} does not quote it");
        }
        out.push((save_ms, total_ms));
    }
    Ok(out)
}

/// Fills the store: sessions of ten turns over the last 30 days. Returns the number of turns and a reply id.
async fn fill_store(path: &Path, pack_dir: &Path) -> Result<(usize, String)> {
    let pack = twin_persona::PersonaPack::load(pack_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let sources: Vec<(String, String, Option<String>)> = pack
        .sources
        .iter()
        .map(|s| {
            let first = s
                .text
                .split_inclusive(". ")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            (s.id.clone(), first, s.topics.first().cloned())
        })
        .collect();
    let store = Store::open(path)?;
    let turns = store.run(move |c| {
        // Filling, not serving: no fsync per turn.
        c.pragma_update(None, "synchronous", "OFF")?;
        let mut turns = 0;
        for s in 0..SESSIONS {
            let sid = format!("s-{s}");
            Store::create_session(c, &sid, "owen-marsh", &format!("employee-{}", s % 50))?;
            turns += 1 + 9;
            add_reply(c, &sid, &format!("r-{s}-d"), ReplyKind::Disclosure, None, &[])?;
            for q in 0..5 {
                let n = s * 5 + q;
                let question = format!("Question {} about {}?", n % 97, sources[n % sources.len()].2.as_deref().unwrap_or("work"));
                Store::add_user_turn(c, &sid, &format!("t{q}"), &question, None)?;
                if q == 4 {
                    break;
                }
                let (kind, actions): (ReplyKind, &[&str]) = match n % 20 {
                    0..=2 => (ReplyKind::Unknown, &["unknown_topic"]),
                    3 => (ReplyKind::Redirect, &["approval"]),
                    _ => (ReplyKind::Grounded, &[]),
                };
                let source = (kind == ReplyKind::Grounded).then(|| &sources[n % sources.len()]);
                let rid = format!("r-{s}-{q}");
                add_reply(c, &sid, &rid, kind, source, actions)?;
                if n % 50 == 0 {
                    Store::flag(c, &sid, Some(&rid), Some("not what I said"))?;
                }
            }
            if s % 20 == 0 {
                Store::set_shared(c, &sid, true)?;
            }
        }
        // Spread over the last 30 days, each session's turns a second apart.
        c.execute_batch(
            "UPDATE sessions SET created_ms = created_ms - (CAST(substr(id, 3) AS INTEGER) % 30) * 86400000;
             UPDATE turns SET created_ms = (SELECT s.created_ms FROM sessions s WHERE s.id = turns.session_id) + seq * 1000;
             UPDATE flags SET created_ms = (SELECT s.created_ms FROM sessions s WHERE s.id = flags.session_id) + 60000;",
        )?;
        c.pragma_update(None, "synchronous", "FULL")?;
        Ok(turns)
    })
    .await?;
    Ok((turns, "r-1-1".to_string()))
}

/// Stores one reply: its sentence quotes `source` (the twin's own words without one).
fn add_reply(
    c: &mut rusqlite::Connection,
    session: &str,
    id: &str,
    kind: ReplyKind,
    source: Option<&(String, String, Option<String>)>,
    actions: &[&str],
) -> Result<(), twin_server::store::StoreError> {
    let sentences = match source {
        Some((sid, sentence, _)) => vec![ReplySentence {
            text: sentence.clone(),
            source: Some(sid.clone()),
            quote: Some(sentence.clone()),
        }],
        None => vec![ReplySentence::own("I don't know his view on that.")],
    };
    let audit = ReplyAudit {
        actions: actions.iter().map(|a| a.to_string()).collect(),
        latency_ms: Some(40),
        topic: source.and_then(|s| s.2.clone()),
        ..ReplyAudit::default()
    };
    let citations: Vec<String> = source.map(|s| vec![s.0.clone()]).unwrap_or_default();
    let record = ReplyRecord {
        reply_id: id,
        kind,
        text: &sentences[0].text,
        citations: &citations,
        sentences: &sentences,
        interrupted: false,
        audit: &audit,
    };
    Store::add_reply(c, session, &record).map(|_| ())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// A signed-in console session over plain HTTP/1.1.
struct Console {
    addr: String,
    cookie: String,
    csrf: String,
}

struct Answer {
    status: u16,
    location: String,
    server_ms: Option<f64>,
    body: String,
    cookies: Vec<String>,
}

impl Console {
    fn sign_in(server: &Server) -> Result<Console> {
        let addr = server.addr.clone();
        let form = request(&addr, "GET", "/console", "", "")?;
        let nonce = form
            .cookies
            .iter()
            .find_map(|c| c.strip_prefix("twin_console_login="))
            .context("no login cookie")?;
        let nonce = nonce.split(';').next().unwrap_or("").to_string();
        let body = encode(&[("token", REVIEW_TOKEN), ("csrf", &nonce)]);
        let signed = request(
            &addr,
            "POST",
            "/console/sign-in",
            &format!("twin_console_login={nonce}"),
            &body,
        )?;
        let cookie = signed
            .cookies
            .iter()
            .find_map(|c| c.strip_prefix("twin_console="))
            .and_then(|c| c.split(';').next())
            .context("not signed in")?;
        let mut console = Console {
            addr,
            cookie: format!("twin_console={cookie}"),
            csrf: String::new(),
        };
        let page = console.get("/console/playground")?;
        let at = page
            .body
            .find("name=\"csrf\" value=\"")
            .context("no CSRF token")?
            + 19;
        console.csrf = page.body[at..].split('"').next().unwrap_or("").to_string();
        Ok(console)
    }

    fn get(&mut self, path: &str) -> Result<Answer> {
        request(&self.addr, "GET", path, &self.cookie, "")
    }

    fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<Answer> {
        let mut all = fields.to_vec();
        all.push(("csrf", &self.csrf));
        request(&self.addr, "POST", path, &self.cookie, &encode(&all))
    }
}

fn encode(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                b => format!("%{b:02X}"),
            })
            .collect()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One HTTP/1.1 request on its own connection, read to its end.
fn request(addr: &str, method: &str, path: &str, cookie: &str, body: &str) -> Result<Answer> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !cookie.is_empty() {
        head.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes())?;
    tcp.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP head")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    let mut answer = Answer {
        status,
        location: String::new(),
        server_ms: None,
        body: body.to_string(),
        cookies: vec![],
    };
    for line in lines {
        let Some((name, value)) = line.split_once(": ") else {
            continue;
        };
        match name.to_ascii_lowercase().as_str() {
            "location" => answer.location = value.to_string(),
            "set-cookie" => answer.cookies.push(value.to_string()),
            "server-timing" => {
                answer.server_ms = value.split("dur=").nth(1).and_then(|v| v.parse().ok())
            }
            _ => {}
        }
    }
    Ok(answer)
}
