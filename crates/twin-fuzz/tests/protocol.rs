//! Client and server messages: whatever frame arrives, `decode` gives a message or a clear error; a message
//! that decodes encodes back to one that decodes the same.

use proptest::prelude::*;
use twin_fuzz::{config, near_text};
use twin_protocol::{ClientMessage, ServerMessage};

const CLIENT: &[&str] = &[
    r#"{"type":"hello","protocol":5,"token":"t","persona":"owen-marsh","client":"x","audio":{"lipsync":true},"room":"r","remote":true,"instance":"i"}"#,
    r#"{"type":"user_final","turn_id":"t1","text":"Are we profitable yet?","attachment":{"name":"plan.md","text":"We plan to skip the review."}}"#,
    r#"{"type":"user_partial","text":"Are we"}"#,
    r#"{"type":"interrupted","reply_id":"r-1","heard":{"samples":22050}}"#,
    r#"{"type":"interrupted","reply_id":"r-1","heard":{"chars":12}}"#,
    r#"{"type":"pose","seq":1,"head":{"position":[0,1.6,1],"orientation":[0,0,0,1]}}"#,
    r#"{"type":"voice","seq":2,"sample_rate":16000,"pcm16":"AAAA"}"#,
    r#"{"type":"place","spot":{"x":0.5,"z":1.0,"yaw":0.2}}"#,
    r#"{"type":"ping","nonce":7}"#,
    r#"{"type":"bye"}"#,
];

const SERVER: &[&str] = &[
    r#"{"type":"welcome","protocol":5,"session_id":"s","resumed":false,"persona":{"id":"p","name":"N","role":"R","organization":"O","disclosure":"D"},"history":[{"seq":1,"speaker":"twin","text":"hi","citations":["s1"]}]}"#,
    r#"{"type":"reply_start","reply_id":"r","turn_id":"t","kind":"grounded","to":"p-1"}"#,
    r#"{"type":"sentence","reply_id":"r","index":0,"text":"A.","citations":["s1"]}"#,
    r#"{"type":"reply_end","reply_id":"r","text":"A.","citations":[{"id":"s1","kind":"statement","title":"T","date":"2024-01-01","url":"https://x"}],"interrupted":false,"sentences":[{"text":"A.","source":"s1","quote":"A."}]}"#,
    r#"{"type":"audio","reply_id":"r","first_sample":0,"sample_rate":22050,"pcm16":"AAAA"}"#,
    r#"{"type":"error","code":"rate_limited","message":"m"}"#,
    r#"{"type":"state","state":"listening"}"#,
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn client_frames_decode_or_are_refused(frame in near_text(CLIENT.to_vec())) {
        if let Ok(message) = ClientMessage::decode(&frame) {
            let again = ClientMessage::decode(&message.encode());
            prop_assert_eq!(again.ok(), Some(message));
        }
    }

    #[test]
    fn server_frames_decode_or_are_refused(frame in near_text(SERVER.to_vec())) {
        if let Ok(message) = ServerMessage::decode(&frame) {
            let again = ServerMessage::decode(&message.encode());
            prop_assert_eq!(again.ok(), Some(message));
        }
    }
}
