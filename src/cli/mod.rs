pub mod chat;
pub mod plot;
pub mod say;
