//! The validated values: each newtype refuses, as it is read, what it
//! cannot hold, and says in plain words what would be valid.

use serde::{Deserialize, Serialize};

/// An address to listen on, `host:port` with a numeric host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct ListenAddress(pub std::net::SocketAddr);

impl TryFrom<String> for ListenAddress {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse().map(ListenAddress).map_err(|_| {
            format!("`{value}` is not an address to listen on: write IP:PORT, such as \"0.0.0.0:2525\" (every interface) or \"127.0.0.1:2525\" (this machine only)")
        })
    }
}

impl From<ListenAddress> for String {
    fn from(value: ListenAddress) -> String {
        value.0.to_string()
    }
}

/// An `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebUrl(pub String);

impl TryFrom<String> for WebUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let host = value
            .strip_prefix("http://")
            .or_else(|| value.strip_prefix("https://"))
            .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
        match host {
            Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
                Ok(WebUrl(value))
            }
            _ => Err(format!(
                "`{value}` is not a web address: write a URL starting with http:// or https://, such as \"http://127.0.0.1:8123/api/webhook/frontdoor\""
            )),
        }
    }
}

impl From<WebUrl> for String {
    fn from(value: WebUrl) -> String {
        value.0
    }
}

/// An e-mail address, bare (`me@home.example`) or with a display name
/// (`Cameras <alerts@cams.example.com>`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct MailAddress(pub String);

impl MailAddress {
    /// The address without its display name.
    pub fn bare(&self) -> String {
        super::cameras::bare_address(&self.0)
    }
}

impl TryFrom<String> for MailAddress {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let bare = super::cameras::bare_address(&text);
        let valid = bare.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty()
                && host.contains('.')
                && !host.starts_with('.')
                && !host.ends_with('.')
                && !bare.contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        });
        if valid {
            Ok(MailAddress(text.trim().to_string()))
        } else {
            Err(format!(
                "`{text}` is not an e-mail address: write one such as \"me@home.example\" or \"Cameras <alerts@cams.example.com>\""
            ))
        }
    }
}

impl From<MailAddress> for String {
    fn from(address: MailAddress) -> String {
        address.0
    }
}

/// A camera's secret address: where it writes to, unguessable, so that
/// writing to it is proof enough of being the camera. A bare address whose
/// local part ends in `-` and a token of at least
/// [`SecretAddress::MIN_TOKEN`] letters and digits, such as
/// `frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com` (what
/// `make deploy` generates: 26 characters of base32, 128 random bits).
///
/// Only the form is checked: a token of random characters is the owner's
/// to choose (20 base32 characters carry 100 bits).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretAddress(pub String);

impl SecretAddress {
    /// Fewest letters and digits of the token.
    pub const MIN_TOKEN: usize = 20;

    /// True when `address` (bare, or with a display name) is this one,
    /// whatever its case.
    pub fn is(&self, address: &str) -> bool {
        super::cameras::bare_address(address).eq_ignore_ascii_case(&self.0)
    }

    /// The domain after the `@`, lower-cased.
    pub fn domain(&self) -> String {
        self.0
            .rsplit_once('@')
            .map_or(String::new(), |(_, host)| host.to_ascii_lowercase())
    }
}

impl TryFrom<String> for SecretAddress {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let address = text.trim();
        let hint = format!(
            "write the address `make deploy` generated, the camera's name, `-` and at least {} random letters and digits before the `@`, such as \"frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com\"",
            SecretAddress::MIN_TOKEN
        );
        let Some((user, host)) = address.rsplit_once('@') else {
            return Err(format!("`{text}` is not an e-mail address: {hint}"));
        };
        if user.is_empty()
            || !host.contains('.')
            || host.starts_with('.')
            || host.ends_with('.')
            || address
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | ',' | '"'))
        {
            return Err(format!("`{text}` is not a bare e-mail address: {hint}"));
        }
        let token = user.rsplit_once('-').map_or("", |(_, token)| token);
        if token.len() < SecretAddress::MIN_TOKEN
            || !token.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(format!(
                "`{text}` is not secret: anyone could guess it and write to it; {hint}"
            ));
        }
        Ok(SecretAddress(address.to_string()))
    }
}

impl From<SecretAddress> for String {
    fn from(address: SecretAddress) -> String {
        address.0
    }
}

/// A percentage, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Deserialize, Serialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Percent(pub f32);

