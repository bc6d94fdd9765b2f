//! Reading frames: size first (before any parsing), then shape, then each field's limits. A client frame that
//! passes is one the server can act on.

use crate::{
    ClientMessage, MAX_AUDIO_CHUNK_MS, MAX_CLIENT_FRAME_BYTES, MAX_FLAG_NOTE_BYTES,
    MAX_POSE_DISTANCE_M, MAX_SERVER_FRAME_BYTES, MAX_TOKEN_BYTES, MAX_USER_TEXT_CHARS,
    PROTOCOL_VERSION, ProtocolError, ServerMessage, decode_pcm16,
};

impl ClientMessage {
    /// Parses and validates one client frame: size first (before any parsing), then shape, then field limits.
    pub fn decode(frame: &str) -> Result<Self, ProtocolError> {
        if frame.len() > MAX_CLIENT_FRAME_BYTES {
            return Err(ProtocolError::TooLarge {
                size: frame.len(),
                limit: MAX_CLIENT_FRAME_BYTES,
            });
        }
        let message: ClientMessage =
            serde_json::from_str(frame).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        message.validate()?;
        Ok(message)
    }

    fn validate(&self) -> Result<(), ProtocolError> {
        match self {
            ClientMessage::Hello {
                protocol,
                token,
                instance,
                ..
            } => {
                if *protocol != PROTOCOL_VERSION {
                    return Err(ProtocolError::UnsupportedVersion {
                        got: *protocol,
                        supported: PROTOCOL_VERSION,
                    });
                }
                if token.len() > MAX_TOKEN_BYTES {
                    return Err(ProtocolError::TokenTooLong);
                }
                if instance
                    .as_ref()
                    .is_some_and(|i| i.is_empty() || i.len() > 64)
                {
                    return Err(ProtocolError::Malformed(
                        "instance must be 1 to 64 bytes".into(),
                    ));
                }
            }
            ClientMessage::UserPartial { text } => check_text(text, false)?,
            ClientMessage::UserFinal {
                text,
                turn_id,
                attachment,
                revises,
            } => {
                check_text(text, true)?;
                if let Some(attachment) = attachment {
                    attachment.check()?;
                }
                for (what, id) in [("turn_id", Some(turn_id)), ("revises", revises.as_ref())] {
                    if id.is_some_and(|id| id.is_empty() || id.len() > 128) {
                        return Err(ProtocolError::Malformed(format!(
                            "{what} must be 1 to 128 bytes"
                        )));
                    }
                }
                if revises.as_ref() == Some(turn_id) {
                    return Err(ProtocolError::Malformed(
                        "a turn cannot revise itself".into(),
                    ));
                }
            }
            ClientMessage::Pose {
                head, left, right, ..
            } => {
                head.check()?;
                for hand in left.iter().chain(right) {
                    hand.check()?;
                }
            }
            ClientMessage::Place { spot } => {
                let ok = [spot.x, spot.z, spot.yaw].iter().all(|v| v.is_finite())
                    && spot.x.hypot(spot.z) <= MAX_POSE_DISTANCE_M;
                if !ok {
                    return Err(ProtocolError::Malformed(format!(
                        "a spot needs finite values within {MAX_POSE_DISTANCE_M} m of the marks (got {spot:?})"
                    )));
                }
            }
            ClientMessage::Voice {
                sample_rate, pcm16, ..
            } => {
                if !(8_000..=48_000).contains(sample_rate) {
                    return Err(ProtocolError::Malformed(format!(
                        "voice sample_rate {sample_rate} is outside 8000..=48000"
                    )));
                }
                let samples = decode_pcm16(pcm16)?.len() as u64;
                let most = u64::from(*sample_rate) * u64::from(MAX_AUDIO_CHUNK_MS) / 1000;
                if samples == 0 || samples > most {
                    return Err(ProtocolError::Malformed(format!(
                        "a voice chunk holds 1 to {most} samples ({MAX_AUDIO_CHUNK_MS} ms), not {samples}"
                    )));
                }
            }
            ClientMessage::Flag { reply_id, note } => {
                if reply_id
                    .as_ref()
                    .is_some_and(|r| r.is_empty() || r.len() > 128)
                {
                    return Err(ProtocolError::Malformed(
                        "reply_id must be 1 to 128 bytes".into(),
                    ));
                }
                if note.as_ref().is_some_and(|n| n.len() > MAX_FLAG_NOTE_BYTES) {
                    return Err(ProtocolError::Malformed(format!(
                        "a flag's note is at most {MAX_FLAG_NOTE_BYTES} bytes"
                    )));
                }
            }
            ClientMessage::Interrupted { .. }
            | ClientMessage::Ping { .. }
            | ClientMessage::Bye
            | ClientMessage::Share { .. } => {}
        }
        Ok(())
    }
}

