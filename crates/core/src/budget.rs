//! The detector budget: a daily and a monthly cap on the calls made to the
//! detector of record (on AWS, Rekognition images, each billed).
//!
//! Whoever can make a camera's e-mail arrive can make the stack call
//! Rekognition; the door keeps strangers out, and the caps bound what a
//! flood that gets through (a camera stuck firing, a leaked secret address)
//! can cost. Once a cap is reached the frames of an e-mail are not
//! analysed, the message stays stored, and the operator is told once per
//! period, not once per e-mail.
//!
//! The counters live behind the [`DetectorBudget`] port (an atomic
//! DynamoDB counter, a locked file); what they mean is decided here.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};

use crate::config::DetectorSettings;
use crate::ports::{DetectorBudget, PortError};

/// A period a cap applies to. Periods are UTC days and months, the
/// periods AWS bills by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Month,
}

impl Period {
    /// The name of the counter of the period `at` falls in:
    /// `day#2026-12-02`, `month#2026-12`.
    pub fn counter(self, at: DateTime<Utc>) -> String {
        match self {
            Period::Day => format!("day#{}", at.format("%Y-%m-%d")),
            Period::Month => format!("month#{}", at.format("%Y-%m")),
        }
    }

    /// When the period `at` falls in ends, and its count starts again.
    pub fn ends(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let day = at.date_naive();
        let next = match self {
            Period::Day => day.succ_opt(),
            Period::Month => {
                let (year, month) = if day.month() == 12 {
                    (day.year() + 1, 1)
                } else {
                    (day.year(), day.month() + 1)
                };
                NaiveDate::from_ymd_opt(year, month, 1)
            }
        };
        next.and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|midnight| Utc.from_utc_datetime(&midnight))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// How long a store keeps the counter of the period `at` falls in: a
    /// day past its end, for whoever looks at it afterwards.
    pub fn keep_until(self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.ends(at)
            .checked_add_signed(TimeDelta::days(1))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn adjective(self) -> &'static str {
        match self {
            Period::Day => "daily",
            Period::Month => "monthly",
        }
    }
}

/// A cap found reached when a call was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapReached {
    pub period: Period,
    /// The number of calls the period allows.
    pub cap: u64,
    /// When the period ends and calls are allowed again.
    pub resets_at: DateTime<Utc>,
    /// This is the first call the period refused: the one that tells the
    /// operator.
    pub first: bool,
}

impl CapReached {
    /// Why a frame was not analysed, for the frame's `why`.
    pub fn reason(&self) -> String {
        format!(
            "budget: the {} cap of {} detector calls is reached until {}, so the frame was not analysed (the message is kept)",
            self.period.adjective(),
            self.cap,
            self.resets_at.format("%Y-%m-%d %H:%M UTC"),
        )
    }

    /// What the operator is told, once per period.
    pub fn notice(&self) -> String {
        format!(
            "The {} cap of {} detector calls ([detector] {}) was reached: camera e-mails are not analysed until {}, and no alert goes out for them. \
             The messages are kept. If the cameras are firing for a reason, raise the cap in the configuration; if not, find what is sending them.",
            self.period.adjective(),
            self.cap,
            match self.period {
                Period::Day => "daily_cap",
                Period::Month => "monthly_cap",
            },
            self.resets_at.format("%Y-%m-%d %H:%M UTC"),
        )
    }
}

/// Whether a detector call may be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spend {
    /// Counted; make the call.
    Granted,
    /// A cap is reached; do not make the call.
    Refused(CapReached),
}

/// Counts one detector call at `at` against the day's and the month's
/// caps. The day is counted first: a call the day refuses does not count
/// towards the month. Every call asked for is counted, refused or not, so
/// that exactly one call, the first past the cap, finds the count one
/// above it and tells the operator.
pub async fn spend(
    budget: &impl DetectorBudget,
    settings: &DetectorSettings,
    at: DateTime<Utc>,
) -> Result<Spend, PortError> {
    for (period, cap) in [
        (Period::Day, settings.daily_cap.0),
        (Period::Month, settings.monthly_cap.0),
    ] {
        let count = budget
            .count(&period.counter(at), period.keep_until(at))
            .await?;
        if count > cap {
            return Ok(Spend::Refused(CapReached {
                period,
                cap,
                resets_at: period.ends(at),
                first: count == cap + 1,
            }));
        }
    }
    Ok(Spend::Granted)
}

