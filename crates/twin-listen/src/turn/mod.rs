//! Whether a pause ends the speaker's turn: Smart Turn on the utterance so far and a reading of its transcript,
//! so that "I was thinking... that we could" is not cut off at the pause and a complete question ends at once.

pub mod dangling;
pub mod features;
pub mod sentence;
pub mod smart_turn;

pub use sentence::{SentenceEnd, TranscriptCheck};
pub use smart_turn::SmartTurn;
