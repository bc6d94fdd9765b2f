//! The durable conversation store: SQLite in WAL mode with full sync, so a turn is on disk before it is acknowledged.
//! What the person reviews of it (shared sessions, flags, questions, gaps, stats) is in [`review`].

pub mod review;

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};
use twin_protocol::{Attachment, HistoryTurn, ReplyKind, ReplySentence, Speaker};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conversation store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("conversation store is unavailable (a writer panicked)")]
    Poisoned,
    #[error("conversation store task failed: {0}")]
    Task(String),
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub persona: String,
    pub owner: String,
}

/// A stored twin reply.
#[derive(Debug, Clone)]
pub struct ReplyRecord<'a> {
    pub reply_id: &'a str,
    pub kind: ReplyKind,
    pub text: &'a str,
    pub citations: &'a [String],
    /// Each sentence with the source sentence it rests on.
    pub sentences: &'a [ReplySentence],
    pub interrupted: bool,
    pub audit: &'a ReplyAudit,
}

/// How a reply came about, for the person's review: the guardrails that acted, how long the first sentence
/// took, and the topic of its first source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplyAudit {
    /// Guardrail actions, in order ("approval", "unsupported_sentence", ...).
    pub actions: Vec<String>,
    /// From the user's turn reaching the server to the reply's first sentence.
    pub latency_ms: Option<u64>,
    pub topic: Option<String>,
    /// The user turns (seqs) it answers: several when a room merged what someone said while waiting.
    pub answers: Vec<u64>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    persona TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    seq INTEGER NOT NULL,
    speaker TEXT NOT NULL CHECK (speaker IN ('user', 'twin')),
    text TEXT NOT NULL,
    client_turn_id TEXT,
    reply_id TEXT,
    kind TEXT,
    citations TEXT NOT NULL DEFAULT '[]',
    interrupted INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS turns_by_client_id ON turns(session_id, client_turn_id) WHERE client_turn_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS flags (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    reply_id TEXT NOT NULL,
    note TEXT,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, reply_id)
);
CREATE TABLE IF NOT EXISTS teachings (
    id INTEGER PRIMARY KEY,
    persona TEXT NOT NULL,
    action TEXT NOT NULL,
    source_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
";

/// Indexes on columns added after the first schema (made once the columns exist).
const REVIEW_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS turns_by_time ON turns(created_ms);
CREATE INDEX IF NOT EXISTS turns_by_reply ON turns(reply_id) WHERE reply_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS twin_turns_by_kind ON turns(kind, created_ms) WHERE speaker = 'twin';
CREATE INDEX IF NOT EXISTS sessions_shared ON sessions(shared) WHERE shared = 1;
CREATE INDEX IF NOT EXISTS flags_by_time ON flags(created_ms);
";

/// Columns added after the first schema (table, column, definition, and what fills it in for rows stored before
/// it): added to stores made before them.
const ADDED_COLUMNS: &[(&str, &str, &str, Option<&str>)] = &[
    // A twin turn's sentences with their sources (JSON `ReplySentence[]`).
    ("turns", "sentences", "TEXT NOT NULL DEFAULT '[]'", None),
    // A user turn's attachment (JSON `Attachment`), if any.
    ("turns", "attachment", "TEXT", None),
    // A twin turn's audit: guardrail actions (JSON string array), first-sentence latency, topic.
    ("turns", "actions", "TEXT NOT NULL DEFAULT '[]'", None),
    ("turns", "latency_ms", "INTEGER", None),
    ("turns", "topic", "TEXT", None),
    // The employee shared the session with the person for review.
    ("sessions", "shared", "INTEGER NOT NULL DEFAULT 0", None),
    // A user turn's answer: the id of the stored reply that answers it.
    ("turns", "answered_by", "TEXT", Some(BACKFILL_ANSWERED)),
    // A user turn said again whole by a later one (its client turn id): left out of what the twin reads back.
    ("turns", "revised_by", "TEXT", None),
];

/// What a store made before `answered_by` knew of answers: a user turn with anything stored after it.
const BACKFILL_ANSWERED: &str = "
UPDATE turns SET answered_by = ''
 WHERE speaker = 'user' AND answered_by IS NULL
   AND EXISTS (SELECT 1 FROM turns later WHERE later.session_id = turns.session_id AND later.seq > turns.seq)";

fn add_missing_columns(conn: &Connection) -> Result<(), StoreError> {
    for (table, name, definition, backfill) in ADDED_COLUMNS {
        let have: bool = conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
            params![table, name],
            |r| r.get(0),
        )?;
        if !have {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {name} {definition}"
            ))?;
            if let Some(backfill) = backfill {
                conn.execute_batch(backfill)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                    Some(format!("cannot create {}: {e}", dir.display())),
                )
            })?;
        }
        let conn = Connection::open(path)?;
        // WAL for concurrent readers; FULL sync so a committed turn survives power loss, not only a crash.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        add_missing_columns(&conn)?;
        conn.execute_batch(REVIEW_INDEXES)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on a blocking thread with the connection.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Poisoned)?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub fn create_session(
        conn: &mut Connection,
        id: &str,
        persona: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        conn.execute(
            "INSERT INTO sessions (id, persona, owner, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![id, persona, owner, now_ms()],
        )?;
        Ok(())
    }

    pub fn session(conn: &mut Connection, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(conn
            .query_row(
                "SELECT id, persona, owner FROM sessions WHERE id = ?1",
                [id],
                |r| {
                    Ok(SessionRecord {
                        id: r.get(0)?,
                        persona: r.get(1)?,
                        owner: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Stores a user turn; a turn with a `client_turn_id` already stored returns the earlier seq (a resend).
    pub fn add_user_turn(
        conn: &mut Connection,
        session: &str,
        client_turn_id: &str,
        text: &str,
        attachment: Option<&Attachment>,
    ) -> Result<(u64, bool), StoreError> {
        let tx = conn.transaction()?;
        if let Some(seq) = Self::user_turn_seq(&tx, session, client_turn_id)? {
            return Ok((seq, false));
        }
        let seq = next_seq(&tx, session)?;
        let attachment = attachment.map(to_json).transpose()?;
        tx.execute(
            "INSERT INTO turns (session_id, seq, speaker, text, client_turn_id, attachment, created_ms) VALUES (?1, ?2, 'user', ?3, ?4, ?5, ?6)",
            params![session, seq, text, client_turn_id, attachment, now_ms()],
        )?;
        tx.commit()?;
        Ok((seq as u64, true))
    }

    /// The seq of a stored user turn, by the client's turn id.
    pub fn user_turn_seq(
        conn: &Connection,
        session: &str,
        client_turn_id: &str,
    ) -> Result<Option<u64>, StoreError> {
        Ok(conn
            .query_row(
                "SELECT seq FROM turns WHERE session_id = ?1 AND client_turn_id = ?2",
                params![session, client_turn_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|s| s as u64))
    }

    pub fn add_reply(
        conn: &mut Connection,
        session: &str,
        reply: &ReplyRecord<'_>,
    ) -> Result<u64, StoreError> {
        let tx = conn.transaction()?;
        let seq = next_seq(&tx, session)?;
        let (citations, sentences) = (to_json(reply.citations)?, to_json(reply.sentences)?);
        let audit = reply.audit;
        tx.execute(
            "INSERT INTO turns (session_id, seq, speaker, text, reply_id, kind, citations, sentences, interrupted,
                                created_ms, actions, latency_ms, topic)
             VALUES (?1, ?2, 'twin', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                session,
                seq,
                reply.text,
                reply.reply_id,
                reply.kind.as_str(),
                citations,
                sentences,
                reply.interrupted,
                now_ms(),
                to_json(&audit.actions)?,
                audit.latency_ms.map(|ms| ms as i64),
                audit.topic,
            ],
        )?;
        for answered in &audit.answers {
            tx.execute(
                "UPDATE turns SET answered_by = ?3 WHERE session_id = ?1 AND seq = ?2 AND speaker = 'user'",
                params![session, *answered as i64, reply.reply_id],
            )?;
        }
        tx.commit()?;
        Ok(seq as u64)
    }

    /// Marks the user turn `revised` (a client turn id) as said again whole by the turn `by`.
    pub fn revise(
        conn: &Connection,
        session: &str,
        revised: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        conn.execute(
            "UPDATE turns SET revised_by = ?3 WHERE session_id = ?1 AND client_turn_id = ?2",
            params![session, revised, by],
        )?;
        Ok(())
    }

    /// Whether a stored reply answers the user turn at `seq`.
    pub fn is_answered(conn: &Connection, session: &str, seq: u64) -> Result<bool, StoreError> {
        Ok(conn
            .query_row(
                "SELECT answered_by IS NOT NULL FROM turns WHERE session_id = ?1 AND seq = ?2",
                params![session, seq as i64],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// Cuts a stored reply down to what the user heard; returns what now stands, or `None` if the session has no
    /// such reply.
    pub fn truncate_reply(
        conn: &mut Connection,
        session: &str,
        reply_id: &str,
        heard_chars: usize,
    ) -> Result<Option<Heard>, StoreError> {
        let tx = conn.transaction()?;
        let stored: Option<(String, String)> = tx
            .query_row(
                "SELECT text, sentences FROM turns WHERE session_id = ?1 AND reply_id = ?2",
                params![session, reply_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((text, sentences)) = stored else {
            return Ok(None);
        };
        let sentences: Vec<ReplySentence> = serde_json::from_str(&sentences).unwrap_or_default();
        let heard = Heard {
            text: text.chars().take(heard_chars).collect(),
            sentences: sentences_heard(&sentences, heard_chars),
        };
        tx.execute(
            "UPDATE turns SET text = ?3, sentences = ?4, interrupted = 1 WHERE session_id = ?1 AND reply_id = ?2",
            params![session, reply_id, heard.text, to_json(&heard.sentences)?],
        )?;
        tx.commit()?;
        Ok(Some(heard))
    }

    /// The last `limit` turns, oldest first.
    pub fn history(
        conn: &mut Connection,
        session: &str,
        limit: usize,
    ) -> Result<Vec<HistoryTurn>, StoreError> {
        // Without turns said again whole later, nor the replies that answered only them.
        let mut stmt = conn.prepare(
            "SELECT seq, speaker, text, citations, sentences FROM turns WHERE session_id = ?1
               AND revised_by IS NULL
               AND NOT (speaker = 'twin'
                        AND reply_id IN (SELECT answered_by FROM turns WHERE session_id = ?1 AND revised_by IS NOT NULL)
                        AND reply_id NOT IN (SELECT answered_by FROM turns WHERE session_id = ?1
                                               AND revised_by IS NULL AND answered_by IS NOT NULL))
             ORDER BY seq DESC LIMIT ?2",
        )?;
        let mut turns = stmt
            .query_map(params![session, limit as i64], |r| {
                let speaker: String = r.get(1)?;
                let citations: String = r.get(3)?;
                let sentences: String = r.get(4)?;
                Ok(HistoryTurn {
                    seq: r.get::<_, i64>(0)? as u64,
                    speaker: if speaker == "user" {
                        Speaker::User
                    } else {
                        Speaker::Twin
                    },
                    text: r.get(2)?,
                    citations: serde_json::from_str(&citations).unwrap_or_default(),
                    sentences: serde_json::from_str(&sentences).unwrap_or_default(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        turns.reverse();
        Ok(turns)
    }
}

/// What stands of a reply cut short: the text heard and its sentences.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub text: String,
    pub sentences: Vec<ReplySentence>,
}

/// The sentences of a reply (its text is their texts joined by spaces) heard in its first `chars` characters;
/// the last one cut where the hearing stopped, keeping the source it rests on.
pub fn sentences_heard(sentences: &[ReplySentence], chars: usize) -> Vec<ReplySentence> {
    let mut left = chars;
    let mut heard = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        let gap = usize::from(i > 0);
        if left <= gap {
            break;
        }
        left -= gap;
        let n = s.text.chars().count();
        let mut s = s.clone();
        if n > left {
            s.text = s.text.chars().take(left).collect();
            heard.push(s);
            break;
        }
        left -= n;
        heard.push(s);
    }
    heard
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Task(format!("cannot encode a turn: {e}")))
}

fn next_seq(conn: &Connection, session: &str) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE session_id = ?1",
        [session],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn turns_survive_reopen_and_resends_are_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/twin.db");
        {
            let store = Store::open(&path).unwrap();
            store
                .run(|c| {
                    Store::create_session(c, "s1", "p", "demo")?;
                    assert_eq!(
                        Store::add_user_turn(c, "s1", "t1", "hello", None)?,
                        (1, true)
                    );
                    assert_eq!(
                        Store::add_user_turn(c, "s1", "t1", "hello", None)?,
                        (1, false)
                    );
                    let cites = vec!["s001".to_string()];
                    let sentences = vec![ReplySentence {
                        text: "Hi.".into(),
                        source: Some("s001".into()),
                        quote: Some("Hi there.".into()),
                    }];
                    let reply = ReplyRecord {
                        reply_id: "r1",
                        kind: ReplyKind::Grounded,
                        text: "Hi.",
                        citations: &cites,
                        sentences: &sentences,
                        interrupted: false,
                        audit: &ReplyAudit::default(),
                    };
                    assert_eq!(Store::add_reply(c, "s1", &reply)?, 2);
                    Ok(())
                })
                .await
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let history = store.run(|c| Store::history(c, "s1", 10)).await.unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].text, "hello");
        assert_eq!(history[1].citations, vec!["s001"]);
        assert_eq!(history[1].sentences[0].quote.as_deref(), Some("Hi there."));
        let last = store.run(|c| Store::history(c, "s1", 1)).await.unwrap();
        assert_eq!(last[0].seq, 2);
        assert!(
            store
                .run(|c| Store::session(c, "nope"))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_sentences_heard_follow_the_text_heard() {
        let s = |t: &str| ReplySentence {
            text: t.into(),
            source: Some("s1".into()),
            quote: None,
        };
        let all = [s("One two."), s("Three.")];
        assert_eq!(sentences_heard(&all, 0), vec![]);
        assert_eq!(sentences_heard(&all, 3), vec![s("One")]);
        assert_eq!(sentences_heard(&all, 9), vec![s("One two.")]);
        assert_eq!(sentences_heard(&all, 11), vec![s("One two."), s("Th")]);
        assert_eq!(sentences_heard(&all, 99), all.to_vec());
    }

    #[tokio::test]
    async fn a_store_made_before_the_audit_columns_gets_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let old = Connection::open(&path).unwrap();
            old.execute_batch(SCHEMA).unwrap();
            old.execute_batch(
                "INSERT INTO sessions VALUES ('s1', 'p', 'demo', 0);
                 INSERT INTO turns (session_id, seq, speaker, text, created_ms) VALUES ('s1', 1, 'twin', 'Hi.', 0);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let plan = Attachment {
            name: "plan.md".into(),
            text: "# Plan".into(),
        };
        let history = store
            .run(move |c| {
                Store::add_user_turn(c, "s1", "t2", "Thoughts?", Some(&plan))?;
                Store::history(c, "s1", 10)
            })
            .await
            .unwrap();
        assert_eq!(history.len(), 2);
        assert!(history[0].sentences.is_empty());
    }
}
