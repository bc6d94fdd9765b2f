//! A document presented with a user turn (a plan, a proposal), and its limits.

use serde::{Deserialize, Serialize};

use crate::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_NAME_BYTES, ProtocolError};

/// A text document presented with a user turn: its file name and its text (plain text or Markdown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub name: String,
    pub text: String,
}

impl Attachment {
    pub(crate) fn check(&self) -> Result<(), ProtocolError> {
        let bad_name = self.name.trim().is_empty()
            || self.name.len() > MAX_ATTACHMENT_NAME_BYTES
            || self.name.chars().any(char::is_control);
        if bad_name {
            return Err(ProtocolError::Malformed(format!(
                "an attachment name is 1 to {MAX_ATTACHMENT_NAME_BYTES} bytes without control characters"
            )));
        }
        if self.text.len() > MAX_ATTACHMENT_BYTES {
            return Err(ProtocolError::AttachmentTooLarge {
                bytes: self.text.len(),
                limit: MAX_ATTACHMENT_BYTES,
            });
        }
        if self.text.trim().is_empty() {
            return Err(ProtocolError::Malformed(format!(
                "attachment {:?} is empty",
                self.name
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientMessage, ErrorCode};

    #[test]
    fn attachments_are_limited_and_a_full_one_fits_a_frame() {
        let turn = |name: &str, text: String| ClientMessage::UserFinal {
            turn_id: "a".into(),
            text: "Any feedback on this plan?".into(),
            attachment: Some(Attachment {
                name: name.into(),
                text,
            }),
            revises: None,
        };
        // The worst case for escaping that text files hold: every byte a quote or a newline.
        let full = turn("plan.md", "\"\n".repeat(MAX_ATTACHMENT_BYTES / 2));
        assert_eq!(ClientMessage::decode(&full.encode()).unwrap(), full);
        assert!(matches!(
            ClientMessage::decode(&turn("plan.md", "x".repeat(MAX_ATTACHMENT_BYTES + 1)).encode()),
            Err(ProtocolError::AttachmentTooLarge { .. })
        ));
        for (name, text) in [("", "plan"), ("a\nb.md", "plan"), ("plan.md", " \n ")] {
            let err = ClientMessage::decode(&turn(name, text.into()).encode()).unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::BadMessage,
                "{name:?} {text:?}: {err}"
            );
        }
    }
}
