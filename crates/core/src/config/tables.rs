//! The tables of the file (`[defaults]`, `[[cameras]]`, `[extract]`,
//! `[ingest]`, `[alerts]`, `[serve]`) and their defaults: what a missing key
//! means is decided here, next to the key.

use serde::{Deserialize, Serialize};

use super::values::{
    Bounded, ClockTime, Day, Fraction, ListenAddress, MailAddress, MessageBytes, Percent,
    SecretAddress, SenderPattern, Span, TimeZone, WebUrl,
};

/// `[alerts]`: where alerts go besides SNS (on AWS) or the terminal
/// (locally).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    /// Locally: the JSON-lines file each alert is appended to.
    #[serde(default)]
    pub file: Option<String>,
    /// Locally: the URL each alert's JSON is POSTed to.
    #[serde(default)]
    pub webhook: Option<WebUrl>,
    /// Who gets each alert as an e-mail with the annotated picture: through
    /// SES on AWS, through `[alerts.smtp]` locally.
    #[serde(default)]
    pub email_to: Vec<MailAddress>,
    /// The sender of those e-mails; on AWS an address of the domain SES
    /// receives for (which the stack verifies).
    #[serde(default)]
    pub email_from: Option<MailAddress>,
    /// Locally: the mail server the alert e-mails are handed to.
    #[serde(default)]
    pub smtp: Option<SmtpRelay>,
}

/// `[alerts.smtp]`: a mail server that relays the alert e-mails of
/// `ipcam process` and `ipcam serve` (a mailbox provider's submission
/// port, or the home router's).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpRelay {
    pub host: String,
    /// 587 (submission, with STARTTLS) unless said otherwise.
    #[serde(default = "SmtpRelay::default_port")]
    pub port: u16,
    /// Upgrade the connection with STARTTLS before anything is sent, and
    /// refuse to go on without it. On by default: credentials and pictures
    /// should not cross a network in clear.
    #[serde(default = "SmtpRelay::default_starttls")]
    pub starttls: bool,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

impl SmtpRelay {
    fn default_port() -> u16 {
        587
    }

    fn default_starttls() -> bool {
        true
    }
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
    /// How long received messages, their frames, annotated pictures and
    /// finished execution records are kept in the store; older ones are
    /// deleted (an execution not finished is kept whatever its age).
    /// 30 days (`"720h"`) by default.
    pub keep: Span,
    /// Connections served at once, by each of the SMTP server and the HTTP
    /// endpoint; one more is refused (SMTP `421`, HTTP `503`), so that
    /// clients that hold on cannot use up the server's file descriptors.
    pub max_connections: Bounded<1, 10_000>,
    /// Free space, in MiB, under which the store's disk counts as nearly
    /// full: messages are then refused for now (SMTP `452`, HTTP `503`)
    /// rather than acknowledged and lost.
    pub min_free_mib: Bounded<0, 1_000_000_000>,
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
            keep: Span::from_secs(30 * 24 * 3600),
            max_connections: Bounded(256),
            min_free_mib: Bounded(512),
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
    pub labels: Option<Vec<WantedLabel>>,
    #[serde(default)]
    pub min_confidence: Option<Percent>,
    #[serde(default)]
    pub min_box_area: Option<Fraction>,
    #[serde(default)]
    pub max_box_area: Option<Fraction>,
    #[serde(default)]
    pub ignore_zones: Option<Vec<Zone>>,
    #[serde(default)]
    pub required_zones: Option<Vec<Zone>>,
    #[serde(default)]
    pub timezone: Option<TimeZone>,
    #[serde(default)]
    pub active: Option<Vec<ActiveWindow>>,
    #[serde(default)]
    pub cooldown: Option<Span>,
    #[serde(default)]
    pub stationary: Option<Stationary>,
    /// This camera's `[detector] kind`: a camera wanting what the embedded
    /// model cannot rule out may go to Rekognition alone while the others
    /// are gated.
    #[serde(default)]
    pub detector: Option<DetectorKind>,
}