/// Takes back a call [`spend`] granted at `at` that the detector then
/// failed (throttled, unreachable, refusing the picture): Rekognition
/// bills the images it analyses, not the requests it turns away, so a
/// spell of throttling retried by the state machine must not use up the
/// caps. Both counters were counted for a granted call.
pub async fn refund(budget: &impl DetectorBudget, at: DateTime<Utc>) -> Result<(), PortError> {
    for period in [Period::Day, Period::Month] {
        budget.uncount(&period.counter(at)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Bounded;
    use crate::testing::CountingBudget;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn caps(daily: u64, monthly: u64) -> DetectorSettings {
        DetectorSettings {
            daily_cap: Bounded(daily),
            monthly_cap: Bounded(monthly),
            ..DetectorSettings::default()
        }
    }

    #[test]
    fn counters_are_named_after_the_utc_day_and_month() {
        let late = at("2026-12-31T23:59:59Z");
        assert_eq!(Period::Day.counter(late), "day#2026-12-31");
        assert_eq!(Period::Month.counter(late), "month#2026-12");
        assert_eq!(Period::Day.ends(late), at("2027-01-01T00:00:00Z"));
        assert_eq!(Period::Month.ends(late), at("2027-01-01T00:00:00Z"));
        assert_eq!(
            Period::Month.ends(at("2026-02-14T08:00:00Z")),
            at("2026-03-01T00:00:00Z")
        );
        assert_eq!(
            Period::Day.keep_until(at("2026-02-28T08:00:00Z")),
            at("2026-03-02T00:00:00Z")
        );
    }

    #[tokio::test]
    async fn calls_up_to_the_daily_cap_are_granted_and_only_the_first_past_it_tells() {
        let budget = CountingBudget::default();
        let settings = caps(3, 100);
        let noon = at("2026-12-02T12:00:00Z");
        for _ in 0..3 {
            assert_eq!(
                spend(&budget, &settings, noon).await.unwrap(),
                Spend::Granted
            );
        }
        let firsts: Vec<bool> = refused_firsts(&budget, &settings, noon, 4).await;
        assert_eq!(firsts, [true, false, false, false]);
        // The month counted only the calls the day granted.
        assert_eq!(budget.value("month#2026-12"), 3);
        // The next day starts again.
        assert_eq!(
            spend(&budget, &settings, at("2026-12-03T00:00:01Z"))
                .await
                .unwrap(),
            Spend::Granted
        );
    }

    #[tokio::test]
    async fn the_monthly_cap_refuses_when_days_allow() {
        let budget = CountingBudget::default();
        let settings = caps(10, 2);
        let day = |d: u32| at(&format!("2026-12-{d:02}T09:00:00Z"));
        assert_eq!(
            spend(&budget, &settings, day(1)).await.unwrap(),
            Spend::Granted
        );
        assert_eq!(
            spend(&budget, &settings, day(2)).await.unwrap(),
            Spend::Granted
        );
        let Spend::Refused(reached) = spend(&budget, &settings, day(3)).await.unwrap() else {
            panic!("the third call of the month was granted under a cap of 2");
        };
        assert_eq!(reached.period, Period::Month);
        assert!(reached.first);
        assert_eq!(reached.resets_at, at("2027-01-01T00:00:00Z"));
        assert!(
            reached.reason().contains("monthly cap of 2"),
            "{}",
            reached.reason()
        );
        assert!(
            reached.notice().contains("monthly_cap"),
            "{}",
            reached.notice()
        );
        // January is a new month.
        assert_eq!(
            spend(&budget, &settings, at("2027-01-01T00:00:00Z"))
                .await
                .unwrap(),
            Spend::Granted
        );
    }

    #[tokio::test]
    async fn a_counter_that_fails_fails_the_spend() {
        let budget = CountingBudget::failing();
        let err = spend(&budget, &caps(5, 5), at("2026-12-02T12:00:00Z"))
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::Transient(_)), "{err:?}");
    }

    /// The `first` flag of `calls` refused spends.
    async fn refused_firsts(
        budget: &CountingBudget,
        settings: &DetectorSettings,
        at: DateTime<Utc>,
        calls: usize,
    ) -> Vec<bool> {
        let mut firsts = Vec::new();
        for _ in 0..calls {
            match spend(budget, settings, at).await.unwrap() {
                Spend::Refused(reached) => {
                    assert_eq!(reached.period, Period::Day);
                    firsts.push(reached.first);
                }
                Spend::Granted => panic!("a call past the daily cap was granted"),
            }
        }
        firsts
    }
}
