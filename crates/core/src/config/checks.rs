//! The checks no single value can make: relations between keys.
//!
//! Every check runs, whatever the others found, so that a file's errors are
//! all reported at once.

use super::locate::Locator;
use super::{
    ActiveWindow, Alerts, Camera, Config, ConfigError, Rules, Serve, WantedLabel, UNKNOWN_CAMERA,
};

impl Config {
    /// Every relation between keys that does not hold, each located;
    /// empty when there is none.
    pub(super) fn check(&self, at: &Locator<'_>) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        check_labels(&self.defaults.labels, "defaults", at, &mut errors);
        check_box_areas(&self.defaults, "defaults", at, &mut errors);
        check_windows(&self.defaults.active, "defaults", at, &mut errors);
        check_serve(&self.serve, at, &mut errors);
        check_alerts(&self.alerts, at, &mut errors);
        for (index, camera) in self.cameras.iter().enumerate() {
            let earlier = &self.cameras[..index];
            check_camera(&self.defaults, camera, index, earlier, at, &mut errors);
        }
        errors
    }
}

/// An error named by the key path `key`, at the line of the first of
/// `places` the file has: the key itself when it is written, else what
/// stands for it (a camera's `name` for a key the camera lacks).
fn error_at(at: &Locator<'_>, key: String, places: &[String], message: String) -> ConfigError {
    ConfigError {
        line: places.iter().find_map(|place| at.line(place)),
        key: Some(key),
        message,
    }
}

fn check_camera(
    defaults: &Rules,
    camera: &Camera,
    index: usize,
    earlier: &[Camera],
    at: &Locator<'_>,
    errors: &mut Vec<ConfigError>,
) {
    let table = format!("cameras[{index}]");
    let mut refuse = |key: &str, message: String| {
        let path = format!("{table}.{key}");
        let places = [path.clone(), format!("{table}.name"), table.clone()];
        errors.push(error_at(at, path, &places, message));
    };
    if camera.name.trim().is_empty() {
        refuse("name", "a camera needs a non-empty name".into());
    }
    if camera.name.eq_ignore_ascii_case(UNKNOWN_CAMERA) {
        refuse(
            "name",
            format!("`{UNKNOWN_CAMERA}` is reserved for e-mails that match no camera: choose another name"),
        );
    }
    if earlier
        .iter()
        .any(|other| other.name.eq_ignore_ascii_case(&camera.name))
    {
        refuse(
            "name",
            format!(
                "camera `{}` is defined twice: names must be unique",
                camera.name
            ),
        );
    }
    if camera.from.is_none() && camera.to.is_none() && camera.subject.is_none() {
        refuse(
            "from",
            format!(
                "camera `{}` has no way to be recognised: set `from`, `to` or `subject`",
                camera.name
            ),
        );
    }
    if let Some(labels) = &camera.labels {
        check_labels(labels, &table, at, errors);
    }
    if let Some(windows) = &camera.active {
        check_windows(windows, &table, at, errors);
    }
    // A camera setting neither area inherits both: should they cross, that
    // is the error of `[defaults]`, reported there once, not per camera.
    if camera.min_box_area.is_some() || camera.max_box_area.is_some() {
        check_box_areas(&camera.rules(defaults), &table, at, errors);
    }
}

/// `min_box_area` above `max_box_area` leaves no box that could count, so
/// nothing would ever alert. `rules` are those of `table`, its own values
/// or those it inherits; the error is at the first of the two it writes,
/// and says which value comes from `[defaults]`.
fn check_box_areas(rules: &Rules, table: &str, at: &Locator<'_>, errors: &mut Vec<ConfigError>) {
    if rules.min_box_area <= rules.max_box_area {
        return;
    }
    let min = format!("{table}.min_box_area");
    let max = format!("{table}.max_box_area");
    let origin = |path: &str| {
        if at.line(path).is_some() || table == "defaults" {
            ""
        } else {
            ", from [defaults]"
        }
    };
    let message = format!(
        "min_box_area ({}{}) is larger than max_box_area ({}{}): no box could ever count; make min_box_area the smaller",
        rules.min_box_area.0,
        origin(&min),
        rules.max_box_area.0,
        origin(&max),
    );
    let key = if at.line(&min).is_some() || at.line(&max).is_none() {
        min.clone()
    } else {
        max.clone()
    };
    let places = [min, max, format!("{table}.name"), table.to_string()];
    errors.push(error_at(at, key, &places, message));
}