/// The complete rules one camera is judged by.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Labels to alert on, case-insensitive; a label also matches through
    /// Rekognition's parents (`Vehicle` matches a `Car`). An entry is a
    /// name, or a table with its own confidence:
    /// `{ label = "dog", min_confidence = 40 }`.
    pub labels: Vec<WantedLabel>,
    /// Minimum confidence in percent, for the labels that set none.
    pub min_confidence: Percent,
    /// Smallest box that counts, as a share of the picture (0 to 1): drops
    /// far-away specks.
    pub min_box_area: Fraction,
    /// Largest box that counts, as a share of the picture (0 to 1): drops a
    /// spider walking over the lens.
    pub max_box_area: Fraction,
    /// Parts of the picture to ignore (a road, a neighbour's drive, the
    /// timestamp overlay): a box standing in one does not count.
    pub ignore_zones: Vec<Zone>,
    /// When set, the only parts of the picture that count (the path to
    /// the door): a box counts only when it stands in one of them.
    pub required_zones: Vec<Zone>,
    /// The zone `active` windows are read in, and alert times are written
    /// in.
    pub timezone: TimeZone,
    /// When the camera may alert; empty means always. Outside every window
    /// an e-mail is not analysed at all.
    pub active: Vec<ActiveWindow>,
    /// After an alert, how long the same camera keeps quiet about the same
    /// label. `"0s"`, the default, means no cooldown.
    pub cooldown: Span,
    /// Objects that do not move (a parked car) alert once, not on every
    /// motion e-mail.
    pub stationary: Stationary,
}

impl Default for Rules {
    /// Alert on people and cars seen at 60 % or more, at any hour, with
    /// parked objects alerting once. Animals are left out: the neighbour's
    /// cat at night is the commonest false alarm, and a camera wanting only
    /// what the embedded model knows can be gated (`[detector]`).
    fn default() -> Self {
        Rules {
            labels: ["person", "car"]
                .into_iter()
                .map(WantedLabel::named)
                .collect(),
            min_confidence: Percent(60.0),
            min_box_area: Fraction(0.0),
            max_box_area: Fraction(1.0),
            ignore_zones: Vec::new(),
            required_zones: Vec::new(),
            timezone: TimeZone::default(),
            active: Vec::new(),
            cooldown: Span::from_secs(0),
            stationary: Stationary::default(),
        }
    }
}

/// One entry of `labels`: a name, or a name with its own confidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WantedLabel {
    pub label: String,
    /// Overrides the camera's `min_confidence` for this label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_confidence: Option<Percent>,
}

impl WantedLabel {
    /// A label with the camera's confidence.
    pub fn named(label: &str) -> WantedLabel {
        WantedLabel {
            label: label.to_string(),
            min_confidence: None,
        }
    }
}

/// The table form of a [`WantedLabel`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WantedLabelTable {
    label: String,
    #[serde(default)]
    min_confidence: Option<Percent>,
}

impl<'de> Deserialize<'de> for WantedLabel {
    /// A string, or a table with `label` and `min_confidence`: a visitor
    /// rather than an untagged enum, so that a mistake inside the table is
    /// reported as itself and not as "no variant matched".
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = WantedLabel;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a label name such as \"person\", or a table such as { label = \"dog\", min_confidence = 40 }",
                )
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<WantedLabel, E> {
                Ok(WantedLabel::named(name))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<WantedLabel, A::Error> {
                let table = WantedLabelTable::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(WantedLabel {
                    label: table.label,
                    min_confidence: table.min_confidence,
                })
            }
        }
        deserializer.deserialize_any(Entry)
    }
}

/// A window of the week in which a camera may alert, in its time zone.
///
/// A window whose `to` is earlier than its `from` runs past midnight into
/// the next day (`from = "22:00", to = "06:30"`); its `days` are the days
/// it starts on.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveWindow {
    /// The days the window starts on; every day when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<Day>>,
    pub from: ClockTime,
    pub to: ClockTime,
}

