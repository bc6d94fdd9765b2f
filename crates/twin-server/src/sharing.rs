//! What an employee chooses to show the person: `share` (the whole session) and `flag` (one exchange, "that's
//! not right", with a note). Stored at once, confirmed with `noted`.

use crate::store::Store;
use twin_protocol::{ErrorCode, NotedKind, ServerMessage};

/// Shares session `session` with the person for review, or takes it back.
pub async fn share(store: &Store, session: &str, shared: bool) -> ServerMessage {
    let id = session.to_string();
    match store.run(move |c| Store::set_shared(c, &id, shared)).await {
        Ok(true) => ServerMessage::Noted {
            noted: if shared {
                NotedKind::Shared
            } else {
                NotedKind::Unshared
            },
            reply_id: None,
        },
        Ok(false) => ServerMessage::error(ErrorCode::UnknownSession, "this session is not stored"),
        Err(e) => stored_nothing(e),
    }
}

/// Flags a reply of session `session` (its latest when `reply_id` is `None`) for the person's review.
pub async fn flag(
    store: &Store,
    session: &str,
    reply_id: Option<String>,
    note: Option<String>,
) -> ServerMessage {
    let id = session.to_string();
    let wanted = reply_id.clone();
    let flagged = store
        .run(move |c| Store::flag(c, &id, wanted.as_deref(), note.as_deref()))
        .await;
    match flagged {
        Ok(Some(reply_id)) => ServerMessage::Noted {
            noted: NotedKind::Flagged,
            reply_id: Some(reply_id),
        },
        Ok(None) => ServerMessage::error(
            ErrorCode::UnknownReply,
            match reply_id {
                Some(r) => format!("no reply {r:?} in this session to flag"),
                None => "there is no reply in this session to flag yet".to_string(),
            },
        ),
        Err(e) => stored_nothing(e),
    }
}

fn stored_nothing(e: crate::store::StoreError) -> ServerMessage {
    tracing::error!(error = %e, "storing a share or flag failed");
    ServerMessage::error(
        ErrorCode::Internal,
        "that could not be stored; please try again",
    )
}