/// Each empty label is an error of its own, at its place in the list.
fn check_labels(
    labels: &[WantedLabel],
    table: &str,
    at: &Locator<'_>,
    errors: &mut Vec<ConfigError>,
) {
    for (position, _) in labels
        .iter()
        .enumerate()
        .filter(|(_, wanted)| wanted.label.trim().is_empty())
    {
        let key = format!("{table}.labels[{position}]");
        let places = [key.clone(), format!("{table}.labels")];
        errors.push(error_at(
            at,
            key,
            &places,
            "a label cannot be empty: write a label name such as \"person\" or \"car\"".into(),
        ));
    }
}

/// A window that starts and ends at the same time, or on no day, could
/// never be active: the camera would never alert.
fn check_windows(
    windows: &[ActiveWindow],
    table: &str,
    at: &Locator<'_>,
    errors: &mut Vec<ConfigError>,
) {
    for (position, window) in windows.iter().enumerate() {
        let problem = if window.from == window.to {
            "the window starts and ends at the same time, so it is never active: for the whole day write from = \"00:00\", to = \"24:00\""
        } else if window.days.as_ref().is_some_and(Vec::is_empty) {
            "the window has no day, so it is never active: name its days, or leave `days` out for every day"
        } else {
            continue;
        };
        let key = format!("{table}.active[{position}]");
        let places = [key.clone(), format!("{table}.active")];
        errors.push(error_at(at, key, &places, problem.into()));
    }
}

/// Alert e-mails need a sender; a relay's credentials go in pairs.
fn check_alerts(alerts: &Alerts, at: &Locator<'_>, errors: &mut Vec<ConfigError>) {
    if !alerts.email_to.is_empty() && alerts.email_from.is_none() {
        let key = "alerts.email_from".to_string();
        let places = [key.clone(), "alerts.email_to".into(), "alerts".into()];
        errors.push(error_at(
            at,
            key,
            &places,
            "`email_to` is set but `email_from` is not: name the sender of the alert e-mails, such as \"Cameras <alerts@cams.example.com>\" (on AWS, an address of the domain the stack receives for)".into(),
        ));
    }
    if let Some(smtp) = &alerts.smtp {
        if smtp.username.is_some() != smtp.password.is_some() {
            let given = if smtp.username.is_some() {
                "username"
            } else {
                "password"
            };
            let key = format!("alerts.smtp.{given}");
            let places = [key.clone(), "alerts.smtp".into()];
            errors.push(error_at(
                at,
                key,
                &places,
                "the relay's `username` and `password` go together: set both, or neither".into(),
            ));
        }
    }
}

