//! What both servers do when taking connections: give each a slot of the
//! connection limit, answer those beyond it at once and close them, pause
//! after a failed `accept`, and log refusals without flooding the log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Takes the connections of one listener, up to a limit at once.
pub struct Acceptor {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    limit: usize,
    /// The protocol's name, for the log.
    protocol: &'static str,
    /// What a connection beyond the limit is told before it is closed.
    busy_reply: &'static [u8],
    backoff: AcceptBackoff,
    refused: Throttled,
}

/// A connection taken, with the slot it holds until it is dropped.
pub struct Admitted {
    pub socket: TcpStream,
    pub peer: SocketAddr,
    pub slot: OwnedSemaphorePermit,
}

impl Acceptor {
    pub fn new(
        listener: TcpListener,
        limit: usize,
        protocol: &'static str,
        busy_reply: &'static [u8],
    ) -> Self {
        Acceptor {
            listener,
            slots: Arc::new(Semaphore::new(limit)),
            limit,
            protocol,
            busy_reply,
            backoff: AcceptBackoff::default(),
            refused: Throttled::default(),
        }
    }

    /// The connection slots, for a session that wants to know how many
    /// are free.
    pub fn slots(&self) -> Arc<Semaphore> {
        Arc::clone(&self.slots)
    }

    /// The next connection that gets a slot; `None` once `shutdown` turns
    /// true. A connection beyond the limit is told `busy_reply` and closed
    /// here: a fresh socket's send buffer is empty, so the reply goes out
    /// without waiting and no task is spent on it.
    pub async fn next(&mut self, shutdown: &mut watch::Receiver<bool>) -> Option<Admitted> {
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = super::stopped(shutdown) => return None,
            };
            let (socket, peer) = match accepted {
                Ok(accepted) => {
                    self.backoff.succeeded();
                    accepted
                }
                Err(err) => {
                    let pause = self.backoff.failed();
                    tracing::warn!(error = %err, pause_ms = pause.as_millis() as u64, "{}: accepting a connection failed", self.protocol);
                    tokio::select! {
                        () = tokio::time::sleep(pause) => continue,
                        _ = super::stopped(shutdown) => return None,
                    }
                }
            };
            match Arc::clone(&self.slots).try_acquire_owned() {
                Ok(slot) => return Some(Admitted { socket, peer, slot }),
                Err(_) => {
                    let _ = socket.try_write(self.busy_reply);
                    if let Some(count) = self.refused.tick() {
                        tracing::warn!(%peer, refused = count, limit = self.limit, "{}: too many connections: refused", self.protocol);
                    }
                }
            }
        }
    }
}

/// Pauses after a failed `accept` (out of file descriptors, most often),
/// doubling from 10 ms up to a second, so that the loop does not spin
/// while the failure lasts.
#[derive(Debug)]
struct AcceptBackoff {
    next: Duration,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        AcceptBackoff { next: Self::FIRST }
    }
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MOST: Duration = Duration::from_secs(1);

    /// The pause after one more failure.
    fn failed(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(Self::MOST);
        pause
    }

    fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Counts a repeated event and says when to log it: at most once every
/// ten seconds, with the count since the last time.
#[derive(Debug, Default)]
struct Throttled {
    last: Option<Instant>,
    unreported: u64,
}

impl Throttled {
    /// Counts one event; `Some(count)` when it is time to log them.
    fn tick(&mut self) -> Option<u64> {
        self.unreported += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < Duration::from_secs(10))
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_pause_longer_each_time_up_to_a_second() {
        let mut backoff = AcceptBackoff::default();
        let pauses: Vec<u128> = (0..9).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed().as_millis(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeated_event_is_logged_once_every_ten_seconds_with_its_count() {
        let mut refused = Throttled::default();
        assert_eq!(refused.tick(), Some(1));
        assert_eq!(refused.tick(), None);
        assert_eq!(refused.tick(), None);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(refused.tick(), Some(3));
    }
}
