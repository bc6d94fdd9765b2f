//! How a client hears its user: the recognizer and how the end of a turn is found. One set of options for
//! `twin talk`, `twin transcribe` and the live clients (desktop, headset).

use twin_listen::{ListenerConfig, RecognizerKind};

#[derive(clap::Args, Clone, Copy, Debug)]
pub struct HearingArgs {
    /// The offline model on the VAD's segments: moonshine (Moonshine tiny, the default: more accurate and
    /// faster, see BENCHMARKS.md) or whisper (Whisper tiny.en).
    #[arg(long, default_value = "moonshine", value_parser = parse_recognizer)]
    pub recognizer: RecognizerKind,
    /// How a turn ends: smart (at each short pause Smart Turn hears whether the turn sounds complete; if so it
    /// ends at once, if not after 1.2 s of silence) or silence (every 0.35 s pause ends it).
    #[arg(long, value_enum, default_value_t = EndOfTurn::Smart)]
    pub end_of_turn: EndOfTurn,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndOfTurn {
    Smart,
    Silence,
}

impl HearingArgs {
    pub fn config(&self) -> ListenerConfig {
        match self.end_of_turn {
            EndOfTurn::Smart => ListenerConfig::with(self.recognizer),
            EndOfTurn::Silence => ListenerConfig::silence_only(self.recognizer),
        }
    }
}

/// `--recognizer`'s value.
pub fn parse_recognizer(s: &str) -> Result<RecognizerKind, String> {
    s.parse()
}
