//! What a voice may be asked to say: checked once, before any backend sees it.

use crate::VoiceError;

/// OpenAI's `/v1/audio/speech` takes at most 4096 characters; the same limit keeps one request bounded here.
pub const MAX_CHARS: usize = 4096;

/// Cleans `text` for synthesis: control characters become spaces, symbols no voice can read (emoji, dingbats)
/// are dropped, whitespace is collapsed. Errors when nothing speakable is left or the text is too long.
pub fn prepare(text: &str) -> Result<String, VoiceError> {
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        return Err(VoiceError::TextTooLong {
            chars,
            limit: MAX_CHARS,
        });
    }
    let mut out = String::with_capacity(text.len());
    let mut dropped = 0usize;
    for c in text.chars() {
        let keep = if c.is_control() || c.is_whitespace() {
            Some(' ')
        } else if c.is_alphanumeric() || is_speakable_mark(c) {
            Some(c)
        } else {
            dropped += 1;
            None
        };
        if let Some(k) = keep {
            if k == ' ' && (out.is_empty() || out.ends_with(' ')) {
                continue;
            }
            out.push(k);
        }
    }
    let out = out.trim_end().to_string();
    if !out.chars().any(char::is_alphanumeric) {
        return Err(if text.trim().is_empty() {
            VoiceError::EmptyText("the text is empty".into())
        } else {
            VoiceError::EmptyText(format!(
                "the text has no letters or digits a voice can read ({dropped} unsupported characters)"
            ))
        });
    }
    Ok(out)
}

fn is_speakable_mark(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '\''
            | '"'
            | '-'
            | '('
            | ')'
            | '%'
            | '$'
            | '€'
            | '£'
            | '&'
            | '/'
            | '+'
            | '’'
            | '‘'
            | '“'
            | '”'
            | '–'
            | '—'
            | '@'
            | '#'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_words_and_punctuation() {
        assert_eq!(prepare("  Hello,\tworld!\n").unwrap(), "Hello, world!");
    }

    #[test]
    fn drops_symbols_but_keeps_the_rest() {
        assert_eq!(prepare("Ship it 🚀 today").unwrap(), "Ship it today");
    }

    #[test]
    fn rejects_empty_and_symbol_only_text() {
        assert!(matches!(prepare("   "), Err(VoiceError::EmptyText(_))));
        let e = prepare("🚀🚀 ☃").unwrap_err();
        assert!(e.to_string().contains("3 unsupported characters"), "{e}");
    }

    #[test]
    fn rejects_overlong_text_naming_the_limit() {
        let e = prepare(&"a".repeat(10_000)).unwrap_err();
        assert_eq!(
            e,
            VoiceError::TextTooLong {
                chars: 10_000,
                limit: MAX_CHARS
            }
        );
        assert!(e.to_string().contains("4096"));
    }
}