/// `stationary`: how an object that has not moved since the last alert
/// about it is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Stationary {
    /// How much a box must overlap a remembered one (intersection over
    /// union, 0 to 1) to be the same object standing still.
    pub iou: Fraction,
    /// How long an object unseen is remembered; seeing it again starts the
    /// window anew, so a car parked for a week stays quiet. `"0s"` turns
    /// the suppression off.
    pub window: Span,
}

impl Default for Stationary {
    fn default() -> Self {
        Stationary {
            iou: Fraction(0.6),
            window: Span::from_secs(2 * 3600),
        }
    }
}

/// A part of the picture, in fractions of its width and height: a
/// rectangle, or a polygon of at least three points.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "ZoneTable", into = "ZoneTable")]
pub enum Zone {
    Rectangle {
        left: Fraction,
        top: Fraction,
        width: Fraction,
        height: Fraction,
    },
    /// Corners in order, `[x, y]` each; the last joins the first.
    Polygon(Vec<[Fraction; 2]>),
}

/// How a zone is written: the four keys of a rectangle, or `points`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneTable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    left: Option<Fraction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    top: Option<Fraction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    width: Option<Fraction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    height: Option<Fraction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    points: Option<Vec<[Fraction; 2]>>,
}

impl TryFrom<ZoneTable> for Zone {
    type Error = String;
    fn try_from(table: ZoneTable) -> Result<Self, Self::Error> {
        let forms = "write a rectangle { left = 0.0, top = 0.0, width = 0.5, height = 0.2 } or a polygon { points = [[0.1, 0.9], [0.5, 0.4], [0.9, 0.9]] }, in fractions of the picture";
        match table {
            ZoneTable {
                left: Some(left),
                top: Some(top),
                width: Some(width),
                height: Some(height),
                points: None,
            } => Ok(Zone::Rectangle {
                left,
                top,
                width,
                height,
            }),
            ZoneTable {
                left: None,
                top: None,
                width: None,
                height: None,
                points: Some(points),
            } => {
                if points.len() < 3 {
                    Err(format!(
                        "a polygon needs at least 3 points to enclose anything, this one has {}: {forms}",
                        points.len()
                    ))
                } else {
                    Ok(Zone::Polygon(points))
                }
            }
            ZoneTable {
                points: Some(_), ..
            } => Err(format!(
                "a zone is either a rectangle or a polygon, not both: {forms}"
            )),
            _ => Err(format!(
                "a rectangle needs all of left, top, width and height: {forms}"
            )),
        }
    }
}

impl From<Zone> for ZoneTable {
    fn from(zone: Zone) -> ZoneTable {
        match zone {
            Zone::Rectangle {
                left,
                top,
                width,
                height,
            } => ZoneTable {
                left: Some(left),
                top: Some(top),
                width: Some(width),
                height: Some(height),
                points: None,
            },
            Zone::Polygon(points) => ZoneTable {
                points: Some(points),
                ..ZoneTable::default()
            },
        }
    }
}

impl Zone {
    /// A rectangle, from plain numbers (for code and tests; the file's
    /// values are checked as they are read).
    pub fn rectangle(left: f32, top: f32, width: f32, height: f32) -> Zone {
        Zone::Rectangle {
            left: Fraction(left),
            top: Fraction(top),
            width: Fraction(width),
            height: Fraction(height),
        }
    }

    /// True when the point (x, y), in fractions of the picture, is inside
    /// (or on the edge).
    pub fn contains(&self, x: f32, y: f32) -> bool {
        match self {
            Zone::Rectangle {
                left,
                top,
                width,
                height,
            } => x >= left.0 && x <= left.0 + width.0 && y >= top.0 && y <= top.0 + height.0,
            Zone::Polygon(points) => polygon_contains(points, x, y),
        }
    }
}