impl TryFrom<f64> for Percent {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        if (0.0..=100.0).contains(&value) {
            Ok(Percent(value as f32))
        } else {
            Err(format!(
                "{value} is not a percentage: use a number from 0 to 100"
            ))
        }
    }
}

impl From<Percent> for f64 {
    fn from(value: Percent) -> f64 {
        f64::from(value.0)
    }
}

/// A share of the picture, 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Deserialize, Serialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Fraction(pub f32);

impl TryFrom<f64> for Fraction {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        if (0.0..=1.0).contains(&value) {
            Ok(Fraction(value as f32))
        } else {
            Err(format!(
                "{value} is not a fraction of the picture: use a number from 0 to 1 (0.25 is a quarter)"
            ))
        }
    }
}

impl From<Fraction> for f64 {
    fn from(value: Fraction) -> f64 {
        f64::from(value.0)
    }
}

/// A whole number from `MIN` to `MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Bounded<const MIN: u64, const MAX: u64>(pub u64);

impl<const MIN: u64, const MAX: u64> TryFrom<u64> for Bounded<MIN, MAX> {
    type Error = String;
    fn try_from(value: u64) -> Result<Self, Self::Error> {
        if (MIN..=MAX).contains(&value) {
            Ok(Bounded(value))
        } else {
            Err(format!(
                "{value} is out of range: use a whole number from {MIN} to {MAX}"
            ))
        }
    }
}

impl<const MIN: u64, const MAX: u64> From<Bounded<MIN, MAX>> for u64 {
    fn from(value: Bounded<MIN, MAX>) -> u64 {
        value.0
    }
}

/// One entry of `allowed_senders`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum SenderPattern {
    /// One address, lower-cased.
    Address(String),
    /// Every address of one domain, lower-cased, without the `@`.
    Domain(String),
}

impl SenderPattern {
    /// True when the bare address `address` is let in by this entry.
    pub fn admits(&self, address: &str) -> bool {
        match self {
            SenderPattern::Address(want) => address.eq_ignore_ascii_case(want),
            SenderPattern::Domain(domain) => address
                .rsplit_once('@')
                .is_some_and(|(_, host)| host.eq_ignore_ascii_case(domain)),
        }
    }
}

impl TryFrom<String> for SenderPattern {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let entry = text.trim();
        let hint = "write a whole address (`frontdoor@cams.example.com`) or a whole domain with a leading `@` (`@cams.example.com`)";
        if entry.is_empty()
            || entry
                .chars()
                .any(|c| c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(format!("`{text}` is not a sender: {hint}"));
        }
        let Some((user, host)) = entry.rsplit_once('@') else {
            return Err(format!("`{text}` has no `@`: {hint}"));
        };
        if host.is_empty()
            || user.contains('@')
            || host.starts_with('.')
            || !host.contains('.') && host != "localhost"
        {
            return Err(format!(
                "`{text}` has no valid domain after the `@`: {hint}"
            ));
        }
        let host = host.to_ascii_lowercase();
        Ok(if user.is_empty() {
            SenderPattern::Domain(host)
        } else {
            SenderPattern::Address(format!("{}@{host}", user.to_ascii_lowercase()))
        })
    }
}

impl From<SenderPattern> for String {
    fn from(pattern: SenderPattern) -> String {
        match pattern {
            SenderPattern::Address(address) => address,
            SenderPattern::Domain(domain) => format!("@{domain}"),
        }
    }
}

/// A message size limit in bytes, from 1 KiB to SES's 40 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct MessageBytes(pub u64);

impl MessageBytes {
    /// SES receives messages of at most 40 MiB; nothing larger can arrive.
    pub const MAX: u64 = 40 * 1024 * 1024;
    const MIN: u64 = 1024;
}

impl Default for MessageBytes {
    /// 10 MiB: a burst of five full-HD snapshots, base64-encoded, is about
    /// 4 MB, so this leaves room without inviting abuse.
    fn default() -> Self {
        MessageBytes(10 * 1024 * 1024)
    }
}

impl TryFrom<i64> for MessageBytes {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match u64::try_from(value) {
            Ok(bytes) if (MessageBytes::MIN..=MessageBytes::MAX).contains(&bytes) => {
                Ok(MessageBytes(bytes))
            }
            _ => Err(format!(
                "{value} bytes is not a usable message size: use {} to {} (40 MiB, the most SES accepts), e.g. 10_485_760 for 10 MiB",
                MessageBytes::MIN,
                MessageBytes::MAX
            )),
        }
    }
}

