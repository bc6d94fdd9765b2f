//! What the person sees of the store, and what employees choose to show them. Conversations are private by
//! default: a session is shown whole only when its employee shared it (`share`) or it is a room recorded for
//! review; a flagged exchange (`flag`) shows that question and reply alone; everything else is seen only as
//! anonymised questions (no session, no holder, no time finer than the day).

use super::{Store, StoreError, now_ms, to_json};
use rusqlite::{Connection, OptionalExtension, Row, params};
use twin_protocol::ReplySentence;

/// A stored twin reply with the question it answers and its audit.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReply {
    pub session_id: String,
    pub reply_id: String,
    pub persona: String,
    /// The user turn it answers (none for the opening disclosure).
    pub question: Option<String>,
    pub text: String,
    pub kind: String,
    pub sentences: Vec<ReplySentence>,
    pub actions: Vec<String>,
    pub latency_ms: Option<u64>,
    pub topic: Option<String>,
    pub interrupted: bool,
    pub created_ms: i64,
}

/// A reply flagged by an employee.
#[derive(Debug, Clone)]
pub struct Flagged {
    pub reply: StoredReply,
    pub note: Option<String>,
    pub flagged_ms: i64,
}

/// A conversation the person may read: shared by its employee, or a room recorded for review.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: String,
    pub turns: u64,
    pub last_ms: i64,
}

/// One turn of a conversation the person may read.
#[derive(Debug, Clone)]
pub enum Said {
    User(String),
    Twin(Box<StoredReply>),
}

/// One day of the twin's use, for the stats chart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayStats {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub conversations: u64,
    pub turns: u64,
    pub flags: u64,
    pub corrections: u64,
    pub guardrail_actions: u64,
}

/// The twin's replies with their questions; `?1` is the persona.
const REPLIES: &str = "
SELECT t.session_id, t.reply_id, s.persona,
       (SELECT u.text FROM turns u WHERE u.session_id = t.session_id AND u.speaker = 'user' AND u.seq < t.seq
        ORDER BY u.seq DESC LIMIT 1),
       t.text, COALESCE(t.kind, 'grounded'), t.sentences, t.actions, t.latency_ms, t.topic, t.interrupted,
       t.created_ms, t.seq
FROM turns t JOIN sessions s ON s.id = t.session_id
WHERE t.speaker = 'twin' AND t.reply_id IS NOT NULL AND s.persona = ?1";

fn stored_reply(r: &Row<'_>) -> rusqlite::Result<StoredReply> {
    let kind: String = r.get(5)?;
    let json = |i: usize| -> rusqlite::Result<String> { r.get(i) };
    Ok(StoredReply {
        session_id: r.get(0)?,
        reply_id: r.get(1)?,
        persona: r.get(2)?,
        // A disclosure answers no question, even when it opens a resumed session.
        question: if kind == "disclosure" {
            None
        } else {
            r.get(3)?
        },
        text: r.get(4)?,
        kind,
        sentences: serde_json::from_str(&json(6)?).unwrap_or_default(),
        actions: serde_json::from_str(&json(7)?).unwrap_or_default(),
        latency_ms: r.get::<_, Option<i64>>(8)?.map(|ms| ms.max(0) as u64),
        topic: r.get(9)?,
        interrupted: r.get(10)?,
        created_ms: r.get(11)?,
    })
}

impl Store {
    /// Shares a session with the person (or takes it back). Returns whether the session exists.
    pub fn set_shared(
        conn: &mut Connection,
        session: &str,
        shared: bool,
    ) -> Result<bool, StoreError> {
        let changed = conn.execute(
            "UPDATE sessions SET shared = ?2 WHERE id = ?1",
            params![session, shared],
        )?;
        Ok(changed > 0)
    }