/// Even-odd rule: a ray from the point crosses the edges an odd number of
/// times when it is inside. A point on an edge counts as inside.
fn polygon_contains(points: &[[Fraction; 2]], x: f32, y: f32) -> bool {
    let corner = |i: usize| {
        let [px, py] = points[i % points.len()];
        (px.0, py.0)
    };
    let mut inside = false;
    for i in 0..points.len() {
        let ((x1, y1), (x2, y2)) = (corner(i), corner(i + 1));
        if on_segment((x1, y1), (x2, y2), (x, y)) {
            return true;
        }
        if (y1 > y) != (y2 > y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1) {
            inside = !inside;
        }
    }
    inside
}

fn on_segment(a: (f32, f32), b: (f32, f32), p: (f32, f32)) -> bool {
    let cross = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
    cross.abs() <= 1e-6
        && p.0 >= a.0.min(b.0) - 1e-6
        && p.0 <= a.0.max(b.0) + 1e-6
        && p.1 >= a.1.min(b.1) - 1e-6
        && p.1 <= a.1.max(b.1) + 1e-6
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

/// `[detector]`: what looks at the frames on AWS.
///
/// Rekognition is the better eye and bills every picture; the embedded
/// model is free to run in the function and misses more. As a gate it
/// decides only which frames Rekognition sees: a frame where it finds none
/// of the camera's wanted labels, even at a low confidence, is not worth a
/// Rekognition call. Locally there is no Rekognition: `ipcam` runs the
/// embedded model whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorSettings {
    pub kind: DetectorKind,
    /// With `kind = "gated"`: the confidence, in percent, at which the
    /// embedded model's sighting of a wanted label sends the frame on to
    /// Rekognition. Low, so that the gate lets through anything that might
    /// be a person; the rules' own `min_confidence` is applied to
    /// Rekognition's answer afterwards.
    pub gate_threshold: Percent,
    /// The most calls to the detector of record (Rekognition images on
    /// AWS) in one UTC day; past it, frames are not analysed until the
    /// next day and the operator is told once. The gate's looks are free
    /// and not counted.
    pub daily_cap: Bounded<1, 100_000_000>,
    /// The most calls in one UTC month, likewise.
    pub monthly_cap: Bounded<1, 1_000_000_000>,
}

impl DetectorSettings {
    /// The daily cap when none is written: eight times what four cameras
    /// firing 50 times a day with three frames each would ask ungated
    /// (600), so that a home never meets it, while a flood costs at most
    /// 5 USD of Rekognition a day (docs/deploy.md).
    pub const DEFAULT_DAILY_CAP: u64 = 5_000;
    /// The monthly cap when none is written: 50 USD of Rekognition at the
    /// first tier's price, ten days of a flood at the daily cap.
    pub const DEFAULT_MONTHLY_CAP: u64 = 50_000;

    /// The gate threshold when none is written: between the faintest
    /// person of the test scenes (13.5 %, far away at night) and the
    /// empty night drive of the samples (9.3 %), a little nearer the noise
    /// than the person, since a missed person costs more than a call
    /// (docs/detector-gate.md).
    pub const DEFAULT_GATE_THRESHOLD: f32 = 11.0;
}

impl Default for DetectorSettings {
    fn default() -> Self {
        DetectorSettings {
            kind: DetectorKind::Gated,
            gate_threshold: Percent(Self::DEFAULT_GATE_THRESHOLD),
            daily_cap: Bounded(Self::DEFAULT_DAILY_CAP),
            monthly_cap: Bounded(Self::DEFAULT_MONTHLY_CAP),
        }
    }
}

