//! Stopping without losing words: on SIGTERM the server stops accepting, tells every session to end (each
//! cuts its reply in flight, stores it as interrupted, and closes with 1012 and a hint to reconnect), and waits
//! a few seconds for them to finish.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub struct Shutdown {
    stop: watch::Sender<bool>,
    open: Arc<AtomicUsize>,
}

impl Default for Shutdown {
    fn default() -> Shutdown {
        Shutdown {
            stop: watch::channel(false).0,
            open: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// A session being served; it counts as open until dropped.
pub struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shutdown {
    /// Counts a session as open, and gives it the signal to watch.
    pub fn open(&self) -> (Open, Stopping) {
        self.open.fetch_add(1, Ordering::SeqCst);
        (
            Open(Arc::clone(&self.open)),
            Stopping(self.stop.subscribe()),
        )
    }

    /// Tells every session to end.
    pub fn begin(&self) {
        self.stop.send_replace(true);
    }

    /// Waits until every session has ended, or `within` has passed; returns how many are still open.
    pub async fn drained(&self, within: Duration) -> usize {
        let until = Instant::now() + within;
        loop {
            let open = self.open.load(Ordering::SeqCst);
            if open == 0 || Instant::now() >= until {
                return open;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A session's view of the stop signal.
pub struct Stopping(watch::Receiver<bool>);

impl Stopping {
    /// Resolves once the server is stopping (at once if it already is).
    pub async fn wait(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                // The server's state is gone: nothing to wait for.
                return std::future::pending().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_hear_the_stop_and_are_counted_until_they_end() {
        let shutdown = Shutdown::default();
        let (open, mut stopping) = shutdown.open();
        assert_eq!(shutdown.drained(Duration::from_millis(50)).await, 1);
        shutdown.begin();
        tokio::time::timeout(Duration::from_secs(1), stopping.wait())
            .await
            .expect("told to stop");
        drop(open);
        assert_eq!(shutdown.drained(Duration::from_secs(1)).await, 0);
        // One that opens after the stop hears it at once.
        let (_late, mut late) = shutdown.open();
        tokio::time::timeout(Duration::from_secs(1), late.wait())
            .await
            .expect("told at once");
    }
}
