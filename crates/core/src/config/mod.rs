//! The one configuration file, shared by the Lambdas and the local runner.
//!
//! It is parsed strictly (an unknown key is an error, not a silent default),
//! values are checked as they are read, and every error names the line, the
//! key and what would be valid, so that `ipcam config check` tells a user
//! exactly what to fix.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

mod cameras;
mod checks;
mod locate;
mod tables;
mod values;

use locate::Locator;

pub use cameras::bare_address;
pub use tables::{
    Camera, ExtractSettings, Ingest, LocalAlerts, OnFail, Rules, Serve, Verdicts, Zone,
};
pub use values::{Bounded, Fraction, ListenAddress, MessageBytes, Percent, SenderPattern, WebUrl};

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
        let (root, syntax) = toml::de::DeTable::parse_recoverable(text);
        let at = Locator::new(text, root.get_ref());
        if let Some(err) = syntax.first() {
            return Err(at.parser_error(err));
        }
        let config = Config::deserialize(toml::de::Deserializer::from(root))
            .map_err(|err| at.parser_error(&err))?;
        config.check(&at)?;
        Ok(config)
    }

    /// Reads, parses and checks a configuration file; errors start with the
    /// file's path.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("{}: cannot read: {err}", path.display()))?;
        Config::parse(&text).map_err(|err| format!("{}: {err}", path.display()))
    }
}
