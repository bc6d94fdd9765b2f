//! Tokens and what each grants: the personas it reaches, the rooms it may join, and its capabilities
//! (`converse`, `speech`, `review`). Secrets are kept only as SHA-256 digests and compared digest to digest,
//! every configured token each time, so neither a secret's content nor its length shows in the timing.

use crate::config::{Config, TokenConfig};
use serde::Deserialize;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Sessions and rooms with the twin (`/v1/session`).
    Converse,
    /// The persona's voice through `/v1/audio/speech`.
    Speech,
    /// The person's review of what the twin said in their name.
    Review,
    /// The server's counters (`/metrics`), for a monitoring system.
    Metrics,
}

impl Capability {
    pub fn name(self) -> &'static str {
        match self {
            Capability::Converse => "converse",
            Capability::Speech => "speech",
            Capability::Review => "review",
            Capability::Metrics => "metrics",
        }
    }
}

/// Capabilities of a token whose config names none: conversation only.
pub const DEFAULT_CAPABILITIES: &[Capability] = &[Capability::Converse];

/// The least a secret must carry unless the config says `demo = true` (bits, estimated from its length and
/// the kinds of character in it).
pub const MIN_TOKEN_BITS: f64 = 192.0;

/// What one token grants, to whom.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Who holds it (logs and the store; never the secret).
    pub holder: String,
    /// The personas it reaches; `None`: every persona of the server.
    pub personas: Option<Vec<String>>,
    pub rooms: Vec<String>,
    pub capabilities: Vec<Capability>,
}

impl Grant {
    pub fn may(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }

    pub fn reaches(&self, persona: &str) -> bool {
        self.personas
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|id| id == persona))
    }

    pub fn joins(&self, room: &str) -> bool {
        self.rooms.iter().any(|r| r == room)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "auth token {holder:?} is too easy to guess (about {bits:.0} bits; at least {MIN_TOKEN_BITS:.0} are \
         needed): use `twin-server token` for a random one, or mark a demo config with demo = true under [auth]"
    )]
    Weak { holder: String, bits: f64 },
    #[error("auth token {holder:?} reaches persona {persona:?}, which this server has not loaded")]
    UnknownPersona { holder: String, persona: String },
}

/// The configured tokens, as digests, with their grants.
pub struct Tokens {
    entries: Vec<([u8; 32], Grant)>,
}

impl Tokens {
    /// Every configured token whose secret is there (a `token_env` that is unset disables that token, with a
    /// warning). Weak secrets are refused unless the config is a demo's; `personas` names loaded personas.
    pub fn from_config(config: &Config, personas: &[&str]) -> Result<Tokens, AuthError> {
        let mut entries = Vec::new();
        for t in &config.auth.tokens {
            let Some(secret) = secret_of(t) else { continue };
            let bits = estimated_bits(&secret);
            if bits < MIN_TOKEN_BITS && !config.auth.demo {
                return Err(AuthError::Weak {
                    holder: t.name.clone(),
                    bits,
                });
            }
            if let Some(unknown) = t
                .personas
                .iter()
                .flatten()
                .find(|p| !personas.contains(&p.as_str()))
            {
                return Err(AuthError::UnknownPersona {
                    holder: t.name.clone(),
                    persona: unknown.clone(),
                });
            }
            entries.push((digest(&secret), grant_of(t)));
        }
        Ok(Tokens { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The grant of `token`, if it is one of the configured secrets. Every digest is compared, all bytes of it.
    pub fn authenticate(&self, token: &str) -> Option<&Grant> {
        if token.is_empty() {
            return None;
        }
        let presented = digest(token);
        let mut found = None;
        for (secret, grant) in &self.entries {
            let same = secret
                .iter()
                .zip(&presented)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
            if same && found.is_none() {
                found = Some(grant);
            }
        }
        found
    }
}

fn secret_of(t: &TokenConfig) -> Option<String> {
    match (&t.token, &t.token_env) {
        (Some(secret), _) => Some(secret.clone()),
        (None, Some(var)) => match std::env::var(var) {
            Ok(secret) if !secret.is_empty() => Some(secret),
            _ => {
                tracing::warn!(token = %t.name, variable = %var, "token variable is unset; that token is disabled");
                None
            }
        },
        (None, None) => None,
    }
}

fn grant_of(t: &TokenConfig) -> Grant {
    Grant {
        holder: t.name.clone(),
        personas: t.personas.clone(),
        rooms: t.rooms.clone(),
        capabilities: t
            .capabilities
            .clone()
            .unwrap_or_else(|| DEFAULT_CAPABILITIES.to_vec()),
    }
}

/// SHA-256 of a secret: how tokens and console session cookies are kept and compared.
pub(crate) fn digest(secret: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// A generous estimate of a secret's entropy: its length times the bits of the smallest alphabet holding all
/// its characters (hex, digits, letters, base64's, printable ASCII, anything), at most the bits its distinct
/// characters could carry (a secret of one repeated character carries next to none).
pub fn estimated_bits(secret: &str) -> f64 {
    let chars: Vec<char> = secret.chars().collect();
    if chars.is_empty() {
        return 0.0;
    }
    let all = |f: fn(&char) -> bool| chars.iter().all(f);
    let alphabet: f64 = if all(char::is_ascii_digit) {
        10.0
    } else if all(char::is_ascii_hexdigit) {
        16.0
    } else if all(|c| c.is_ascii_alphabetic()) {
        52.0
    } else if all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '=')) {
        64.0
    } else if all(|c| c.is_ascii_graphic()) {
        94.0
    } else {
        256.0
    };
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let per_char = alphabet
        .log2()
        .min((distinct.len() as f64).log2().max(0.0) + 1.0);
    chars.len() as f64 * per_char
}

/// A fresh random token: 32 bytes from the system's generator, base64url (256 bits).
pub fn new_token() -> Result<String, ring::error::Unspecified> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut bytes)?;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(43);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_secrets_score_low_and_random_ones_high() {
        for weak in [
            "",
            "secret",
            "demo-token-change-me",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "0123456789",
            "correct-horse",
        ] {
            assert!(estimated_bits(weak) < MIN_TOKEN_BITS, "{weak:?}");
        }
        let fresh = new_token().unwrap();
        assert_eq!(fresh.len(), 43);
        assert!(estimated_bits(&fresh) >= MIN_TOKEN_BITS, "{fresh}");
        assert_ne!(fresh, new_token().unwrap());
        // 48 hex characters carry 192 bits.
        assert!(estimated_bits(&"0123456789abcdef".repeat(3)) >= MIN_TOKEN_BITS);
    }

    fn grant(name: &str) -> Grant {
        Grant {
            holder: name.into(),
            personas: Some(vec!["owen".into()]),
            rooms: vec!["standup".into()],
            capabilities: vec![Capability::Converse],
        }
    }

    #[test]
    fn a_token_finds_its_grant_and_nothing_else_does() {
        let tokens = Tokens {
            entries: vec![
                (digest("first-secret"), grant("a")),
                (digest("second-secret"), grant("b")),
            ],
        };
        assert_eq!(tokens.authenticate("second-secret").unwrap().holder, "b");
        assert!(tokens.authenticate("").is_none());
        assert!(tokens.authenticate("second-secre").is_none());
        assert!(tokens.authenticate("second-secret ").is_none());
        let g = tokens.authenticate("first-secret").unwrap();
        assert!(g.may(Capability::Converse) && !g.may(Capability::Speech));
        assert!(g.reaches("owen") && !g.reaches("other"));
        assert!(g.joins("standup") && !g.joins("board"));
    }
}
