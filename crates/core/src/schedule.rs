//! When a camera may alert: its `active` windows, read in its time zone.
//!
//! Decided on the time the e-mail was received, before any frame is
//! analysed, so an e-mail at a quiet hour costs no detector call.

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};

use crate::config::{ActiveWindow, Rules};

/// True when the camera may alert at `at`: it has no windows, or `at`
/// falls in one of them, on the local clock of its time zone (so a window
/// keeps its wall-clock hours across a daylight-saving change).
pub(crate) fn is_active(rules: &Rules, at: DateTime<Utc>) -> bool {
    if rules.active.is_empty() {
        return true;
    }
    let local = at.with_timezone(&rules.timezone.0);
    let minute = (local.hour() * 60 + local.minute()) as u16;
    let day = local.weekday();
    rules
        .active
        .iter()
        .any(|window| window_contains(window, day, minute))
}

/// Whether minute `minute` of day `day` is in the window. A window whose
/// `to` is before its `from` runs past midnight: its early hours belong
/// to the day before, the day it started on.
fn window_contains(window: &ActiveWindow, day: Weekday, minute: u16) -> bool {
    let starts_on = |day: Weekday| {
        window
            .days
            .as_ref()
            .is_none_or(|days| days.iter().any(|d| d.0 == day))
    };
    let (from, to) = (window.from.minutes, window.to.minutes);
    if from <= to {
        starts_on(day) && minute >= from && minute < to
    } else {
        (starts_on(day) && minute >= from) || (starts_on(day.pred()) && minute < to)
    }
}

/// A time for people, in the camera's zone: `Tue 1 Dec 2026, 19:33:26 CET`.
pub fn local_time(rules: &Rules, at: DateTime<Utc>) -> String {
    at.with_timezone(&rules.timezone.0)
        .format("%a %-d %b %Y, %H:%M:%S %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn rules(toml: &str) -> Rules {
        Config::parse(toml)
            .unwrap_or_else(|errors| panic!("{errors}"))
            .defaults
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn no_window_means_always_active() {
        assert!(is_active(&rules(""), utc("2026-12-01T03:00:00Z")));
    }

    #[test]
    fn a_night_window_runs_past_midnight_into_the_next_day() {
        let night = rules("[defaults]\nactive = [{ from = \"22:00\", to = \"06:30\" }]\n");
        assert!(is_active(&night, utc("2026-12-01T22:00:00Z")));
        assert!(is_active(&night, utc("2026-12-02T03:00:00Z")));
        assert!(is_active(&night, utc("2026-12-02T06:29:59Z")));
        assert!(!is_active(&night, utc("2026-12-02T06:30:00Z")));
        assert!(!is_active(&night, utc("2026-12-02T12:00:00Z")));
        assert!(!is_active(&night, utc("2026-12-02T21:59:00Z")));
    }

    #[test]
    fn the_days_of_a_night_window_are_the_days_it_starts_on() {
        // Friday night into Saturday morning, and no other night.
        let friday_night = rules(
            "[defaults]\nactive = [{ days = [\"fri\"], from = \"22:00\", to = \"06:00\" }]\n",
        );
        // 2026-12-04 is a Friday.
        assert!(is_active(&friday_night, utc("2026-12-04T23:00:00Z")));
        assert!(is_active(&friday_night, utc("2026-12-05T05:00:00Z")));
        assert!(!is_active(&friday_night, utc("2026-12-05T23:00:00Z")));
        assert!(!is_active(&friday_night, utc("2026-12-04T05:00:00Z")));
    }

    #[test]
    fn windows_keep_their_wall_clock_hours_across_a_daylight_saving_change() {
        // Rome moves from CET (UTC+1) to CEST (UTC+2) on 2026-03-29.
        let night = rules(
            "[defaults]\ntimezone = \"Europe/Rome\"\nactive = [{ from = \"22:00\", to = \"06:30\" }]\n",
        );
        // 05:00 UTC is 06:00 in Rome the day before the change: active...
        assert!(is_active(&night, utc("2026-03-28T05:00:00Z")));
        // ...and 07:00 the day after: quiet.
        assert!(!is_active(&night, utc("2026-03-30T05:00:00Z")));
        // 21:30 UTC is 22:30 CET before, 23:30 CEST after: active both.
        assert!(is_active(&night, utc("2026-03-27T21:30:00Z")));
        assert!(is_active(&night, utc("2026-03-30T21:30:00Z")));
        // 20:30 UTC: 21:30 CET (quiet) before, 22:30 CEST (active) after.
        assert!(!is_active(&night, utc("2026-03-27T20:30:00Z")));
        assert!(is_active(&night, utc("2026-03-30T20:30:00Z")));
    }

    #[test]
    fn a_window_may_end_at_the_end_of_the_day() {
        let evening = rules("[defaults]\nactive = [{ from = \"18:00\", to = \"24:00\" }]\n");
        assert!(is_active(&evening, utc("2026-12-01T23:59:59Z")));
        assert!(!is_active(&evening, utc("2026-12-02T00:00:00Z")));
    }

    #[test]
    fn times_for_people_are_in_the_cameras_zone() {
        let rome = rules("[defaults]\ntimezone = \"Europe/Rome\"\n");
        assert_eq!(
            local_time(&rome, utc("2026-12-01T18:33:26.123456789Z")),
            "Tue 1 Dec 2026, 19:33:26 CET"
        );
        assert_eq!(
            local_time(&rules(""), utc("2026-07-01T18:33:26Z")),
            "Wed 1 Jul 2026, 18:33:26 UTC"
        );
    }
}
