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
    /// Largest e-mail read, in megabytes (SES delivers up to 40 MB).
    pub max_message_mb: Bounded<1, 100>,
}

impl Default for ExtractSettings {
    /// Ten frames, twice Full HD, 40 MB.
    fn default() -> Self {
        ExtractSettings {
            max_frames: Bounded(10),
            max_pixels: Bounded(1920 * 1080 * 2),
            max_message_mb: Bounded(40),
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

/// Turns a TOML error into one that names the line and the key.
fn locate(text: &str, err: &toml::de::Error) -> ConfigError {
    let line = err
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let key = line.and_then(|line| {
        let source = text.lines().nth(line - 1)?;
        let (key, _) = source.split_once('=')?;
        let key = key.trim();
        (!key.is_empty()).then(|| key.to_string())
    });
    ConfigError {
        line,
        key,
        message: err.message().trim().to_string(),
    }
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
    fn wrong_type_names_the_key() {
        let text = "[defaults]\nlabels = \"person\"\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("labels"));
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
