//! The example transcripts in docs/protocol.md are real messages: every `C:` line decodes as a client message
//! and every `S:` line as a server message, except where the document elides fields or items (`,…`, `[…]`).

use twin_protocol::{ClientMessage, ServerMessage};

#[test]
fn every_line_of_the_documents_transcripts_decodes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md");
    let doc = std::fs::read_to_string(path).expect("docs/protocol.md");
    let (mut decoded, mut elided, mut wrong) = (0, 0, Vec::new());
    for (n, line) in doc.lines().enumerate() {
        let result = if let Some(json) = line.strip_prefix("C: {").map(|j| format!("{{{j}")) {
            serde_json::from_str::<ClientMessage>(&json).err()
        } else if let Some(json) = line.strip_prefix("S: {").map(|j| format!("{{{j}")) {
            serde_json::from_str::<ServerMessage>(&json).err()
        } else {
            continue;
        };
        match result {
            None => decoded += 1,
            // Fields or items left out for the reader: `"persona":{"id":"owen-marsh",…}`, `"sentences":[…]`.
            Some(_) if line.contains(",…") || line.contains("[…]") => elided += 1,
            Some(e) => wrong.push(format!("line {}: {e}\n  {line}", n + 1)),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        decoded >= 40 && elided <= 5,
        "{decoded} lines decoded, {elided} elided"
    );
}
