//! Barge-in with real audio through the simulated room: real speech during the twin's reply stops it (the
//! fade is over within 150 ms of the decision and the player says how much was heard); "mhm" and a recorded
//! cough do not; with barge-in off the question waits for the reply to end. Needs `cargo xtask setup`.

mod common;
use common::*;
use twin_listen::Cue;
use twin_listen::room::{Outcome, converse};

const USER_AT_S: f64 = 3.0;

#[test]
fn speech_during_the_reply_stops_it() {
    let (reply, rate) = twin_reply();
    // With a stop word (decided at once), and without one (decided on two partials that hold).
    for question in [
        "Wait, what about the hiring budget for next year?",
        "Can you explain the hiring plan again?",
    ] {
        let user = user_says(question);
        let out = converse(&reply, rate, Some((&user, USER_AT_S)), &mut duplex(true));
        let decided = out
            .barge_in_at()
            .unwrap_or_else(|| panic!("no barge-in for {question:?}: {:?}", out.cues));
        let silent = out.silent_at_s.expect("the reply fell silent");
        assert!(
            silent - decided <= 0.15,
            "silent {:.0} ms after the decision",
            (silent - decided) * 1000.0
        );
        // Decided on words, while the user still speaks.
        let user_end = USER_AT_S + user.len() as f64 / 16_000.0;
        assert!(
            decided < user_end,
            "decided at {decided:.2} s, {question:?} ends at {user_end:.2} s"
        );
        let heard = out.heard.unwrap() as f64 / rate as f64;
        assert!(
            (heard - (decided - 0.5)).abs() < 0.25,
            "heard {heard:.2} s of the reply; it began at 0.5 s and was stopped at {decided:.2} s"
        );
        let turns = out.turns();
        assert_eq!(turns.len(), 1, "{:?}", out.cues);
        let wer = twin_testkit::score::word_error_rate(question, &turns[0]);
        assert!(wer <= 0.35, "{:?} (WER {wer:.2})", turns[0]);
        eprintln!(
            "{question:?}: barge-in {:.0} ms after the user began, silent {:.0} ms later",
            (decided - USER_AT_S) * 1000.0,
            (silent - decided) * 1000.0
        );
    }
}

fn assert_not_interrupted(out: &Outcome, what: &str) {
    assert!(
        out.barge_in_at().is_none(),
        "{what} interrupted the twin: {:?}",
        out.cues
    );
    assert!(
        out.turns().is_empty(),
        "{what} became a user turn: {:?}",
        out.cues
    );
    // If it ducked, it came back.
    let ducks = out
        .cues
        .iter()
        .filter(|(_, c)| matches!(c, Cue::Duck { .. }))
        .count();
    let unducks = out
        .cues
        .iter()
        .filter(|(_, c)| matches!(c, Cue::Unduck { .. }))
        .count();
    assert_eq!(ducks, unducks, "{:?}", out.cues);
}

#[test]
fn a_backchannel_does_not_interrupt() {
    let (reply, rate) = twin_reply();
    for said in ["Mhm.", "Yeah."] {
        let user = user_says(said);
        let out = converse(&reply, rate, Some((&user, USER_AT_S)), &mut duplex(true));
        assert_not_interrupted(&out, said);
    }
}

#[test]
fn barge_in_off_holds_the_question_until_the_reply_ends() {
    let (reply, rate) = twin_reply();
    let question = "Sorry, can you explain the hiring plan again?";
    let user = user_says(question);
    let out = converse(&reply, rate, Some((&user, USER_AT_S)), &mut duplex(false));
    assert!(out.barge_in_at().is_none(), "{:?}", out.cues);
    let reply_end = 0.5 + reply.len() as f64 / rate as f64;
    let (at, turn) = out
        .cues
        .iter()
        .find_map(|(t, c)| match c {
            Cue::Turn { text, .. } => Some((*t, text.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the question was lost: {:?}", out.cues));
    assert!(
        at >= reply_end,
        "sent at {at:.2} s, during the reply (ends {reply_end:.2} s)"
    );
    assert!(
        twin_testkit::score::word_error_rate(question, &turn) <= 0.35,
        "{turn:?}"
    );
}

#[test]
fn recorded_coughs_a_sneeze_and_a_clap_do_not_interrupt() {
    let (reply, rate) = twin_reply();
    for sound in ["cough-female", "cough-male", "sneeze-female", "clap"] {
        let path = models().join(format!("sounds-human/{sound}.wav"));
        let noise = twin_listen::audio::read_wav(&path)
            .unwrap_or_else(|e| panic!("{e} (cargo xtask setup fetches it)"));
        let out = converse(&reply, rate, Some((&noise, USER_AT_S)), &mut duplex(true));
        assert_not_interrupted(&out, sound);
    }
}
