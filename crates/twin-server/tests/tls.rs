//! TLS on the real server over real sockets: `wss` with the demo's kind of certificate, clients that do not
//! trust it refused, plaintext refused on the TLS port, and a stalled handshake holding up no one else.

mod common;

use common::{Client, TOKEN};
use std::path::Path;
use std::time::Duration;

async fn connect_wss(addr: &str, ca: Option<&Path>) -> Result<Client, String> {
    Client::connect_tls(addr, ca).await
}

async fn hello(c: &mut Client) {
    c.send(&common::hello_message(TOKEN, None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_wss_to_clients_that_trust_its_ca_and_refuses_the_rest() {
    let (addr, ca) = common::tls_server();

    let mut trusted = connect_wss(&addr, Some(&ca))
        .await
        .expect("wss with the CA");
    hello(&mut trusted).await;
    let (session, _) = trusted.welcome().await;
    assert!(!session.is_empty());
    let reply = trusted.ask("t1", "Are you Owen?").await;
    assert!(!reply.text.is_empty(), "a reply over TLS");

    // Only the system's store: the demo CA is not in it.
    let e = connect_wss(&addr, None)
        .await
        .err()
        .expect("an untrusted certificate is refused");
    assert!(
        e.contains("certificate")
            || e.contains("UnknownIssuer")
            || e.contains("no certificate to trust"),
        "{e}"
    );

    // Plaintext on the TLS port gets no session.
    let plain = tokio::time::timeout(
        Duration::from_secs(20),
        tokio_tungstenite::connect_async(format!("ws://{addr}/v1/session")),
    )
    .await
    .expect("the server answers plaintext at once");
    assert!(
        plain.is_err(),
        "a plaintext WebSocket is not served on the TLS port"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handshake_holds_up_no_one_else() {
    let (addr, ca) = common::tls_server();
    // Connected, and silent: the handshake never starts.
    let _stalled: Vec<_> = futures_util::future::join_all(
        (0..8).map(|_| tokio::net::TcpStream::connect(addr.clone())),
    )
    .await;
    let mut c = tokio::time::timeout(Duration::from_secs(5), connect_wss(&addr, Some(&ca)))
        .await
        .expect("served while others stall")
        .expect("wss with the CA");
    hello(&mut c).await;
    c.welcome().await;
}