/// Which detector decides (`[detector] kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectorKind {
    /// Every frame goes to Rekognition.
    Rekognition,
    /// The embedded model alone, on AWS too: no Rekognition call at all.
    Embedded,
    /// The embedded model first; Rekognition only for the frames where it
    /// sees a wanted label at `gate_threshold` or more.
    Gated,
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
/// SPF or DKIM check: a failure under the sender domain's own `reject` or
/// `quarantine` policy is refused by default (`verdicts.dmarc_policy`); set
/// `verdicts.dmarc = "reject"` when the cameras send through a provider
/// whose domain publishes DMARC.
///
/// The surest way in is a camera's secret address (`secret_addresses`):
/// the address it writes to, unguessable, generated by `make deploy`. Mail
/// delivered to it (the envelope recipient: SES's receipt recipients,
/// SendGrid's envelope, SMTP `RCPT TO`) is that camera's and is let in
/// whatever its sender, since only the camera knows where to write; the
/// mail service's checks and the size limit still apply. On AWS the SES
/// receipt rule accepts mail for those addresses only, so SES refuses the
/// rest during the SMTP conversation.
///
/// The door is open while nothing names a sender or a secret address
/// (`allowed_senders` and `secret_addresses` empty, and no camera
/// recognised by `from`): `ipcam process` and `ipcam serve`
/// then let everyone in, so a new setup works on its first e-mail, while
/// the Lambdas let no one in unless `allow_any_sender` is true. No sender
/// may be of the domain the cameras write to (`ipcam config check` refuses
/// it): anyone can write to it with such a `From`. As soon as one sender is
/// named, only
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
    /// Let everyone in on AWS while no sender is named (an open door).
    /// Off by default: a stranger who finds the inbound address then
    /// spends the owner's money, so the Lambdas refuse every message of an
    /// open door unless this is written. `ipcam process` and `ipcam serve`
    /// let everyone in through an open door whatever it says (they warn).
    /// It changes nothing once a sender is named.
    pub allow_any_sender: bool,
    /// Each camera's secret address, by camera name:
    /// `frontdoor = "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com"`.
    /// Mail delivered to it is the camera's, let in whatever its sender.
    /// `make deploy` generates them, keeps them and adds them to the
    /// configuration it uploads; write them yourself for `ipcam serve`.
    pub secret_addresses: std::collections::BTreeMap<String, SecretAddress>,
}

/// What each check of the mail service does when it fails.
///
/// Spam and viruses are refused: nothing a camera sends should look like
/// either. SPF, DKIM and DMARC are ignored by default because many cameras
/// send through an ISP's relay or a webmail account with a `From` that
/// relay is not authorised for, so these checks fail on genuine snapshots;
/// the allow-list is the first line of defence. Set them to `reject` when
/// the cameras send through a provider that signs and aligns their mail.
///
/// A DMARC failure is nonetheless refused, by default, when the domain of
/// the `From` address publishes the policy `reject` or `quarantine`
/// (`dmarc_policy`): its owner says that no genuine mail of that domain
/// fails, so such a message is a forgery of a sender (perhaps an allowed
/// one) and nothing a camera sends. A camera writing from such a domain
/// through a relay that domain does not authorise would be refused: fix
/// the camera's sender, or set `dmarc_policy = "ignore"`. A failure under
/// the policy `none`, or with no policy given, follows `dmarc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Verdicts {
    pub spam: OnFail,
    pub virus: OnFail,
    pub spf: OnFail,
    pub dkim: OnFail,
    pub dmarc: OnFail,
    /// A DMARC failure when the sender's domain publishes `p=reject` or
    /// `p=quarantine` (SES's `dmarcPolicy`).
    pub dmarc_policy: OnFail,
}

