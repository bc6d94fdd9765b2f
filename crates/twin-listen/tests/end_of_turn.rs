//! The semantic end of turn on people's speech (Smart Turn is trained on people; the synthetic figures are in
//! BENCHMARKS.md): a complete sentence ends at its first short pause, a sentence with a pause in the middle is
//! one turn, and a speaker who goes on after a turn ended too soon gets a final that says it all again, marked
//! as revising the first. Needs `cargo xtask setup`.

mod common;
use common::models;
use twin_listen::turn::TranscriptCheck;
use twin_listen::{Event, Listen, Listener, ListenerConfig, RecognizerKind};

const SENTENCE: &str = "speech-real/sense_and_sensibility_01_austen_64kb-0890.wav";

struct Turn {
    text: String,
    start_s: f64,
    end_s: f64,
    complete: Option<f32>,
    revises: bool,
}

fn turns(config: ListenerConfig, audio: &[f32]) -> Vec<Turn> {
    let mut listener = Listener::from_models(&models(), 2, config).unwrap();
    listener
        .hear(audio)
        .into_iter()
        .filter_map(|e| match e {
            Event::Final {
                text,
                start_s,
                end_s,
                complete,
                revises,
                ..
            } if !text.trim().is_empty() => Some(Turn {
                text,
                start_s,
                end_s,
                complete,
                revises,
            }),
            _ => None,
        })
        .collect()
}

fn smart() -> ListenerConfig {
    ListenerConfig::with(RecognizerKind::Moonshine)
}

fn read(name: &str) -> Vec<f32> {
    twin_listen::audio::read_wav(&models().join(name)).unwrap()
}

/// The reader's sentence with `pause_s` of silence spliced in at `share` of it (halfway is where pipecat's
/// reference cuts it: Smart Turn gives that half 0.02), and a second of silence after.
fn paused_sentence(share: f64, pause_s: f32) -> (Vec<f32>, f64) {
    let audio = read(SENTENCE);
    let (before, after) = audio.split_at((audio.len() as f64 * share) as usize);
    let gap = vec![0.0; (pause_s * 16_000.0) as usize];
    let resumes_s = (before.len() + gap.len()) as f64 / 16_000.0;
    let stream = [before, &gap, after, &[0.0; 16_000]].concat();
    (stream, resumes_s)
}

#[test]
fn a_complete_sentence_ends_at_its_first_short_pause() {
    let mut audio = read(SENTENCE);
    audio.extend([0.0; 32_000]);
    let heard = turns(smart(), &audio);
    assert_eq!(heard.len(), 1, "{:?}", texts(&heard));
    // Ended by Smart Turn at the short pause, not by 1.2 s of silence.
    assert!(
        heard[0].complete.is_some_and(|p| p >= 0.5),
        "{:?}",
        heard[0].complete
    );
}

#[test]
fn a_pause_in_the_middle_of_a_sentence_does_not_end_the_turn() {
    let (stream, resumes_s) = paused_sentence(0.5, 0.7);
    let heard = turns(smart(), &stream);
    assert_eq!(heard.len(), 1, "{:?}", texts(&heard));
    assert!(heard[0].start_s < resumes_s && heard[0].end_s > resumes_s);
    // The same audio with silence alone deciding: cut at the pause.
    let cut = turns(
        ListenerConfig::silence_only(RecognizerKind::Moonshine),
        &stream,
    );
    assert_eq!(cut.len(), 2, "{:?}", texts(&cut));
}

/// JFK pauses after "And so my fellow Americans" and after "ask not": each revision taken instead of the turn
/// it revises, his words come out once each, in order.
#[test]
fn revisions_taken_in_place_of_what_they_revise_say_each_word_once() {
    let mut audio = read("speech-jfk/jfk.wav");
    audio.extend([0.0; 32_000]);
    let heard = turns(smart(), &audio);
    assert!(
        heard.iter().any(|t| t.complete.is_some()),
        "{:?}",
        texts(&heard)
    );
    let mut taken: Vec<&str> = Vec::new();
    for t in &heard {
        if t.revises {
            taken.pop();
        }
        taken.push(&t.text);
    }
    let joined = taken.join(" ");
    let wer = twin_testkit::score::word_error_rate(
        "And so my fellow Americans ask not what your country can do for you ask what you can do for \
         your country.",
        &joined,
    );
    assert!(wer <= 0.2, "{wer}: {joined} (from {:?})", texts(&heard));
}

/// A third of the way in, the reader's pause sounds complete to Smart Turn (0.96): with Smart Turn alone
/// deciding, the turn ends there, and when the reader goes on, the next final says the whole sentence again,
/// marked as revising the first.
#[test]
fn a_turn_ended_too_soon_is_said_whole_when_the_speaker_goes_on() {
    let (stream, resumes_s) = paused_sentence(1.0 / 3.0, 0.7);
    let acoustic = ListenerConfig {
        transcript: TranscriptCheck::None,
        ..smart()
    };
    let heard = turns(acoustic, &stream);
    assert_eq!(heard.len(), 2, "{:?}", texts(&heard));
    assert!(heard[0].end_s < resumes_s && !heard[0].revises);
    assert!(heard[1].revises, "{:?}", texts(&heard));
    assert!(heard[1].start_s <= heard[0].start_s + 0.05 && heard[1].end_s > resumes_s);
    let whole = "unless to be rather cold hearted and rather selfish is to be ill disposed";
    let wer = twin_testkit::score::word_error_rate(whole, &heard[1].text);
    assert!(wer <= 0.35, "{wer}: {}", heard[1].text);
}

fn texts(turns: &[Turn]) -> Vec<&str> {
    turns.iter().map(|t| t.text.as_str()).collect()
}
