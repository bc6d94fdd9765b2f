//! Speech on the wire: what a voice client asks for, lip-sync frames, and PCM16 audio as base64 text.

use serde::{Deserialize, Serialize};

use crate::ProtocolError;
#[cfg(doc)]
use crate::ServerMessage;
use crate::serde_fields::yes;

/// What a voice client wants with each reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioRequest {
    /// Lip-sync frames beside the audio.
    #[serde(default = "yes")]
    pub lipsync: bool,
}

/// One lip-sync frame: the sample it shows, the 15 Oculus viseme weights (sil, PP, FF, TH, DD, kk, CH, SS, nn,
/// RR, aa, E, ih, oh, ou) and the 16 ARKit mouth and jaw weights (jawOpen, mouthClose, mouthFunnel,
/// mouthPucker, mouthSmileLeft/Right, mouthStretchLeft/Right, mouthRollLower, mouthRollUpper,
/// mouthPressLeft/Right, mouthLowerDownLeft/Right, mouthUpperUpLeft/Right), in those orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LipSyncFrame {
    pub sample: u64,
    pub visemes: Vec<f32>,
    pub arkit: Vec<f32>,
}

/// PCM16 samples as the base64 text of [`ServerMessage::Audio`].
pub fn encode_pcm16(samples: &[i16]) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The samples of a [`ServerMessage::Audio`] chunk.
pub fn decode_pcm16(text: &str) -> Result<Vec<i16>, ProtocolError> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| ProtocolError::Malformed(format!("audio chunk is not base64: {e}")))?;
    if bytes.len() % 2 != 0 {
        return Err(ProtocolError::Malformed(
            "audio chunk has an odd number of bytes".into(),
        ));
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientMessage, ServerMessage, wall_ms};

    #[test]
    fn audio_chunks_round_trip_and_bad_ones_are_refused() {
        let samples = [0i16, 1, -1, i16::MAX, i16::MIN, 1234];
        assert_eq!(decode_pcm16(&encode_pcm16(&samples)).unwrap(), samples);
        assert!(decode_pcm16("not base64!").is_err());
        assert!(
            decode_pcm16(&{
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode([1u8, 2, 3])
            })
            .is_err()
        );
        // A 100 ms chunk at 48 kHz stays far inside a client's frame limit.
        let chunk = ServerMessage::Audio {
            reply_id: "r-0123456789abcdef".into(),
            first_sample: 0,
            sample_rate: 48_000,
            pcm16: encode_pcm16(&vec![0; 4_800]),
            play_at_ms: Some(wall_ms() + 250),
        };
        assert!(chunk.encode().len() < 16 * 1024);
        assert_eq!(ServerMessage::decode(&chunk.encode()).unwrap(), chunk);
        let frames = ServerMessage::LipSync {
            reply_id: "r".into(),
            frames: vec![LipSyncFrame {
                sample: 220,
                visemes: vec![0.0; 15],
                arkit: vec![0.5; 16],
            }],
        };
        assert_eq!(ServerMessage::decode(&frames.encode()).unwrap(), frames);
        let end = ServerMessage::AudioEnd {
            reply_id: "r".into(),
            samples: 44_100,
            sentence_starts: vec![0, 22_050],
        };
        assert_eq!(ServerMessage::decode(&end.encode()).unwrap(), end);
        // Text clients that never ask for audio stay valid.
        let text_hello = r#"{"type":"hello","protocol":5,"token":"t"}"#;
        assert!(matches!(
            ClientMessage::decode(text_hello).unwrap(),
            ClientMessage::Hello { audio: None, .. }
        ));
    }
}
