//! Whether a pause ends the speaker's turn: Smart Turn on the utterance so far, so that "I was thinking...
//! that we could" is not cut off at the pause and a complete question ends at once.

pub mod dangling;
pub mod features;
pub mod smart_turn;

pub use smart_turn::SmartTurn;
