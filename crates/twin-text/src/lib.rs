//! Text the twin reads and says, without any model: cutting streamed text into sentences, and normalising
//! what a user typed (look-alike letters, invisible characters, text-speak) before anything matches on it,
//! and words in their spoken form (how recognition is scored and barge-in counts words).

pub mod markers;
pub mod normalise;
pub mod numbers;
pub mod sentence;
pub mod words;
