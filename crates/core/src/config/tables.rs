//! The tables of the file (`[defaults]`, `[[cameras]]`, `[extract]`,
//! `[ingest]`, `[alerts]`, `[serve]`) and their defaults: what a missing key
//! means is decided here, next to the key.

use serde::{Deserialize, Serialize};

use super::values::{
    Bounded, Fraction, ListenAddress, MessageBytes, Percent, SenderPattern, WebUrl,
};

/// `[alerts]`: the local runner's alert channels, besides the terminal.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocalAlerts {
    /// JSON-lines file each alert is appended to.
    #[serde(default)]
    pub file: Option<String>,
    /// URL each alert's JSON is POSTed to.
    #[serde(default)]
    pub webhook: Option<WebUrl>,
}

/// `[serve]`: the SMTP server cameras send to, and the HTTP endpoint for
/// SendGrid-style posts.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Serve {
    /// SMTP listen address.
    pub smtp: ListenAddress,
    /// HTTP listen address.
    pub http: ListenAddress,
    /// Folder the messages, frames and execution records are kept in.
    pub store: String,
    /// Credentials cameras must give (SMTP AUTH) and posts must carry
    /// (basic auth); none asked when unset.
    pub username: Option<String>,
    pub password: Option<String>,
}

impl Default for Serve {
    /// Loopback only: exposing the server is a deliberate choice.
    fn default() -> Self {
        Serve {
            smtp: ListenAddress(std::net::SocketAddr::from(([127, 0, 0, 1], 2525))),
            http: ListenAddress(std::net::SocketAddr::from(([127, 0, 0, 1], 8025))),
            store: "ipcam-data".into(),
            username: None,
            password: None,
        }
    }
}

/// One camera: how to recognise its e-mails, and its own rules.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Camera {
    pub name: String,
    /// Sender address the camera writes from.
    #[serde(default)]
    pub from: Option<String>,
    /// Recipient address the camera writes to (e.g. `frontdoor@cams.example.com`).
    #[serde(default)]
    pub to: Option<String>,
    /// Text the subject contains (case-insensitive).
    #[serde(default)]
    pub subject: Option<String>,
    // The camera's own rules: each one present overrides `[defaults]`.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    #[serde(default)]
    pub min_confidence: Option<Percent>,
    #[serde(default)]
    pub min_box_area: Option<Fraction>,
    #[serde(default)]
    pub max_box_area: Option<Fraction>,
    #[serde(default)]
    pub ignore_zones: Option<Vec<Zone>>,
}

/// The complete rules one camera is judged by.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Labels to alert on, case-insensitive; a label also matches through
    /// Rekognition's parents (`Vehicle` matches a `Car`).
    pub labels: Vec<String>,
    /// Minimum confidence in percent.
    pub min_confidence: Percent,
    /// Smallest box that counts, as a share of the picture (0 to 1): drops
    /// far-away specks.
    pub min_box_area: Fraction,
    /// Largest box that counts, as a share of the picture (0 to 1): drops a
    /// spider walking over the lens.
    pub max_box_area: Fraction,
    /// Parts of the picture to ignore (a road, a neighbour's drive, the
    /// timestamp overlay): a box whose centre is inside one does not count.
    pub ignore_zones: Vec<Zone>,
}

impl Default for Rules {
    /// Alert on people, cars and animals seen at 60 % or more.
    fn default() -> Self {
        Rules {
            labels: vec!["person".into(), "car".into(), "animal".into()],
            min_confidence: Percent(60.0),
            min_box_area: Fraction(0.0),
            max_box_area: Fraction(1.0),
            ignore_zones: Vec::new(),
        }
    }
}

/// A rectangle of the picture, in fractions of its width and height.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    pub left: Fraction,
    pub top: Fraction,
    pub width: Fraction,
    pub height: Fraction,
}

impl Zone {
    /// True when the point (x, y), in fractions of the picture, is inside.
    pub fn contains(&self, x: f32, y: f32) -> bool {
        x >= self.left.0
            && x <= self.left.0 + self.width.0
            && y >= self.top.0
            && y <= self.top.0 + self.height.0
    }
}

/// How pictures are taken out of an e-mail (`[extract]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractSettings {
    /// Most frames analysed per e-mail, after duplicates are dropped: each
    /// one is billed.
    pub max_frames: Bounded<1, 100>,
    /// Largest picture stored as it is, in pixels; a larger one is scaled
    /// down, which detection does not need and bills the same.
    pub max_pixels: Bounded<6_400, 40_000_000>,
}

impl Default for ExtractSettings {
    /// Ten frames, twice Full HD.
    fn default() -> Self {
        ExtractSettings {
            max_frames: Bounded(10),
            max_pixels: Bounded(1920 * 1080 * 2),
        }
    }
}

