//! What both servers do when taking connections: pause after a failed
//! `accept`, and log refusals without flooding the log.

use std::time::Duration;

use tokio::time::Instant;

/// Pauses after a failed `accept` (out of file descriptors, most often),
/// doubling from 10 ms up to a second, so that the loop does not spin
/// while the failure lasts.
#[derive(Debug)]
pub struct AcceptBackoff {
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
    pub fn failed(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(Self::MOST);
        pause
    }

    pub fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Counts a repeated event and says when to log it: at most once every
/// ten seconds, with the count since the last time.
#[derive(Debug, Default)]
pub struct Throttled {
    last: Option<Instant>,
    unreported: u64,
}

impl Throttled {
    /// Counts one event; `Some(count)` when it is time to log them.
    pub fn tick(&mut self) -> Option<u64> {
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