impl Default for Verdicts {
    fn default() -> Self {
        Verdicts {
            spam: OnFail::Reject,
            virus: OnFail::Reject,
            spf: OnFail::Ignore,
            dkim: OnFail::Ignore,
            dmarc: OnFail::Ignore,
            dmarc_policy: OnFail::Reject,
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
    fn empty_file_means_people_and_cars_at_sixty_percent_behind_the_gate() {
        let config = Config::parse("").unwrap();
        let labels: Vec<_> = config.defaults.labels.iter().map(|l| &l.label).collect();
        assert_eq!(labels, ["person", "car"]);
        assert_eq!(config.detector.kind, DetectorKind::Gated);
        assert_eq!(config.detector.gate_threshold, Percent(11.0));
        assert_eq!(config.defaults.cooldown, Span::from_secs(0));
        assert_eq!(config.defaults.stationary.window, Span::from_secs(7200));
        assert!(config.defaults.active.is_empty());
        assert_eq!(config.defaults.min_confidence, Percent(60.0));
    }

    #[test]
    fn a_detector_kind_is_one_of_three_names() {
        let config = Config::parse("[detector]\nkind = \"rekognition\"\n").unwrap();
        assert_eq!(config.detector.kind, DetectorKind::Rekognition);
        let errors = Config::parse("[detector]\nkind = \"yolo\"\n").unwrap_err();
        let text = errors.to_string();
        assert!(
            text.contains("line 2") && text.contains("rekognition"),
            "{text}"
        );
        assert!(Config::parse("[detector]\ngate_threshold = 120\n").is_err());
    }

    #[test]
    fn a_camera_may_choose_its_own_detector() {
        let text = "[detector]\nkind = \"rekognition\"\n\n[[cameras]]\nname = \"door\"\nfrom = \"door@isp.example\"\ndetector = \"gated\"\n";
        let config = Config::parse(text).unwrap();
        assert_eq!(config.detector_for("door"), DetectorKind::Gated);
        assert_eq!(config.detector_for("unknown"), DetectorKind::Rekognition);
        assert!(config.uses_embedded_model());
        let rekognition_only = Config::parse("[detector]\nkind = \"rekognition\"\n").unwrap();
        assert!(!rekognition_only.uses_embedded_model());
    }

    #[test]
    fn a_gated_camera_wanting_what_the_gate_does_not_know_is_named() {
        let text = "[[cameras]]\nname = \"garden\"\nfrom = \"g@isp.example\"\nlabels = [\"person\", \"Animal\"]\n\n[[cameras]]\nname = \"yard\"\nfrom = \"y@isp.example\"\nlabels = [\"animal\"]\ndetector = \"rekognition\"\n";
        let config = Config::parse(text).unwrap();
        assert_eq!(
            config.ungateable(&["Person", "Car", "Cat"]),
            [("garden".to_string(), "Animal".to_string())]
        );
    }

    #[test]
    fn a_label_may_carry_its_own_confidence() {
        let text = "[defaults]\nlabels = [\"person\", { label = \"dog\", min_confidence = 40 }]\n";
        let labels = Config::parse(text).unwrap().defaults.labels;
        assert_eq!(labels[0], WantedLabel::named("person"));
        assert_eq!(labels[1].label, "dog");
        assert_eq!(labels[1].min_confidence, Some(Percent(40.0)));
        let err = one_error("[defaults]\nlabels = [{ label = \"dog\", confidence = 40 }]\n");
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.message.contains("confidence"), "{err}");
    }

    #[test]
    fn zones_are_rectangles_or_polygons() {
        let text = "[defaults]\nignore_zones = [{ left = 0.0, top = 0.0, width = 1.0, height = 0.1 }]\nrequired_zones = [{ points = [[0.2, 1.0], [0.5, 0.4], [0.8, 1.0]] }]\n";
        let rules = Config::parse(text).unwrap().defaults;
        assert_eq!(rules.ignore_zones, [Zone::rectangle(0.0, 0.0, 1.0, 0.1)]);
        assert!(matches!(&rules.required_zones[0], Zone::Polygon(points) if points.len() == 3));
    }

    #[test]
    fn an_unclosed_polygon_is_refused_with_both_forms() {
        let err =
            one_error("[defaults]\n\nrequired_zones = [{ points = [[0.2, 1.0], [0.5, 0.4]] }]\n");
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.message.contains("at least 3 points"), "{err}");
        let err = one_error("[defaults]\nignore_zones = [{ left = 0.1, top = 0.1 }]\n");
        assert!(
            err.message.contains("all of left, top, width and height"),
            "{err}"
        );
    }