impl From<MessageBytes> for i64 {
    fn from(value: MessageBytes) -> i64 {
        i64::try_from(value.0).unwrap_or(i64::MAX)
    }
}

/// A length of time written with its unit: `"90s"`, `"10m"`, `"2h"`, or
/// several parts such as `"1h30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Span(pub std::time::Duration);

impl Span {
    /// The longest span accepted: a year covers any cooldown or memory.
    const MAX_SECONDS: u64 = 366 * 24 * 3600;

    pub fn from_secs(seconds: u64) -> Span {
        Span(std::time::Duration::from_secs(seconds))
    }

    /// Whole seconds.
    pub fn seconds(self) -> u64 {
        self.0.as_secs()
    }
}

impl TryFrom<String> for Span {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let hint =
            "write a number with a unit, s, m or h, such as \"90s\", \"10m\", \"2h\" or \"1h30m\"";
        let mut seconds: u64 = 0;
        let mut digits = String::new();
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(format!("`{text}` is not a length of time: {hint}"));
        }
        for c in trimmed.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return Err(format!("`{text}` is not a length of time: {hint}")),
            };
            let count: u64 = digits
                .parse()
                .map_err(|_| format!("`{text}` is not a length of time: {hint}"))?;
            digits.clear();
            seconds = count
                .checked_mul(unit)
                .and_then(|part| seconds.checked_add(part))
                .unwrap_or(u64::MAX);
        }
        if !digits.is_empty() {
            return Err(format!("`{text}` has a number without a unit: {hint}"));
        }
        if seconds > Span::MAX_SECONDS {
            return Err(format!("`{text}` is longer than a year: {hint}"));
        }
        Ok(Span::from_secs(seconds))
    }
}

impl From<Span> for String {
    fn from(span: Span) -> String {
        let seconds = span.seconds();
        match (seconds / 3600, seconds % 3600 / 60, seconds % 60) {
            (0, 0, s) => format!("{s}s"),
            (h, m, 0) if h > 0 && m == 0 => format!("{h}h"),
            (0, m, 0) => format!("{m}m"),
            (h, m, s) => format!("{h}h{m}m{s}s"),
        }
    }
}

/// An IANA time zone name, such as `"Europe/Rome"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(pub chrono_tz::Tz);

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone(chrono_tz::UTC)
    }
}

impl TryFrom<String> for TimeZone {
    type Error = String;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.trim().parse().map(TimeZone).map_err(|_| {
            format!("`{name}` is not a time zone: write an IANA name such as \"Europe/Rome\", \"America/New_York\" or \"UTC\" (the names are case-sensitive)")
        })
    }
}

impl From<TimeZone> for String {
    fn from(zone: TimeZone) -> String {
        zone.0.name().to_string()
    }
}

/// A time of day, `"HH:MM"` on a 24-hour clock; `"24:00"` is the end of
/// the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime {
    /// Minutes since midnight, 0 to 1440.
    pub minutes: u16,
}

impl TryFrom<String> for ClockTime {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let refuse = || {
            format!("`{text}` is not a time of day: write HH:MM on a 24-hour clock, from \"00:00\" to \"24:00\", such as \"06:30\" or \"22:00\"")
        };
        let (hours, minutes) = text.trim().split_once(':').ok_or_else(refuse)?;
        let all_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(hours) || !all_digits(minutes) {
            return Err(refuse());
        }
        let hours: u16 = hours.parse().map_err(|_| refuse())?;
        let minutes: u16 = minutes.parse().map_err(|_| refuse())?;
        if minutes > 59 || hours > 24 || (hours == 24 && minutes > 0) {
            return Err(refuse());
        }
        Ok(ClockTime {
            minutes: hours * 60 + minutes,
        })
    }
}

impl From<ClockTime> for String {
    fn from(time: ClockTime) -> String {
        format!("{:02}:{:02}", time.minutes / 60, time.minutes % 60)
    }
}

/// A day of the week, written by its first three letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Day(pub chrono::Weekday);

impl TryFrom<String> for Day {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        use chrono::Weekday::*;
        let day = match text.trim().to_ascii_lowercase().as_str() {
            "mon" => Mon,
            "tue" => Tue,
            "wed" => Wed,
            "thu" => Thu,
            "fri" => Fri,
            "sat" => Sat,
            "sun" => Sun,
            _ => {
                return Err(format!(
                "`{text}` is not a day: write one of \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\""
            ))
            }
        };
        Ok(Day(day))
    }
}

