pub mod avatar;
pub mod chat;
pub mod desktop;
pub mod plot;
pub mod render;
pub mod say;
pub mod spoken;
pub mod track;
