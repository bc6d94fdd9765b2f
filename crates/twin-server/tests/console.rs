//! The review console in a real browser (headless Chromium over WebDriver) against a real server over TLS,
//! with employees talking to the twin over `wss` beside it: the person signs in, finds the exchange an
//! employee flagged, corrects it, asks the playground the same question and gets the corrected answer, and
//! signs out. Around that: the cookie's flags, a form without its CSRF token, a token without `review`, and
//! an employee's unshared conversation, which never appears. Screenshots go to `target/console/`.

mod common;

use common::browser::Browser;
use common::{Client, TOKEN};
use std::path::Path;
use twin_protocol::{Attachment, ClientMessage, NotedKind, ServerMessage};

const REVIEW_TOKEN: &str = "owen-review-token";
const QUESTION: &str = "How many days do I need to come into the office now?";
const NOTE: &str = "Owen told us it's three days from January";
const CORRECTION: &str = "From January 2027, office-based teams come in three days a week: Monday, Tuesday and Thursday.";
/// In the unshared conversation's attached plan, and so on no console page.
const PRIVATE_MARK: &str = "Zebra-Orchard-7731";

/// A server over TLS on a copy of the demo pack (corrections are written into it), with the person's review
/// token; its address and the CA to trust.
fn console_server() -> (String, std::path::PathBuf) {
    let pack = common::demo_pack_as("owen-marsh");
    let extra = format!(
        "[[auth.tokens]]\nname = \"Owen\"\ntoken = \"{REVIEW_TOKEN}\"\ncapabilities = [\"review\"]\n"
    );
    common::tls_server_with(&pack, &extra)
}

async fn employee(addr: &str, ca: &Path, token: &str) -> (Client, String) {
    let mut c = Client::connect_tls(addr, Some(ca)).await.expect("wss");
    c.send(&common::hello_message(token, None)).await;
    let (session, _) = c.welcome().await;
    (c, session)
}

