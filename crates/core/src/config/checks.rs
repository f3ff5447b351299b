//! The checks no single value can make: relations between keys.

use super::locate::Locator;
use super::{Config, ConfigError, Serve, UNKNOWN_CAMERA};

impl Config {
    /// Checks what a single value cannot: relations between keys.
    pub(super) fn check(&self, at: &Locator<'_>) -> Result<(), ConfigError> {
        check_rules(&self.defaults.labels, "defaults", at)?;
        check_serve(&self.serve, at)?;
        let mut seen: Vec<&str> = Vec::new();
        for (index, camera) in self.cameras.iter().enumerate() {
            let camera_at = |key: &str, message: String| ConfigError {
                line: at
                    .line(&format!("cameras[{index}].{key}"))
                    .or_else(|| at.line(&format!("cameras[{index}].name")))
                    .or_else(|| at.line(&format!("cameras[{index}]"))),
                key: Some(format!("cameras[{index}].{key}")),
                message,
            };
            if camera.name.trim().is_empty() {
                return Err(camera_at("name", "a camera needs a non-empty name".into()));
            }
            if camera.name.eq_ignore_ascii_case(UNKNOWN_CAMERA) {
                return Err(camera_at(
                    "name",
                    format!("`{UNKNOWN_CAMERA}` is reserved for e-mails that match no camera: choose another name"),
                ));
            }
            if seen
                .iter()
                .any(|name| name.eq_ignore_ascii_case(&camera.name))
            {
                return Err(camera_at(
                    "name",
                    format!(
                        "camera `{}` is defined twice: names must be unique",
                        camera.name
                    ),
                ));
            }
            seen.push(&camera.name);
            if camera.from.is_none() && camera.to.is_none() && camera.subject.is_none() {
                return Err(camera_at(
                    "from",
                    format!(
                        "camera `{}` has no way to be recognised: set `from`, `to` or `subject`",
                        camera.name
                    ),
                ));
            }
            if let Some(labels) = &camera.labels {
                check_rules(labels, &format!("cameras[{index}]"), at)?;
            }
            let rules = self.rules_for(&camera.name);
            if rules.min_box_area > rules.max_box_area {
                return Err(camera_at(
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
}

fn check_rules(labels: &[String], table: &str, at: &Locator<'_>) -> Result<(), ConfigError> {
    if let Some(position) = labels.iter().position(|l| l.trim().is_empty()) {
        let key = format!("{table}.labels[{position}]");
        return Err(ConfigError {
            line: at.line(&key),
            key: Some(key),
            message: "a label cannot be empty: write a label name such as \"person\" or \"car\""
                .into(),
        });
    }
    Ok(())
}

fn check_serve(serve: &Serve, at: &Locator<'_>) -> Result<(), ConfigError> {
    let missing = match (&serve.username, &serve.password) {
        (Some(_), None) => Some(("username", "password")),
        (None, Some(_)) => Some(("password", "username")),
        _ => None,
    };
    if let Some((given, absent)) = missing {
        let key = format!("serve.{given}");
        return Err(ConfigError {
            line: at.line(&key),
            key: Some(key),
            message: format!(
                "`{given}` is set but `{absent}` is not: set both to require credentials, or neither"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::*;

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
    fn username_without_password_is_refused() {
        let err = Config::parse("[serve]\nusername = \"cam\"\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("serve.username"));
        assert!(err.message.contains("set both"), "{err}");
    }

    /// Three cameras each with `labels`: the text's first `labels =` is in
    /// `[defaults]`, so a search of the text would point there.
    const LABELS_EVERYWHERE: &str = r#"[defaults]
labels = ["person", "car"]

[[cameras]]
name = "frontdoor"
from = "frontdoor@cams.example.com"
labels = ["person"]

[[cameras]]
name = "drive"
to = "drive@cams.example.com"
labels = ["person", ""]
"#;

    #[test]
    fn empty_label_of_the_second_camera_is_reported_at_that_camera() {
        let err = Config::parse(LABELS_EVERYWHERE).unwrap_err();
        assert_eq!(err.line, Some(12), "{err}");
        assert_eq!(err.key.as_deref(), Some("cameras[1].labels[1]"));
        assert!(err.message.contains("cannot be empty"), "{err}");
    }
}
