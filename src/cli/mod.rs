pub mod avatar;
pub mod chat;
pub mod plot;
pub mod say;
pub mod spoken;
