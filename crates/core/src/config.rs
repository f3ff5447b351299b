//! The one configuration file, shared by the Lambdas and the local runner.
//!
//! It is parsed strictly (an unknown key is an error, not a silent default),
//! values are checked as they are read, and every error names the line, the
//! key and what would be valid, so that `ipcam config check` tells a user
//! exactly what to fix.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Camera name used for e-mails that match no configured camera.
pub const UNKNOWN_CAMERA: &str = "unknown";

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// What cameras share unless they say otherwise.
    #[serde(default)]
    pub defaults: Rules,
    #[serde(default)]
    pub cameras: Vec<Camera>,
    /// How pictures are taken out of an e-mail.
    #[serde(default)]
    pub extract: ExtractSettings,
    /// Who may send e-mail in, and what the mail service's checks decide.
    #[serde(default)]
    pub ingest: Ingest,
    /// Where the local runner sends alerts; the Lambdas use SNS instead.
    #[serde(default)]
    pub alerts: LocalAlerts,
    /// How `ipcam serve` listens; the Lambdas ignore it.
    #[serde(default)]
    pub serve: Serve,
}

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

/// A configuration error, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line of the offending key, when known.
    pub line: Option<usize>,
    /// The key, as a path (`cameras[1].labels`) or as written on the line.
    pub key: Option<String>,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, &self.key) {
            (Some(line), Some(key)) => write!(f, "line {line}, key `{key}`: {}", self.message),
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            (None, Some(key)) => write!(f, "key `{key}`: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses and checks a configuration file's text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|err| locate(text, &err))?;
        config.check(text)?;
        Ok(config)
    }

    /// Reads, parses and checks a configuration file; errors start with the
    /// file's path.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("{}: cannot read: {err}", path.display()))?;
        Config::parse(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    /// Checks what a single value cannot: relations between keys.
    fn check(&self, text: &str) -> Result<(), ConfigError> {
        check_rules(&self.defaults.labels, "defaults", text)?;
        check_serve(&self.serve, text)?;
        let mut seen: Vec<&str> = Vec::new();
        for (index, camera) in self.cameras.iter().enumerate() {
            let at = |key: &str, message: String| ConfigError {
                line: line_of_value(text, "name", &camera.name),
                key: Some(format!("cameras[{index}].{key}")),
                message,
            };
            if camera.name.trim().is_empty() {
                return Err(at("name", "a camera needs a non-empty name".into()));
            }
            if camera.name.eq_ignore_ascii_case(UNKNOWN_CAMERA) {
                return Err(at(
                    "name",
                    format!("`{UNKNOWN_CAMERA}` is reserved for e-mails that match no camera: choose another name"),
                ));
            }
            if seen
                .iter()
                .any(|name| name.eq_ignore_ascii_case(&camera.name))
            {
                return Err(at(
                    "name",
                    format!(
                        "camera `{}` is defined twice: names must be unique",
                        camera.name
                    ),
                ));
            }
            seen.push(&camera.name);
            if camera.from.is_none() && camera.to.is_none() && camera.subject.is_none() {
                return Err(at(
                    "from",
                    format!(
                        "camera `{}` has no way to be recognised: set `from`, `to` or `subject`",
                        camera.name
                    ),
                ));
            }
            if let Some(labels) = &camera.labels {
                check_rules(labels, &format!("cameras[{index}]"), text)?;
            }
            let rules = self.rules_for(&camera.name);
            if rules.min_box_area > rules.max_box_area {
                return Err(at(
                    "min_box_area",
                    format!(
                        "min_box_area ({}) is larger than max_box_area ({}): no box could ever count",
                        rules.min_box_area.0, rules.max_box_area.0
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The complete rules of a camera: its overrides on top of `[defaults]`.
    /// An unknown camera name gets the defaults.
    pub fn rules_for(&self, camera: &str) -> Rules {
        let mut rules = self.defaults.clone();
        if let Some(camera) = self.cameras.iter().find(|c| c.name == camera) {
            let o = camera;
            if let Some(labels) = &o.labels {
                rules.labels = labels.clone();
            }
            if let Some(value) = o.min_confidence {
                rules.min_confidence = value;
            }
            if let Some(value) = o.min_box_area {
                rules.min_box_area = value;
            }
            if let Some(value) = o.max_box_area {
                rules.max_box_area = value;
            }
            if let Some(zones) = &o.ignore_zones {
                rules.ignore_zones = zones.clone();
            }
        }
        rules
    }

    /// The camera an e-mail comes from: the first camera whose `from`, `to`
    /// or `subject` matches, else [`UNKNOWN_CAMERA`].
    pub fn identify_camera(
        &self,
        from: Option<&str>,
        to: &[String],
        subject: Option<&str>,
    ) -> &str {
        let sender = from.map(bare_address);
        let subject = subject.map(str::to_lowercase);
        self.cameras
            .iter()
            .find(|camera| {
                let by_from = camera.from.as_deref().is_some_and(|want| {
                    sender
                        .as_deref()
                        .is_some_and(|got| got.eq_ignore_ascii_case(bare_address(want).as_str()))
                });
                let by_to = camera.to.as_deref().is_some_and(|want| {
                    let want = bare_address(want);
                    to.iter()
                        .any(|got| bare_address(got).eq_ignore_ascii_case(&want))
                });
                let by_subject = camera.subject.as_deref().is_some_and(|want| {
                    subject
                        .as_deref()
                        .is_some_and(|got| got.contains(&want.to_lowercase()))
                });
                by_from || by_to || by_subject
            })
            .map_or(UNKNOWN_CAMERA, |camera| camera.name.as_str())
    }
}

/// The address inside `Name <user@host>`, or the text itself, trimmed.
pub fn bare_address(text: &str) -> String {
    let text = text.trim();
    match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => text[open + 1..close].trim().to_string(),
        _ => text.to_string(),
    }
}

fn check_rules(labels: &[String], table: &str, text: &str) -> Result<(), ConfigError> {
    if let Some(position) = labels.iter().position(|l| l.trim().is_empty()) {
        return Err(ConfigError {
            line: line_of_key(text, "labels"),
            key: Some(format!("{table}.labels[{position}]")),
            message: "a label cannot be empty: write a label name such as \"person\" or \"car\""
                .into(),
        });
    }
    Ok(())
}

fn check_serve(serve: &Serve, text: &str) -> Result<(), ConfigError> {
    let missing = match (&serve.username, &serve.password) {
        (Some(_), None) => Some(("username", "password")),
        (None, Some(_)) => Some(("password", "username")),
        _ => None,
    };
    if let Some((given, absent)) = missing {
        return Err(ConfigError {
            line: line_of_key(text, given),
            key: Some(format!("serve.{given}")),
            message: format!(
                "`{given}` is set but `{absent}` is not: set both to require credentials, or neither"
            ),
        });
    }
    Ok(())
}

/// Turns a TOML error into one that names the line and the key.
fn locate(text: &str, err: &toml::de::Error) -> ConfigError {
    let line = err.span().map(|span| {
        let before = &text.as_bytes()[..span.start.min(text.len())];
        before.iter().filter(|byte| **byte == b'\n').count() + 1
    });
    let key = line.and_then(|line| key_on_line(text.lines().nth(line - 1)?));
    ConfigError {
        line,
        key,
        message: in_plain_words(err.message().trim()),
    }
}

/// The key a line sets (`labels = [...]`), or the table it opens
/// (`[serve]`, `[[cameras]]`).
fn key_on_line(source: &str) -> Option<String> {
    let source = source.trim();
    let key = if source.starts_with('[') {
        source.trim_matches(['[', ']']).trim()
    } else {
        source.split_once('=')?.0.trim()
    };
    (!key.is_empty()).then(|| key.to_string())
}

/// TOML and serde speak of sequences, maps and f64; a person writing the
/// file thinks of lists, tables and numbers. Also says what to add when a
/// required key is missing.
fn in_plain_words(message: &str) -> String {
    let mut plain = message
        .replace(
            "expected a sequence",
            "expected a list in brackets, such as [\"person\", \"car\"]",
        )
        .replace("expected a map", "expected a table of keys")
        .replace("expected f64", "expected a number")
        .replace("expected u64", "expected a whole number, 0 or more")
        .replace("expected a boolean", "expected true or false");
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        plain.push_str(&format!(": add `{field} = ...` to this table"));
    }
    plain
}

fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| line.split_once('=').is_some_and(|(k, _)| k.trim() == key))
        .map(|index| index + 1)
}

fn line_of_value(text: &str, key: &str, value: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            line.split_once('=').is_some_and(|(k, v)| {
                k.trim() == key && v.trim().trim_matches(['"', '\'']) == value
            })
        })
        .map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRONT_AND_DRIVE: &str = r#"
[defaults]
labels = ["person", "car"]
min_confidence = 70

[[cameras]]
name = "frontdoor"
from = "frontdoor@cams.example.com"
labels = ["person"]

[[cameras]]
name = "drive"
to = "Drive <drive@cams.example.com>"
min_confidence = 85
"#;

    #[test]
    fn camera_overrides_defaults_and_inherits_the_rest() {
        let config = Config::parse(FRONT_AND_DRIVE).unwrap();
        let front = config.rules_for("frontdoor");
        assert_eq!(front.labels, vec!["person"]);
        assert_eq!(front.min_confidence, Percent(70.0));
        let drive = config.rules_for("drive");
        assert_eq!(drive.labels, vec!["person", "car"]);
        assert_eq!(drive.min_confidence, Percent(85.0));
    }

    #[test]
    fn cameras_are_recognised_by_sender_recipient_or_subject() {
        let config = Config::parse(FRONT_AND_DRIVE).unwrap();
        assert_eq!(
            config.identify_camera(Some("Front Door <FrontDoor@cams.example.com>"), &[], None),
            "frontdoor"
        );
        assert_eq!(
            config.identify_camera(None, &["drive@cams.example.com".into()], None),
            "drive"
        );
        assert_eq!(
            config.identify_camera(Some("someone@else.example"), &[], Some("Motion")),
            UNKNOWN_CAMERA
        );
    }

    #[test]
    fn empty_file_means_people_cars_and_animals_at_sixty_percent() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.defaults.labels, vec!["person", "car", "animal"]);
        assert_eq!(config.defaults.min_confidence, Percent(60.0));
    }

    #[test]
    fn misspelt_key_names_the_line_the_key_and_the_valid_keys() {
        let text = "[defaults]\nlabels = [\"person\"]\nmin_confidance = 70\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.key.as_deref(), Some("min_confidance"));
        assert!(err.message.contains("min_confidence"), "{err}");
    }

    #[test]
    fn out_of_range_confidence_says_what_is_valid() {
        let text = "[defaults]\nmin_confidence = 170\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("min_confidence"));
        assert!(err.message.contains("from 0 to 100"), "{err}");
    }

    #[test]
    fn camera_without_matcher_is_refused_at_its_line() {
        let text = "[[cameras]]\nname = \"garden\"\nlabels = [\"person\"]\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("cameras[0].from"));
        assert!(
            err.message.contains("set `from`, `to` or `subject`"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_camera_names_are_refused() {
        let text = "[[cameras]]\nname = \"a\"\nfrom = \"x@y\"\n[[cameras]]\nname = \"A\"\nfrom = \"z@y\"\n";
        let err = Config::parse(text).unwrap_err();
        assert!(err.message.contains("defined twice"), "{err}");
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
    fn bad_listen_address_names_line_key_and_a_valid_form() {
        let text = "[serve]\n\nsmtp = \"localhost\"\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.key.as_deref(), Some("smtp"));
        assert!(err.message.contains("0.0.0.0:2525"), "{err}");
    }

    #[test]
    fn webhook_must_be_a_web_address() {
        let err = Config::parse("[alerts]\nwebhook = \"ftp://x\"\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("http:// or https://"), "{err}");
    }

    #[test]
    fn username_without_password_is_refused() {
        let err = Config::parse("[serve]\nusername = \"cam\"\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("serve.username"));
        assert!(err.message.contains("set both"), "{err}");
    }

    #[test]
    fn misspelt_table_is_named_with_the_valid_tables() {
        let err = Config::parse("[serv]\nsmtp = \"0.0.0.0:25\"\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert_eq!(err.key.as_deref(), Some("serv"));
        assert!(err.message.contains("`serve`"), "{err}");
    }

    #[test]
    fn camera_without_name_says_what_to_add() {
        let err = Config::parse("[[cameras]]\nfrom = \"a@b\"\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert_eq!(err.key.as_deref(), Some("cameras"));
        assert!(err.message.contains("add `name = ...`"), "{err}");
    }

    #[test]
    fn type_errors_speak_of_lists_and_numbers() {
        let err = Config::parse("[defaults]\nlabels = \"person\"\n").unwrap_err();
        assert!(err.message.contains("a list in brackets"), "{err}");
        let err = Config::parse("[defaults]\nmin_confidence = \"high\"\n").unwrap_err();
        assert!(err.message.contains("expected a number"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let text = "[defaults]\nlabels = \"person\"\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("labels"));
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
    fn bare_domain_sender_is_refused_with_the_domain_syntax() {
        let text = "[ingest]\nallowed_senders = [\"cams.example.com\"]\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("allowed_senders"));
        assert!(err.message.contains("`@cams.example.com`"), "{err}");
    }

    #[test]
    fn display_name_form_is_refused_in_the_allow_list() {
        let err =
            Config::parse("[ingest]\nallowed_senders = [\"Cam <cam@x.example>\"]\n").unwrap_err();
        assert!(err.message.contains("is not a sender"), "{err}");
    }

    #[test]
    fn unknown_verdict_action_names_the_valid_ones() {
        let text = "[ingest.verdicts]\nspf = \"drop\"\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("spf"));
        assert!(
            err.message.contains("reject") && err.message.contains("ignore"),
            "{err}"
        );
    }

    #[test]
    fn message_size_beyond_what_ses_accepts_is_refused() {
        let err = Config::parse("[ingest]\nmax_message_bytes = 100_000_000\n").unwrap_err();
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

    #[test]
    fn extract_table_overrides_its_defaults_and_checks_ranges() {
        let config = Config::parse("[extract]\nmax_frames = 4\n").unwrap();
        assert_eq!(config.extract.max_frames.0, 4);
        assert_eq!(
            config.extract.max_pixels,
            ExtractSettings::default().max_pixels
        );
        let err = Config::parse("[extract]\nmax_frames = 0\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("from 1 to 100"), "{err}");
    }
}
