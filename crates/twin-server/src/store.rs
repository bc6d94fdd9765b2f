//! The durable conversation store: SQLite in WAL mode with full sync, so a turn is on disk before it is acknowledged.

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};
use twin_protocol::{HistoryTurn, ReplyKind, Speaker};

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
    pub interrupted: bool,
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
";

fn now_ms() -> i64 {
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
    ) -> Result<(u64, bool), StoreError> {
        let tx = conn.transaction()?;
        if let Some(seq) = Self::user_turn_seq(&tx, session, client_turn_id)? {
            return Ok((seq, false));
        }
        let seq = next_seq(&tx, session)?;
        tx.execute(
            "INSERT INTO turns (session_id, seq, speaker, text, client_turn_id, created_ms) VALUES (?1, ?2, 'user', ?3, ?4, ?5)",
            params![session, seq, text, client_turn_id, now_ms()],
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
        let citations = serde_json::to_string(reply.citations).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO turns (session_id, seq, speaker, text, reply_id, kind, citations, interrupted, created_ms)
             VALUES (?1, ?2, 'twin', ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                session,
                seq,
                reply.text,
                reply.reply_id,
                reply.kind.as_str(),
                citations,
                reply.interrupted,
                now_ms()
            ],
        )?;
        tx.commit()?;
        Ok(seq as u64)
    }

    /// Cuts a stored reply down to what the user heard; returns that text, or `None` if the session has no such reply.
    pub fn truncate_reply(
        conn: &mut Connection,
        session: &str,
        reply_id: &str,
        heard_chars: usize,
    ) -> Result<Option<String>, StoreError> {
        let tx = conn.transaction()?;
        let text: Option<String> = tx
            .query_row(
                "SELECT text FROM turns WHERE session_id = ?1 AND reply_id = ?2",
                params![session, reply_id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(text) = text else { return Ok(None) };
        let heard: String = text.chars().take(heard_chars).collect();
        tx.execute(
            "UPDATE turns SET text = ?3, interrupted = 1 WHERE session_id = ?1 AND reply_id = ?2",
            params![session, reply_id, heard],
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
        let mut stmt = conn.prepare(
            "SELECT seq, speaker, text, citations FROM turns WHERE session_id = ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        let mut turns = stmt
            .query_map(params![session, limit as i64], |r| {
                let speaker: String = r.get(1)?;
                let citations: String = r.get(3)?;
                Ok(HistoryTurn {
                    seq: r.get::<_, i64>(0)? as u64,
                    speaker: if speaker == "user" {
                        Speaker::User
                    } else {
                        Speaker::Twin
                    },
                    text: r.get(2)?,
                    citations: serde_json::from_str(&citations).unwrap_or_default(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        turns.reverse();
        Ok(turns)
    }
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
                    assert_eq!(Store::add_user_turn(c, "s1", "t1", "hello")?, (1, true));
                    assert_eq!(Store::add_user_turn(c, "s1", "t1", "hello")?, (1, false));
                    let cites = vec!["s001".to_string()];
                    let reply = ReplyRecord {
                        reply_id: "r1",
                        kind: ReplyKind::Grounded,
                        text: "Hi.",
                        citations: &cites,
                        interrupted: false,
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
}