    /// Flags reply `reply_id` of the session (its latest reply when `None`) with a note; flagging it again
    /// replaces the note. Returns the reply flagged, or `None` if the session has no such reply.
    pub fn flag(
        conn: &mut Connection,
        session: &str,
        reply_id: Option<&str>,
        note: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let tx = conn.transaction()?;
        let found: Option<String> = tx
            .query_row(
                "SELECT reply_id FROM turns WHERE session_id = ?1 AND speaker = 'twin' AND reply_id IS NOT NULL
                 AND (?2 IS NULL OR reply_id = ?2) AND (?2 IS NOT NULL OR kind IS NOT 'disclosure')
                 ORDER BY seq DESC LIMIT 1",
                params![session, reply_id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(found) = found else {
            return Ok(None);
        };
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        tx.execute(
            "INSERT INTO flags (session_id, reply_id, note, created_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (session_id, reply_id) DO UPDATE SET note = excluded.note, created_ms = excluded.created_ms",
            params![session, found, note, now_ms()],
        )?;
        tx.commit()?;
        Ok(Some(found))
    }

    /// Notes a change the person made to their pack ("correction", "statement", "retire", "restore").
    pub fn record_teaching(
        conn: &mut Connection,
        persona: &str,
        action: &str,
        source_id: &str,
    ) -> Result<(), StoreError> {
        conn.execute(
            "INSERT INTO teachings (persona, action, source_id, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![persona, action, source_id, now_ms()],
        )?;
        Ok(())
    }

    /// The flagged replies of a persona, newest flag first.
    pub fn flagged(
        conn: &Connection,
        persona: &str,
        limit: usize,
    ) -> Result<Vec<Flagged>, StoreError> {
        let sql = format!(
            "SELECT * FROM ({REPLIES}) r JOIN flags f ON f.session_id = r.session_id AND f.reply_id = r.reply_id
             ORDER BY f.created_ms DESC LIMIT ?2"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params![persona, limit as i64], |r| {
            Ok(Flagged {
                reply: stored_reply(r)?,
                note: r.get(15)?,
                flagged_ms: r.get(16)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A reply of a persona by its id (random, unique across sessions: it names no session, so a page that
    /// links to it links no two questions of one person).
    pub fn reply(
        conn: &Connection,
        persona: &str,
        reply_id: &str,
    ) -> Result<Option<StoredReply>, StoreError> {
        let sql = format!("{REPLIES} AND t.reply_id = ?2");
        Ok(conn
            .query_row(&sql, params![persona, reply_id], stored_reply)
            .optional()?)
    }

    /// The persona of a stored session.
    pub fn session_persona(conn: &Connection, id: &str) -> Result<Option<String>, StoreError> {
        Ok(conn
            .query_row("SELECT persona FROM sessions WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Whether the person may read session `id` whole: shared by its employee, or a room recorded for review.
    pub fn is_visible(
        conn: &Connection,
        id: &str,
        recorded_rooms: &[String],
    ) -> Result<bool, StoreError> {
        let shared: Option<bool> = conn
            .query_row("SELECT shared FROM sessions WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        let recorded = id
            .strip_prefix("room:")
            .is_some_and(|room| recorded_rooms.iter().any(|r| r == room));
        Ok(shared.is_some_and(|shared| shared || recorded))
    }

    /// The conversations of a persona the person may read, the latest first.
    pub fn visible_conversations(
        conn: &Connection,
        persona: &str,
        recorded_rooms: &[String],
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let rooms: Vec<String> = recorded_rooms.iter().map(|r| format!("room:{r}")).collect();
        let mut stmt = conn.prepare(
            "SELECT s.id, COUNT(t.seq), COALESCE(MAX(t.created_ms), s.created_ms) FROM sessions s
             LEFT JOIN turns t ON t.session_id = s.id
             WHERE s.persona = ?1 AND (s.shared = 1 OR s.id IN (SELECT value FROM json_each(?2)))
             GROUP BY s.id ORDER BY 3 DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![persona, to_json(&rooms)?, limit as i64], |r| {
            Ok(Conversation {
                id: r.get(0)?,
                turns: r.get::<_, i64>(1)? as u64,
                last_ms: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every turn of a session, oldest first (the caller checks [`Store::is_visible`]).
    pub fn conversation(conn: &Connection, id: &str) -> Result<Vec<Said>, StoreError> {
        let persona: String = match conn
            .query_row("SELECT persona FROM sessions WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
        {
            Some(p) => p,
            None => return Ok(vec![]),
        };
        let mut users = conn.prepare(
            "SELECT seq, text FROM turns WHERE session_id = ?1 AND speaker = 'user' ORDER BY seq",
        )?;
        let mut said: Vec<(i64, Said)> = users
            .query_map([id], |r| Ok((r.get(0)?, Said::User(r.get(1)?))))?
            .collect::<Result<_, _>>()?;
        let sql = format!("{REPLIES} AND t.session_id = ?2");
        let mut twins = conn.prepare(&sql)?;
        let replies = twins.query_map(params![persona, id], |r| {
            Ok((r.get::<_, i64>(12)?, Said::Twin(Box::new(stored_reply(r)?))))
        })?;
        for reply in replies {
            said.push(reply?);
        }
        said.sort_by_key(|(seq, _)| *seq);
        Ok(said.into_iter().map(|(_, s)| s).collect())
    }

    /// The latest replies of a persona to a question (not disclosures), newest first.
    pub fn answered_questions(
        conn: &Connection,
        persona: &str,
        limit: usize,
    ) -> Result<Vec<StoredReply>, StoreError> {
        let sql =
            format!("{REPLIES} AND t.kind IS NOT 'disclosure' ORDER BY t.created_ms DESC LIMIT ?2");
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params![persona, limit as i64], stored_reply)?;
        Ok(rows
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|r| r.question.is_some())
            .collect())
    }

    /// How many questions of each topic a persona's twin answered (`None`: no source, such as "I don't know").
    pub fn topic_counts(
        conn: &Connection,
        persona: &str,
    ) -> Result<Vec<(Option<String>, u64)>, StoreError> {
        let mut stmt = conn.prepare(
            "SELECT t.topic, COUNT(*) FROM turns t JOIN sessions s ON s.id = t.session_id
             WHERE t.speaker = 'twin' AND t.kind IS NOT 'disclosure' AND s.persona = ?1
             GROUP BY t.topic ORDER BY 2 DESC",
        )?;
        let rows = stmt.query_map([persona], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The questions a persona's twin answered "I don't know" to, with when (newest first, at most `limit`).
    pub fn unknown_questions(
        conn: &Connection,
        persona: &str,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = format!("{REPLIES} AND t.kind = 'unknown' ORDER BY t.created_ms DESC LIMIT ?2");
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params![persona, limit as i64], stored_reply)?;
        Ok(rows
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter_map(|r| Some((r.question?, r.created_ms)))
            .collect())
    }

    /// The persona's use day by day over the `days` days up to `now_ms`, oldest first (every day present).
    pub fn daily_stats(
        conn: &Connection,
        persona: &str,
        days: i64,
        now_ms: i64,
    ) -> Result<Vec<DayStats>, StoreError> {
        const DAY_MS: i64 = 86_400_000;
        let today = now_ms.div_euclid(DAY_MS);
        let since = (today - days + 1) * DAY_MS;
        let mut out: Vec<DayStats> = (today - days + 1..=today)
            .map(|day| DayStats {
                day,
                ..DayStats::default()
            })
            .collect();
        type Count = fn(&mut DayStats, u64);
        let queries: [(&str, Count); 5] = [
            (
                "SELECT created_ms / 86400000, COUNT(*) FROM sessions WHERE persona = ?1 AND created_ms >= ?2 GROUP BY 1",
                |d, n| d.conversations = n,
            ),
            (
                "SELECT t.created_ms / 86400000, COUNT(*) FROM turns t JOIN sessions s ON s.id = t.session_id
                 WHERE s.persona = ?1 AND t.speaker = 'user' AND t.created_ms >= ?2 GROUP BY 1",
                |d, n| d.turns = n,
            ),
            (
                "SELECT f.created_ms / 86400000, COUNT(*) FROM flags f JOIN sessions s ON s.id = f.session_id
                 WHERE s.persona = ?1 AND f.created_ms >= ?2 GROUP BY 1",
                |d, n| d.flags = n,
            ),
            (
                "SELECT created_ms / 86400000, COUNT(*) FROM teachings WHERE persona = ?1 AND created_ms >= ?2 GROUP BY 1",
                |d, n| d.corrections = n,
            ),
            (
                "SELECT t.created_ms / 86400000, SUM(json_array_length(t.actions)) FROM turns t
                 JOIN sessions s ON s.id = t.session_id
                 WHERE s.persona = ?1 AND t.speaker = 'twin' AND t.created_ms >= ?2 GROUP BY 1",
                |d, n| d.guardrail_actions = n,
            ),
        ];
        for (sql, set) in queries {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![persona, since], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                ))
            })?;
            for row in rows {
                let (day, n) = row?;
                if let Some(d) = out.iter_mut().find(|d| d.day == day) {
                    set(d, n.max(0) as u64);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ReplyAudit, ReplyRecord};
    use twin_protocol::ReplyKind;

    /// A session with the disclosure, a question and its reply.
    fn exchange(
        c: &mut Connection,
        session: &str,
        question: &str,
        kind: ReplyKind,
    ) -> Result<(), StoreError> {
        Store::create_session(c, session, "owen", "holder-of-secrets")?;
        let reply = |id: &str, kind, text: &str, audit: &ReplyAudit| {
            let sentences = vec![ReplySentence {
                text: text.into(),
                source: Some("s1".into()),
                quote: Some(text.into()),
            }];
            (
                id.to_string(),
                kind,
                text.to_string(),
                sentences,
                audit.clone(),
            )
        };
        let audit = ReplyAudit {
            actions: vec!["approval".into()],
            latency_ms: Some(120),
            topic: Some("office".into()),
            ..ReplyAudit::default()
        };
        let disclosure = reply(
            &format!("{session}-d"),
            ReplyKind::Disclosure,
            "I am an AI.",
            &ReplyAudit::default(),
        );
        let answer = reply(&format!("{session}-a"), kind, "Two days.", &audit);
        for (i, (id, kind, text, sentences, audit)) in [disclosure, answer].into_iter().enumerate()
        {
            if i == 1 {
                Store::add_user_turn(c, session, &format!("{session}-t"), question, None)?;
            }
            let record = ReplyRecord {
                reply_id: &id,
                kind,
                text: &text,
                citations: &[],
                sentences: &sentences,
                interrupted: false,
                audit: &audit,
            };
            Store::add_reply(c, session, &record)?;
        }
        Ok(())
    }

    #[tokio::test]
    async fn only_shared_sessions_flagged_replies_and_recorded_rooms_are_shown() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .run(|c| {
                exchange(c, "shared", "Office days?", ReplyKind::Grounded)?;
                exchange(c, "private", "Office days for me?", ReplyKind::Grounded)?;
                exchange(c, "room:standup", "Ana: Robots?", ReplyKind::Unknown)?;
                exchange(c, "room:secret", "Ben: Pay?", ReplyKind::Unknown)?;
                assert!(Store::set_shared(c, "shared", true)?);
                assert!(!Store::set_shared(c, "nope", true)?);
                // The latest reply, not the disclosure; then a named one, with a note replaced.
                assert_eq!(
                    Store::flag(c, "private", None, Some(" wrong "))?.as_deref(),
                    Some("private-a")
                );
                assert_eq!(
                    Store::flag(c, "private", Some("private-a"), Some("very wrong"))?.as_deref(),
                    Some("private-a")
                );
                assert_eq!(Store::flag(c, "private", Some("made-up"), None)?, None);
                let rooms = vec!["standup".to_string()];
                assert!(Store::is_visible(c, "shared", &rooms)?);
                assert!(Store::is_visible(c, "room:standup", &rooms)?);
                assert!(!Store::is_visible(c, "private", &rooms)?);
                assert!(!Store::is_visible(c, "room:secret", &rooms)?);
                let visible: Vec<String> = Store::visible_conversations(c, "owen", &rooms, 10)?
                    .into_iter()
                    .map(|v| v.id)
                    .collect();
                assert_eq!(visible.len(), 2, "{visible:?}");
                assert!(
                    visible.contains(&"shared".to_string())
                        && visible.contains(&"room:standup".to_string())
                );
                let flags = Store::flagged(c, "owen", 10)?;
                assert_eq!(flags.len(), 1);
                assert_eq!(flags[0].note.as_deref(), Some("very wrong"));
                let r = &flags[0].reply;
                assert_eq!(r.question.as_deref(), Some("Office days for me?"));
                assert_eq!(
                    (r.actions.clone(), r.latency_ms),
                    (vec!["approval".to_string()], Some(120))
                );
                assert_eq!(r.sentences[0].source.as_deref(), Some("s1"));
                let said = Store::conversation(c, "shared")?;
                assert_eq!(said.len(), 3);
                assert!(matches!(&said[1], Said::User(q) if q == "Office days?"));
                let gaps = Store::unknown_questions(c, "owen", 10)?;
                assert_eq!(gaps.len(), 2);
                let topics = Store::topic_counts(c, "owen")?;
                assert_eq!(topics, vec![(Some("office".to_string()), 4)]);
                Store::record_teaching(c, "owen", "correction", "c001")?;
                let days = Store::daily_stats(c, "owen", 7, now_ms())?;
                let today = days.last().unwrap();
                assert_eq!(days.len(), 7);
                assert_eq!((today.conversations, today.turns, today.flags), (4, 4, 1));
                assert_eq!((today.corrections, today.guardrail_actions), (1, 4));
                Ok(())
            })
            .await
            .unwrap();
    }
}
