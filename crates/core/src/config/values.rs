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