impl From<Day> for String {
    fn from(day: Day) -> String {
        day.0.to_string().to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::*;

    #[test]
    fn out_of_range_confidence_says_what_is_valid() {
        let text = "[defaults]\nmin_confidence = 170\n";
        let err = one_error(text);
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("min_confidence"));
        assert!(err.message.contains("from 0 to 100"), "{err}");
    }

    #[test]
    fn bad_listen_address_names_line_key_and_a_valid_form() {
        let text = "[serve]\n\nsmtp = \"localhost\"\n";
        let err = one_error(text);
        assert_eq!(err.line, Some(3));
        assert_eq!(err.key.as_deref(), Some("smtp"));
        assert!(err.message.contains("0.0.0.0:2525"), "{err}");
    }

    #[test]
    fn webhook_must_be_a_web_address() {
        let err = one_error("[alerts]\nwebhook = \"ftp://x\"\n");
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("http:// or https://"), "{err}");
    }

    #[test]
    fn bare_domain_sender_is_refused_with_the_domain_syntax() {
        let text = "[ingest]\nallowed_senders = [\"cams.example.com\"]\n";
        let err = one_error(text);
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("allowed_senders"));
        assert!(err.message.contains("`@cams.example.com`"), "{err}");
    }

    #[test]
    fn display_name_form_is_refused_in_the_allow_list() {
        let err = one_error("[ingest]\nallowed_senders = [\"Cam <cam@x.example>\"]\n");
        assert!(err.message.contains("is not a sender"), "{err}");
    }

    #[test]
    fn unknown_verdict_action_names_the_valid_ones() {
        let text = "[ingest.verdicts]\nspf = \"drop\"\n";
        let err = one_error(text);
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("spf"));
        assert!(
            err.message.contains("reject") && err.message.contains("ignore"),
            "{err}"
        );
    }

    #[test]
    fn message_size_beyond_what_ses_accepts_is_refused() {
        let err = one_error("[ingest]\nmax_message_bytes = 100_000_000\n");
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("max_message_bytes"));
        assert!(err.message.contains("40 MiB"), "{err}");
    }

    #[test]
    fn spans_are_read_with_their_units() {
        let span = |text: &str| Span::try_from(text.to_string()).map(Span::seconds);
        assert_eq!(span("90s"), Ok(90));
        assert_eq!(span("10m"), Ok(600));
        assert_eq!(span("2h"), Ok(7200));
        assert_eq!(span("1h30m"), Ok(5400));
        assert_eq!(span(" 0s "), Ok(0));
        for wrong in ["", "10", "m", "10 m", "1.5h", "2d", "-5m", "999999h"] {
            assert!(span(wrong).is_err(), "{wrong} accepted");
        }
        assert_eq!(String::from(Span::from_secs(5400)), "1h30m0s");
        assert_eq!(String::from(Span::from_secs(600)), "10m");
    }

    #[test]
    fn a_window_like_25_00_is_refused_with_the_valid_form() {
        let text = "[defaults]\nactive = [{ from = \"25:00\", to = \"06:00\" }]\n";
        let err = one_error(text);
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("HH:MM on a 24-hour clock"), "{err}");
        for good in ["00:00", "06:30", "23:59", "24:00"] {
            assert!(ClockTime::try_from(good.to_string()).is_ok(), "{good}");
        }
        for wrong in ["6:30", "24:01", "12:60", "noon", "12-30"] {
            assert!(ClockTime::try_from(wrong.to_string()).is_err(), "{wrong}");
        }
    }

    #[test]
    fn a_wrong_time_zone_names_the_form_of_a_right_one() {
        let err = one_error("[defaults]\ntimezone = \"Europe/Roma\"\n");
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("timezone"));
        assert!(
            err.message.contains("IANA name such as \"Europe/Rome\""),
            "{err}"
        );
        let config = Config::parse("[defaults]\ntimezone = \"Europe/Rome\"\n").unwrap();
        assert_eq!(config.defaults.timezone.0, chrono_tz::Europe::Rome);
    }

    #[test]
    fn domain_entry_admits_its_domain_only() {
        let domain = SenderPattern::Domain("cams.example.com".into());
        assert!(domain.admits("Garage@CAMS.example.com"));
        assert!(!domain.admits("x@sub.cams.example.com"));
        assert!(!domain.admits("x@evilcams.example.com"));
        let address = SenderPattern::Address("cam@x.example".into());
        assert!(address.admits("CAM@x.example"));
        assert!(!address.admits("cam2@x.example"));
    }
}
