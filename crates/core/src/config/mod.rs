//! The one configuration file, shared by the Lambdas and the local runner.
//!
//! It is parsed strictly (an unknown key is an error, not a silent default),
//! values are checked as they are read, and every error names the line, the
//! key and what would be valid, so that `ipcam config check` tells a user
//! exactly what to fix. Past what stops the reading (bad syntax, a wrong
//! type, an unknown key), every check runs and all errors are returned, so
//! one run lists every fix.
//!
//! - `tables`: the tables and what a missing key means;
//! - `values`: the newtypes that refuse what they cannot hold;
//! - `checks`: the relations between keys;
//! - `locate`: the line and key of an error, from the parser's spans;
//! - `cameras`: which camera an e-mail is from, and its rules.

use std::path::Path;

use serde::{Deserialize, Serialize};

mod cameras;
mod checks;
mod deployable;
mod errors;
mod locate;
mod tables;
mod values;

use locate::Locator;

pub use cameras::bare_address;
pub use deployable::kept_secret_addresses;
pub use errors::{ConfigError, ConfigErrors, LoadError};
pub use tables::{
    ActiveWindow, Alerts, Camera, DetectorKind, DetectorSettings, ExtractSettings, Ingest, OnFail,
    Rules, Serve, SmtpRelay, Stationary, Verdicts, WantedLabel, Zone,
};
pub use values::{
    Bounded, ClockTime, Day, Fraction, ListenAddress, MailAddress, MessageBytes, Percent,
    SecretAddress, SenderPattern, Span, TimeZone, WebUrl,
};

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
    /// What looks at the frames on AWS: Rekognition, the embedded model, or
    /// the embedded model as a gate in front of Rekognition.
    #[serde(default)]
    pub detector: DetectorSettings,
    /// Who may send e-mail in, and what the mail service's checks decide.
    #[serde(default)]
    pub ingest: Ingest,
    /// Where alerts go besides SNS or the terminal: e-mail, and locally a
    /// file and a webhook.
    #[serde(default)]
    pub alerts: Alerts,
    /// How `ipcam serve` listens; the Lambdas ignore it.
    #[serde(default)]
    pub serve: Serve,
}

impl Config {
    /// Parses and checks a configuration file's text: every error it has,
    /// each at its line and key.
    pub fn parse(text: &str) -> Result<Config, ConfigErrors> {
        Config::parse_receiving_for(text, &[])
    }

    /// Like [`Config::parse`], knowing besides that the cameras' mail is
    /// received for `mail_domains` (on AWS, the stack's domain): no sender
    /// of those domains may be trusted.
    pub fn parse_receiving_for(text: &str, mail_domains: &[&str]) -> Result<Config, ConfigErrors> {
        let (root, syntax) = toml::de::DeTable::parse_recoverable(text);
        let at = Locator::new(text, root.get_ref());
        // After a syntax error the parser's recovery guesses, and what it
        // reports next may be an echo of the first: only the first is sure.
        if let Some(err) = syntax.first() {
            return Err(at.parser_error(err).into());
        }
        let config = Config::deserialize(toml::de::Deserializer::from(root))
            .map_err(|err| at.parser_error(&err))?;
        let mut errors = config.check(&at, mail_domains);
        // In the order of the file, which is how a user goes through them.
        errors.sort_by_key(|error| error.line.unwrap_or(usize::MAX));
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Reads, parses and checks a configuration file; each line of an
    /// error starts with the file's path.
    pub fn load(path: &Path) -> Result<Config, LoadError> {
        Config::load_receiving_for(path, &[])
    }

    /// [`Config::load`], knowing the domains the cameras' mail is received
    /// for (see [`Config::parse_receiving_for`]).
    pub fn load_receiving_for(path: &Path, mail_domains: &[&str]) -> Result<Config, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|error| LoadError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Config::parse_receiving_for(&text, mail_domains).map_err(|errors| LoadError::Invalid {
            path: path.to_path_buf(),
            errors,
        })
    }
}

/// The one error `text` has; a test fails when it has none or several.
#[cfg(test)]
pub(crate) fn one_error(text: &str) -> ConfigError {
    match Config::parse(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(errors) => match errors.as_slice() {
            [error] => error.clone(),
            several => panic!("{} errors, not one: {errors}", several.len()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file users copy: it must be one `config check` accepts.
    const EXAMPLE: &str = include_str!("../../../../examples/ipcam.toml");
    /// The file `make demo` runs the samples with.
    const SAMPLES: &str = include_str!("../../../../samples/ipcam.toml");

    #[test]
    fn the_example_file_parses_with_the_rules_it_describes() {
        let config = Config::parse(EXAMPLE).unwrap_or_else(|errors| panic!("{errors}"));
        let names: Vec<_> = config.cameras.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["frontdoor", "drive", "garden"]);
        assert_eq!(config.rules_for("frontdoor").ignore_zones.len(), 2);
        assert_eq!(config.rules_for("garden").min_box_area, Fraction(0.0005));
        assert_eq!(config.rules_for("garden").active.len(), 2);
        assert_eq!(config.rules_for("drive").required_zones.len(), 1);
        assert_eq!(config.rules_for("frontdoor").labels.len(), 2);
        assert_eq!(config.rules_for("drive").cooldown, Span::from_secs(120));
        assert_eq!(config.alerts.email_to.len(), 1);
        assert_eq!(config.alerts.smtp.map(|smtp| smtp.port), Some(587));
        assert_eq!(config.serve.username.as_deref(), Some("camera"));
    }

    #[test]
    fn the_samples_file_parses() {
        let config = Config::parse(SAMPLES).unwrap_or_else(|errors| panic!("{errors}"));
        let cameras: Vec<&str> = config.cameras.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(cameras, ["frontdoor", "garden", "drive"]);
    }

    #[test]
    fn a_file_that_cannot_be_read_names_its_path() {
        let missing = Path::new("/nonexistent/ipcam.toml");
        let err = Config::load(missing).unwrap_err();
        assert!(matches!(err, LoadError::Read { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("/nonexistent/ipcam.toml: cannot read"),
            "{err}"
        );
    }
}