/// `[ingest]`: what is let in at the door, before anything costs money.
///
/// Whoever finds the inbound address can write to it, so a message must
/// come from an allowed sender, pass the mail service's checks that are set
/// to `reject`, and fit in `max_message_bytes` before an execution starts.
///
/// The sender checked is the header `From` (what a camera's e-mail settings
/// set, and what `[[cameras]] from` matches), not the envelope sender: relays
/// rewrite the envelope (bounce addresses), and both are equally easy to
/// forge. What makes `From` trustworthy is DMARC, which ties it to a passing
/// SPF or DKIM check: set `verdicts.dmarc = "reject"` when the cameras send
/// through a provider whose domain publishes DMARC.
///
/// The door is open while nothing names a sender: with `allowed_senders`
/// empty and no camera recognised by `from`, everyone is let in, so a new
/// setup works on its first e-mail. As soon as one sender is named, only
/// the named senders get in: those in `allowed_senders`, and every camera's
/// `from` (configuring a camera by its sender says it is trusted). A camera
/// recognised only by `to` or `subject` then needs its sender listed here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ingest {
    /// Senders let in: a whole address (`frontdoor@cams.example.com`) or a
    /// whole domain written with a leading `@` (`@cams.example.com`, which
    /// does not include its subdomains). Case-insensitive.
    pub allowed_senders: Vec<SenderPattern>,
    /// Largest message accepted, in bytes, wherever it arrives: SES, a
    /// SendGrid post, the SMTP server of `ipcam serve` (which announces it
    /// as its `SIZE`), and extraction.
    pub max_message_bytes: MessageBytes,
    /// What a failed check of the mail service does.
    pub verdicts: Verdicts,
}

/// What each check of the mail service does when it fails.
///
/// Spam and viruses are refused: nothing a camera sends should look like
/// either. SPF, DKIM and DMARC are ignored by default because many cameras
/// send through an ISP's relay or a webmail account with a `From` that
/// relay is not authorised for, so these checks fail on genuine snapshots;
/// the allow-list is the first line of defence. Set them to `reject` when
/// the cameras send through a provider that signs and aligns their mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Verdicts {
    pub spam: OnFail,
    pub virus: OnFail,
    pub spf: OnFail,
    pub dkim: OnFail,
    pub dmarc: OnFail,
}

impl Default for Verdicts {
    fn default() -> Self {
        Verdicts {
            spam: OnFail::Reject,
            virus: OnFail::Reject,
            spf: OnFail::Ignore,
            dkim: OnFail::Ignore,
            dmarc: OnFail::Ignore,
        }
    }
}

/// What a failed check does to the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFail {
    /// The message is refused: nothing is started.
    Reject,
    /// The failure is logged and the message goes on.
    Ignore,
}

#[cfg(test)]
mod tests {
    use crate::config::*;

    #[test]
    fn empty_file_means_people_cars_and_animals_at_sixty_percent() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.defaults.labels, vec!["person", "car", "animal"]);
        assert_eq!(config.defaults.min_confidence, Percent(60.0));
    }

    #[test]
    fn serve_and_alerts_tables_are_read() {
        let text = "[alerts]\nfile = \"alerts.jsonl\"\nwebhook = \"https://ntfy.example.com/door\"\n[serve]\nsmtp = \"0.0.0.0:25\"\nusername = \"cam\"\npassword = \"pw\"\n";
        let config = Config::parse(text).unwrap();
        assert_eq!(config.serve.smtp.0.port(), 25);
        assert_eq!(config.serve.http, Serve::default().http);
        assert_eq!(config.alerts.file.as_deref(), Some("alerts.jsonl"));
    }

    #[test]
    fn ingest_defaults_reject_spam_and_viruses_only() {
        let ingest = Config::parse("").unwrap().ingest;
        assert!(ingest.allowed_senders.is_empty());
        assert_eq!(ingest.max_message_bytes, MessageBytes(10 * 1024 * 1024));
        assert_eq!(ingest.verdicts.spam, OnFail::Reject);
        assert_eq!(ingest.verdicts.virus, OnFail::Reject);
        assert_eq!(ingest.verdicts.spf, OnFail::Ignore);
        assert_eq!(ingest.verdicts.dkim, OnFail::Ignore);
        assert_eq!(ingest.verdicts.dmarc, OnFail::Ignore);
    }

    #[test]
    fn ingest_table_reads_addresses_domains_sizes_and_verdicts() {
        let text = "[ingest]\nallowed_senders = [\"FrontDoor@Cams.Example.com\", \"@ISP.example.net\"]\nmax_message_bytes = 5_000_000\n[ingest.verdicts]\ndmarc = \"reject\"\n";
        let ingest = Config::parse(text).unwrap().ingest;
        assert_eq!(
            ingest.allowed_senders,
            vec![
                SenderPattern::Address("frontdoor@cams.example.com".into()),
                SenderPattern::Domain("isp.example.net".into()),
            ]
        );
        assert_eq!(ingest.max_message_bytes, MessageBytes(5_000_000));
        assert_eq!(ingest.verdicts.dmarc, OnFail::Reject);
        assert_eq!(ingest.verdicts.spam, OnFail::Reject);
    }

    #[test]
    fn extract_table_overrides_its_defaults_and_checks_ranges() {
        let config = Config::parse("[extract]\nmax_frames = 4\n").unwrap();
        assert_eq!(config.extract.max_frames.0, 4);
        assert_eq!(
            config.extract.max_pixels,
            ExtractSettings::default().max_pixels
        );
        let err = one_error("[extract]\nmax_frames = 0\n");
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("from 1 to 100"), "{err}");
    }
}