fn check_text(text: &str, must_have_content: bool) -> Result<(), ProtocolError> {
    let chars = text.chars().count();
    if chars > MAX_USER_TEXT_CHARS {
        return Err(ProtocolError::TextTooLong {
            chars,
            limit: MAX_USER_TEXT_CHARS,
        });
    }
    if must_have_content && text.trim().is_empty() {
        return Err(ProtocolError::EmptyText);
    }
    Ok(())
}

impl ServerMessage {
    pub fn decode(frame: &str) -> Result<Self, ProtocolError> {
        if frame.len() > MAX_SERVER_FRAME_BYTES {
            return Err(ProtocolError::TooLarge {
                size: frame.len(),
                limit: MAX_SERVER_FRAME_BYTES,
            });
        }
        serde_json::from_str(frame).map_err(|e| ProtocolError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::hello;
    use crate::{ErrorCode, NotedKind, Pose, close_code, encode_pcm16};

    #[test]
    fn share_defaults_to_sharing_and_long_flag_notes_are_refused() {
        assert_eq!(
            ClientMessage::decode(r#"{"type":"share"}"#).unwrap(),
            ClientMessage::Share { shared: true }
        );
        assert_eq!(
            ClientMessage::decode(r#"{"type":"flag"}"#).unwrap(),
            ClientMessage::Flag {
                reply_id: None,
                note: None
            }
        );
        let long = format!(
            r#"{{"type":"flag","note":"{}"}}"#,
            "x".repeat(MAX_FLAG_NOTE_BYTES + 1)
        );
        assert_eq!(
            ClientMessage::decode(&long).unwrap_err().code(),
            ErrorCode::BadMessage
        );
        let noted = ServerMessage::Noted {
            noted: NotedKind::Flagged,
            reply_id: Some("r1".into()),
        };
        assert_eq!(
            ServerMessage::decode(&serde_json::to_string(&noted).unwrap()).unwrap(),
            noted
        );
    }

    #[test]
    fn wrong_version_is_refused() {
        let err = ClientMessage::decode(&hello(99).encode()).unwrap_err();
        assert_eq!(
            err,
            ProtocolError::UnsupportedVersion {
                got: 99,
                supported: PROTOCOL_VERSION
            }
        );
        assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
        assert!(err.code().is_fatal());
        assert_eq!(err.code().close_code(), close_code::UNSUPPORTED_VERSION);
    }

    #[test]
    fn oversize_frame_is_refused_before_parsing() {
        let frame = "x".repeat(MAX_CLIENT_FRAME_BYTES + 1);
        let err = ClientMessage::decode(&frame).unwrap_err();
        assert!(matches!(err, ProtocolError::TooLarge { .. }));
        assert_eq!(err.code().close_code(), close_code::TOO_BIG);
    }

    #[test]
    fn malformed_frames_are_refused() {
        for frame in [
            "",
            "not json",
            "{}",
            r#"{"type":"launch_missiles"}"#,
            r#"{"type":"user_final","text":"no id"}"#,
            r#"{"type":"user_final","turn_id":"a","text":"x","extra":1}"#,
            r#"{"type":"interrupted","reply_id":"r","heard":{"bytes":3}}"#,
            r#"[1,2,3]"#,
        ] {
            let err = ClientMessage::decode(frame).unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::BadMessage,
                "frame {frame:?} gave {err:?}"
            );
        }
    }

    #[test]
    fn text_limits_are_enforced() {
        let long = ClientMessage::UserFinal {
            turn_id: "a".into(),
            text: "é".repeat(MAX_USER_TEXT_CHARS + 1),
            attachment: None,
            revises: None,
        };
        assert!(matches!(
            ClientMessage::decode(&long.encode()),
            Err(ProtocolError::TextTooLong { .. })
        ));
        let ok = ClientMessage::UserFinal {
            turn_id: "a".into(),
            text: "é".repeat(MAX_USER_TEXT_CHARS),
            attachment: None,
            revises: None,
        };
        assert!(ClientMessage::decode(&ok.encode()).is_ok());
        let empty = ClientMessage::UserFinal {
            turn_id: "a".into(),
            text: "  \n".into(),
            attachment: None,
            revises: None,
        };
        assert_eq!(
            ClientMessage::decode(&empty.encode()),
            Err(ProtocolError::EmptyText)
        );
        for revises in ["", "a"] {
            let bad = ClientMessage::UserFinal {
                turn_id: "a".into(),
                text: "Said again.".into(),
                attachment: None,
                revises: Some(revises.into()),
            };
            assert!(
                matches!(
                    ClientMessage::decode(&bad.encode()),
                    Err(ProtocolError::Malformed(_))
                ),
                "revises {revises:?}"
            );
        }
        let token = ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: "k".repeat(MAX_TOKEN_BYTES + 1),
            persona: None,
            session_id: None,
            client: None,
            audio: None,
            room: None,
            remote: false,
            instance: None,
        };
        assert_eq!(
            ClientMessage::decode(&token.encode()),
            Err(ProtocolError::TokenTooLong)
        );
    }

    #[test]
    fn poses_and_voice_chunks_are_checked() {
        let pose = |position: [f32; 3], orientation: [f32; 4]| Pose {
            position,
            orientation,
        };
        let good = ClientMessage::Pose {
            seq: 1,
            head: pose([0.0, 1.6, 1.5], [0.0, 0.0, 0.0, 1.0]),
            left: Some(pose([-0.2, 1.0, 1.3], [0.0, 0.0, 0.0, 1.0])),
            right: None,
        };
        assert_eq!(ClientMessage::decode(&good.encode()).unwrap(), good);
        for bad in [
            pose([0.0, f32::NAN, 0.0], [0.0, 0.0, 0.0, 1.0]),
            pose([0.0, 1.6, 500.0], [0.0, 0.0, 0.0, 1.0]),
            pose([0.0, 1.6, 1.0], [0.0, 0.0, 0.0, 0.0]),
        ] {
            let m = ClientMessage::Pose {
                seq: 2,
                head: pose([0.0, 1.6, 1.0], [0.0, 0.0, 0.0, 1.0]),
                left: None,
                right: Some(bad),
            };
            // NaN does not survive JSON at all; the others are refused by the check.
            assert!(ClientMessage::decode(&m.encode()).is_err(), "{bad:?}");
        }
        let voice = |rate: u32, n: usize| ClientMessage::Voice {
            seq: 1,
            sample_rate: rate,
            pcm16: encode_pcm16(&vec![0; n]),
        };
        assert!(ClientMessage::decode(&voice(16_000, 320).encode()).is_ok());
        assert!(ClientMessage::decode(&voice(16_000, 1_600).encode()).is_ok());
        assert!(ClientMessage::decode(&voice(16_000, 1_601).encode()).is_err());
        assert!(ClientMessage::decode(&voice(16_000, 0).encode()).is_err());
        assert!(ClientMessage::decode(&voice(4_000, 100).encode()).is_err());
    }
}