    #[test]
    fn a_point_is_in_a_polygon_by_the_even_odd_rule() {
        // A triangle with its base along the bottom of the picture.
        let triangle = Zone::Polygon(vec![
            [Fraction(0.2), Fraction(1.0)],
            [Fraction(0.5), Fraction(0.4)],
            [Fraction(0.8), Fraction(1.0)],
        ]);
        assert!(triangle.contains(0.5, 0.9));
        assert!(triangle.contains(0.5, 0.4), "a corner is on the edge");
        assert!(triangle.contains(0.35, 0.7), "a point of an edge");
        assert!(!triangle.contains(0.25, 0.5));
        assert!(!triangle.contains(0.9, 0.95));
        // A concave L: the notch is outside.
        let l_shape = Zone::Polygon(
            [
                [0.0, 0.0],
                [0.2, 0.0],
                [0.2, 0.8],
                [1.0, 0.8],
                [1.0, 1.0],
                [0.0, 1.0],
            ]
            .map(|[x, y]| [Fraction(x), Fraction(y)])
            .to_vec(),
        );
        assert!(l_shape.contains(0.1, 0.5));
        assert!(l_shape.contains(0.6, 0.9));
        assert!(!l_shape.contains(0.6, 0.5));
    }

    #[test]
    fn schedules_cooldown_and_stationary_are_read() {
        let text = "[defaults]\ntimezone = \"Europe/Rome\"\nactive = [{ days = [\"mon\", \"Fri\"], from = \"22:00\", to = \"06:30\" }]\ncooldown = \"10m\"\nstationary = { iou = 0.5, window = \"3h\" }\n";
        let rules = Config::parse(text).unwrap().defaults;
        assert_eq!(rules.cooldown, Span::from_secs(600));
        assert_eq!(rules.active[0].from.minutes, 22 * 60);
        assert_eq!(rules.active[0].days.as_ref().map(Vec::len), Some(2));
        assert_eq!(rules.stationary.iou, Fraction(0.5));
        assert_eq!(rules.stationary.window, Span::from_secs(3 * 3600));
        let err = one_error("[defaults]\ncooldown = \"10\"\n");
        assert!(err.message.contains("without a unit"), "{err}");
    }

    #[test]
    fn alert_emails_name_their_recipients_sender_and_relay() {
        let text = "[alerts]\nemail_to = [\"me@home.example\"]\nemail_from = \"Cameras <alerts@cams.example.com>\"\n[alerts.smtp]\nhost = \"smtp.home.example\"\nusername = \"me\"\npassword = \"pw\"\n";
        let alerts = Config::parse(text).unwrap().alerts;
        assert_eq!(alerts.email_to[0].0, "me@home.example");
        assert_eq!(
            alerts.email_from.unwrap().0,
            "Cameras <alerts@cams.example.com>"
        );
        let smtp = alerts.smtp.unwrap();
        assert_eq!((smtp.port, smtp.starttls), (587, true));
        let err = one_error("[alerts]\nemail_to = [\"me at home\"]\n");
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.message.contains("not an e-mail address"), "{err}");
        let err = one_error("[alerts]\nemail_to = [\"me@home.example\"]\n");
        assert_eq!(err.key.as_deref(), Some("alerts.email_from"), "{err}");
    }

    #[test]
    fn serve_and_alerts_tables_are_read() {
        let text = "[alerts]\nfile = \"alerts.jsonl\"\nwebhook = \"https://ntfy.example.com/door\"\n[serve]\nsmtp = \"0.0.0.0:25\"\nusername = \"cam\"\npassword = \"pw\"\n";
        let config = Config::parse(text).unwrap();
        assert_eq!(config.serve.smtp.0.port(), 25);
        assert_eq!(config.serve.http, Serve::default().http);
        assert_eq!(config.alerts.file.as_deref(), Some("alerts.jsonl"));
        assert_eq!(config.serve.keep, Span::from_secs(30 * 24 * 3600));
        let config =
            Config::parse("[serve]\nkeep = \"48h\"\nmax_connections = 8\nmin_free_mib = 0\n")
                .unwrap();
        assert_eq!(config.serve.keep, Span::from_secs(48 * 3600));
        assert_eq!(config.serve.max_connections.0, 8);
        assert_eq!(config.serve.min_free_mib.0, 0);
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
        assert_eq!(ingest.verdicts.dmarc_policy, OnFail::Reject);
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