/// Sends `message` and returns the `noted` that confirms it.
async fn noted(c: &mut Client, message: ClientMessage) -> (NotedKind, Option<String>) {
    c.send(&message).await;
    loop {
        match c.next().await.expect("session open") {
            ServerMessage::Noted { noted, reply_id } => return (noted, reply_id),
            ServerMessage::Error { code, message } => panic!("{code:?}: {message}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_finds_a_flagged_reply_corrects_it_and_the_twin_answers_with_the_correction() {
    let (addr, ca) = console_server();
    let base = format!("https://{addr}");

    // One employee asks and flags the answer; another talks privately, with a plan attached.
    let (mut ana, ana_session) = employee(&addr, &ca, TOKEN).await;
    let first = ana.ask("t1", QUESTION).await;
    assert!(
        first
            .audit
            .iter()
            .any(|s| s.source.as_deref() == Some("n003")),
        "{first:?}"
    );
    let flag = ClientMessage::Flag {
        reply_id: None,
        note: Some(NOTE.into()),
    };
    assert_eq!(
        noted(&mut ana, flag).await,
        (NotedKind::Flagged, Some(first.id.clone()))
    );
    let (mut ben, ben_session) = employee(&addr, &ca, "other-token").await;
    let plan = Attachment {
        name: "plan.md".into(),
        text: format!(
            "# Four-day week trial\nCode name {PRIVATE_MARK}. Start with the depot team."
        ),
    };
    ben.ask_with("b1", "Any feedback on my plan?", Some(plan))
        .await;

    let browser = Browser::start().await;
    sign_in(&browser, &base, REVIEW_TOKEN).await;
    assert_eq!(browser.text_of("h1").await, "Overview");
    browser.screenshot("1-overview").await;
    let cookie = browser
        .cookies()
        .await
        .into_iter()
        .find(|c| c.name == "twin_console")
        .expect("a session cookie");
    assert!(cookie.http_only && cookie.secure, "{cookie:?}");
    assert_eq!(cookie.same_site.as_deref(), Some("Strict"));

    // The flagged exchange, with its note, question, sources and audit.
    browser.goto(&format!("{base}/console/flagged")).await;
    let flagged = browser.page_text().await;
    assert!(
        flagged.contains(NOTE) && flagged.contains(QUESTION),
        "{flagged}"
    );
    assert!(
        flagged.contains("n003") && flagged.contains("ms to the first sentence"),
        "{flagged}"
    );
    browser.screenshot("2-flagged").await;
    browser.click_to_load("a.correct").await;

    browser.fill("#text", CORRECTION).await;
    browser.click_to_load("#correction button").await;
    let saved = browser.text_of(".notice").await;
    assert!(saved.contains("Saved as c001"), "{saved}");
    browser.screenshot("3-corrected").await;

    // The playground answers the same question with the correction, and stores nothing.
    let answer = ask_playground(&browser, &base, QUESTION).await;
    assert!(
        answer.contains("three days a week") && answer.contains("c001"),
        "{answer}"
    );
    assert!(
        !answer.contains("two days a week"),
        "the superseded note is not quoted: {answer}"
    );
    browser.screenshot("4-playground").await;

    // An employee's next question uses it too, with no restart.
    let again = ana.ask("t2", QUESTION).await;
    assert!(
        again
            .audit
            .iter()
            .any(|s| s.source.as_deref() == Some("c001")),
        "{again:?}"
    );

    privacy_holds(&browser, &base, &ben_session, &ana_session, &mut ana).await;

    browser.resize(390, 844).await;
    browser.goto(&format!("{base}/console/questions")).await;
    browser.screenshot("5-questions-phone").await;
    browser.resize(1280, 900).await;

    // Signed out, the pages send you to sign in.
    browser.click_to_load(".signout button").await;
    browser.wait_for("#sign-in").await;
    browser.goto(&format!("{base}/console/flagged")).await;
    browser.wait_for("#sign-in").await;
    browser.close().await;
    drop(ben);
}

async fn sign_in(browser: &Browser, base: &str, token: &str) {
    browser.goto(&format!("{base}/console")).await;
    browser.fill("#token", token).await;
    browser.click_to_load("#sign-in button").await;
}

/// Ben's unshared conversation is on no page (its id, its plan), and its address gives nothing; Ana's flagged
/// exchange shows, but her conversation only once she shares it.
async fn privacy_holds(
    browser: &Browser,
    base: &str,
    ben: &str,
    ana: &str,
    ana_client: &mut Client,
) {
    for page in ["", "/questions", "/flagged", "/gaps", "/sources"] {
        browser.goto(&format!("{base}/console{page}")).await;
        let source = browser.client.source().await.expect("page source");
        assert!(!source.contains(ben), "Ben's session id on /console{page}");
        assert!(
            !source.contains(PRIVATE_MARK),
            "Ben's plan on /console{page}"
        );
        assert!(
            !source.contains(ana),
            "Ana's unshared session on /console{page}"
        );
    }
    browser
        .goto(&format!("{base}/console/conversations/{ben}"))
        .await;
    assert!(
        browser
            .page_text()
            .await
            .contains("no conversation shared with you")
    );

    let shared = noted(ana_client, ClientMessage::Share { shared: true }).await;
    assert_eq!(shared.0, NotedKind::Shared);
    browser.goto(&format!("{base}/console/flagged")).await;
    browser.click_to_load(&format!("a[href*=\"{ana}\"]")).await;
    let conversation = browser.page_text().await;
    assert!(
        conversation.contains(QUESTION) && conversation.contains("c001"),
        "{conversation}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_their_csrf_token_and_only_review_tokens_sign_in() {
    let (addr, _ca) = console_server();
    let base = format!("https://{addr}");
    let browser = Browser::start().await;

    sign_in(&browser, &base, "not-a-token").await;
    assert!(browser.text_of("[role=alert]").await.contains("not valid"));
    sign_in(&browser, &base, TOKEN).await;
    let refused = browser.text_of("[role=alert]").await;
    assert!(refused.contains("lacks the review capability"), "{refused}");
    assert!(
        browser
            .cookies()
            .await
            .iter()
            .all(|c| c.name != "twin_console")
    );

    sign_in(&browser, &base, REVIEW_TOKEN).await;
    browser.goto(&format!("{base}/console/playground")).await;
    // Every control is labelled.
    let unlabelled = browser
        .client
        .execute(
            "return [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
                .filter(e => !e.labels || e.labels.length === 0).length",
            vec![],
        )
        .await
        .expect("script runs");
    assert_eq!(unlabelled, serde_json::json!(0));
    // The same form without its CSRF token is refused, and nothing is answered.
    browser
        .client
        .execute(
            "document.querySelector('#playground input[name=csrf]').remove()",
            vec![],
        )
        .await
        .expect("script runs");
    browser.fill("#question", QUESTION).await;
    browser.click_to_load("#playground button").await;
    let text = browser.page_text().await;
    assert!(
        text.contains("CSRF") && !text.contains("The twin's reply"),
        "{text}"
    );
    browser.screenshot("6-csrf-refused").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_fills_a_gap_retires_a_source_and_the_playground_stores_nothing() {
    let (addr, ca) = console_server();
    let base = format!("https://{addr}");
    let gap = "What is your favourite film?";
    let (mut cara, _) = employee(&addr, &ca, TOKEN).await;
    let unknown = cara.ask("t1", gap).await;
    assert_eq!(
        unknown.kind,
        Some(twin_protocol::ReplyKind::Unknown),
        "{unknown:?}"
    );

    let browser = Browser::start().await;
    sign_in(&browser, &base, REVIEW_TOKEN).await;
    browser.goto(&format!("{base}/console/gaps")).await;
    assert!(browser.text_of(".gaps").await.contains(gap));
    browser.screenshot("7-gaps").await;
    browser
        .fill(
            "#gap-0",
            "My favourite film is Master and Commander: I watch it every winter.",
        )
        .await;
    browser.click_to_load(".gaps li:first-child button").await;
    assert!(browser.text_of(".notice").await.contains("Saved as c001"));
    let answer = ask_playground(&browser, &base, gap).await;
    assert!(
        answer.contains("Master and Commander") && answer.contains("c001"),
        "{answer}"
    );

    // Retired, a source is quoted no more; brought back, it is again.
    let origin = "Why did you start Halyard Labs?";
    assert!(
        ask_playground(&browser, &base, origin)
            .await
            .contains("s001")
    );
    browser.goto(&format!("{base}/console/sources")).await;
    browser.click_to_load("#source-s001 button").await;
    assert!(browser.text_of("#source-s001").await.contains("retired"));
    assert!(
        !ask_playground(&browser, &base, origin)
            .await
            .contains("s001")
    );
    browser.goto(&format!("{base}/console/sources")).await;
    browser.click_to_load("#source-s001 button").await;
    assert!(
        ask_playground(&browser, &base, origin)
            .await
            .contains("s001")
    );

    // Nothing asked in the playground is among the questions asked.
    browser.goto(&format!("{base}/console/questions")).await;
    let questions = browser.page_text().await;
    assert!(
        questions.contains(gap) && !questions.contains(origin),
        "{questions}"
    );
    browser.close().await;
}

/// The playground's answer to `question`, as text.
async fn ask_playground(browser: &Browser, base: &str, question: &str) -> String {
    browser.goto(&format!("{base}/console/playground")).await;
    browser.fill("#question", question).await;
    browser.click_to_load("#playground button").await;
    browser.text_of("#answer").await
}