fn check_serve(serve: &Serve, at: &Locator<'_>, errors: &mut Vec<ConfigError>) {
    if serve.keep.seconds() < 3600 {
        let key = "serve.keep".to_string();
        let places = [key.clone()];
        errors.push(error_at(
            at,
            key,
            &places,
            "`keep` is how long messages stay in the store: at least an hour (\"1h\"), such as \"720h\" for 30 days".into(),
        ));
    }
    let missing = match (&serve.username, &serve.password) {
        (Some(_), None) => Some(("username", "password")),
        (None, Some(_)) => Some(("password", "username")),
        _ => None,
    };
    if let Some((given, absent)) = missing {
        let key = format!("serve.{given}");
        let places = [key.clone()];
        errors.push(error_at(
            at,
            key,
            &places,
            format!(
                "`{given}` is set but `{absent}` is not: set both to require credentials, or neither"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::*;

    #[test]
    fn a_serve_keep_under_an_hour_is_refused() {
        let err = one_error("[serve]\nkeep = \"10m\"\n");
        assert_eq!(err.key.as_deref(), Some("serve.keep"));
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("at least an hour"), "{err}");
    }

    #[test]
    fn camera_without_matcher_is_refused_at_its_line() {
        let text = "[[cameras]]\nname = \"garden\"\nlabels = [\"person\"]\n";
        let err = one_error(text);
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
        let err = one_error(text);
        assert!(err.message.contains("defined twice"), "{err}");
    }

    #[test]
    fn username_without_password_is_refused() {
        let err = one_error("[serve]\nusername = \"cam\"\n");
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
        let err = one_error(LABELS_EVERYWHERE);
        assert_eq!(err.line, Some(12), "{err}");
        assert_eq!(err.key.as_deref(), Some("cameras[1].labels[1]"));
        assert!(err.message.contains("cannot be empty"), "{err}");
    }

    #[test]
    fn every_failing_check_is_reported_in_the_order_of_the_file() {
        let text = "[defaults]\nlabels = [\"person\", \"\"]\n\n[[cameras]]\nname = \"garden\"\n\n[serve]\nusername = \"cam\"\n";
        let errors = Config::parse(text).unwrap_err();
        let found: Vec<_> = errors
            .as_slice()
            .iter()
            .map(|err| (err.line, err.key.as_deref()))
            .collect();
        assert_eq!(
            found,
            vec![
                (Some(2), Some("defaults.labels[1]")),
                (Some(5), Some("cameras[0].from")),
                (Some(8), Some("serve.username")),
            ],
            "{errors}"
        );
        assert_eq!(errors.to_string().lines().count(), 3, "{errors}");
    }

    #[test]
    fn crossed_box_areas_in_defaults_are_refused_there() {
        let err = one_error("[defaults]\nmin_box_area = 0.5\nmax_box_area = 0.2\n");
        assert_eq!(err.line, Some(2), "{err}");
        assert_eq!(err.key.as_deref(), Some("defaults.min_box_area"));
        assert!(err.message.contains("no box could ever count"), "{err}");
    }

    #[test]
    fn crossed_defaults_are_one_error_not_one_per_camera_that_inherits_them() {
        let text = "[defaults]\nmin_box_area = 0.5\nmax_box_area = 0.2\n[[cameras]]\nname = \"a\"\nfrom = \"a@x.example\"\n[[cameras]]\nname = \"b\"\nfrom = \"b@x.example\"\n";
        let err = one_error(text);
        assert_eq!(err.key.as_deref(), Some("defaults.min_box_area"));
    }

    #[test]
    fn camera_whose_own_area_crosses_an_inherited_one_is_refused_at_its_key() {
        let text = "[defaults]\nmax_box_area = 0.3\n\n[[cameras]]\nname = \"a\"\nfrom = \"a@x.example\"\nmin_box_area = 0.4\n";
        let err = one_error(text);
        assert_eq!(err.line, Some(7), "{err}");
        assert_eq!(err.key.as_deref(), Some("cameras[0].min_box_area"));
        assert!(err.message.contains("0.3, from [defaults]"), "{err}");
    }

    #[test]
    fn a_window_that_is_never_active_is_refused_at_its_place() {
        let text = "[[cameras]]\nname = \"a\"\nfrom = \"a@x.example\"\nactive = [\n  { from = \"22:00\", to = \"06:00\" },\n  { from = \"08:00\", to = \"08:00\" },\n]\n";
        let err = one_error(text);
        assert_eq!(err.line, Some(6), "{err}");
        assert_eq!(err.key.as_deref(), Some("cameras[0].active[1]"));
        assert!(err.message.contains("never active"), "{err}");
        let err =
            one_error("[defaults]\nactive = [{ days = [], from = \"08:00\", to = \"09:00\" }]\n");
        assert!(err.message.contains("has no day"), "{err}");
    }
}
