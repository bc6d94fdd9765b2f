//! Text the twin reads and says, without any model: cutting streamed text into sentences, and normalising
//! what a user typed (look-alike letters, invisible characters, text-speak) before anything matches on it.

pub mod markers;
pub mod normalise;
pub mod numbers;
pub mod sentence;
