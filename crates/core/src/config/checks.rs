//! The checks no single value can make: relations between keys.
//!
//! Every check runs, whatever the others found, so that a file's errors are
//! all reported at once.

use super::locate::Locator;
use super::{
    bare_address, ActiveWindow, Alerts, Camera, Config, ConfigError, Rules, SenderPattern, Serve,
    WantedLabel, UNKNOWN_CAMERA,
};

impl Config {
    /// Every relation between keys that does not hold, each located;
    /// empty when there is none. `mail_domains` are the domains the
    /// cameras' mail is received for, besides those of the cameras' `to`.
    pub(super) fn check(&self, at: &Locator<'_>, mail_domains: &[&str]) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        check_labels(&self.defaults.labels, "defaults", at, &mut errors);
        check_box_areas(&self.defaults, "defaults", at, &mut errors);
        check_windows(&self.defaults.active, "defaults", at, &mut errors);
        check_serve(&self.serve, at, &mut errors);
        check_alerts(&self.alerts, at, &mut errors);
        check_receiving_domains(self, mail_domains, at, &mut errors);
        check_secret_addresses(self, at, &mut errors);
        for (index, camera) in self.cameras.iter().enumerate() {
            let earlier = &self.cameras[..index];
            let has_secret = self
                .ingest
                .secret_addresses
                .keys()
                .any(|name| name.eq_ignore_ascii_case(&camera.name));
            check_camera(
                &self.defaults,
                camera,
                has_secret,
                index,
                earlier,
                at,
                &mut errors,
            );
        }
        errors
    }
}

impl Config {
    /// True when no sender and no secret address is named:
    /// `[ingest] allowed_senders` and `[ingest.secret_addresses]` are empty
    /// and no camera has a `from` (an open door, see [`super::Ingest`]).
    pub fn names_no_sender(&self) -> bool {
        self.ingest.allowed_senders.is_empty()
            && self.ingest.secret_addresses.is_empty()
            && self.cameras.iter().all(|camera| camera.from.is_none())
    }

    /// What is allowed but probably not meant, one sentence each: what
    /// `ipcam config check` warns about (the file is still sound).
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.names_no_sender() {
            warnings.push(if self.ingest.allow_any_sender {
                "the door is open: no sender is named and `[ingest] allow_any_sender = true`, so on AWS anyone who finds the inbound address can make the stack spend money (each picture analysed is billed)".to_string()
            } else {
                "the door is open: no sender and no secret address is named (`[ingest] allowed_senders` and `[ingest.secret_addresses]` are empty and no camera has a `from`); on AWS every message is refused until `make deploy` gives the cameras their secret addresses, you name the cameras' senders, or you write `[ingest] allow_any_sender = true`, while `ipcam process` and `ipcam serve` let everyone in".to_string()
            });
        } else if self.ingest.allow_any_sender {
            warnings.push("`[ingest] allow_any_sender = true` changes nothing: senders are named, and only they are let in".to_string());
        }
        let (daily, monthly) = (self.detector.daily_cap.0, self.detector.monthly_cap.0);
        if daily > monthly {
            warnings.push(format!(
                "`[detector] daily_cap` ({daily}) is above `monthly_cap` ({monthly}): the monthly cap is met first, so the daily one never applies"
            ));
        }
        warnings
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
    has_secret: bool,
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
    if camera.from.is_none() && camera.to.is_none() && camera.subject.is_none() && !has_secret {
        refuse(
            "from",
            format!(
                "camera `{}` has no way to be recognised: set `from`, `to` or `subject`, or give it a secret address in `[ingest.secret_addresses]`",
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

/// The domains the cameras write to, lower-cased: each given, and that of
/// every camera's `to`, with where each is known from.
fn receiving_domains(config: &Config, given: &[&str]) -> Vec<(String, String)> {
    let mut domains: Vec<(String, String)> = given
        .iter()
        .map(|domain| {
            let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
            let why = format!("the domain the stack receives the cameras' mail for is {domain}");
            (domain, why)
        })
        .collect();
    for (camera, secret) in &config.ingest.secret_addresses {
        let host = secret.domain();
        if !domains.iter().any(|(known, _)| *known == host) {
            let why = format!(
                "the cameras write to {host} (camera `{camera}`'s secret address is of it)"
            );
            domains.push((host, why));
        }
    }
    for camera in &config.cameras {
        let Some(to) = camera.to.as_deref() else {
            continue;
        };
        if let Some((_, host)) = bare_address(to).rsplit_once('@') {
            let host = host.to_ascii_lowercase();
            if !domains.iter().any(|(known, _)| *known == host) {
                let why = format!(
                    "the cameras write to {host} (camera `{}` writes to {to})",
                    camera.name
                );
                domains.push((host, why));
            }
        }
    }
    domains.retain(|(domain, _)| !domain.is_empty());
    domains
}

/// A sender of the domain the cameras write to vouches for no one: anyone
/// on the Internet can write to that domain with `From:` any address of
/// it, so an allow-list entry (or a camera's `from`) naming it lets every
/// stranger in. Each such entry is an error at its key.
fn check_receiving_domains(
    config: &Config,
    given: &[&str],
    at: &Locator<'_>,
    errors: &mut Vec<ConfigError>,
) {
    let domains = receiving_domains(config, given);
    if domains.is_empty() {
        return;
    }
    let receiving = |host: &str| {
        domains
            .iter()
            .find(|(domain, _)| domain.eq_ignore_ascii_case(host))
            .map(|(_, why)| why.as_str())
    };
    let advice = "anyone can send mail to that domain with any `From:` address of it, so it vouches for no one; name the address the camera really sends from (its own, or that of its ISP or webmail account), and keep the address it writes to unguessable";
    for (position, entry) in config.ingest.allowed_senders.iter().enumerate() {
        let (named, host) = match entry {
            SenderPattern::Domain(domain) => (format!("@{domain}"), domain.as_str()),
            SenderPattern::Address(address) => (
                address.clone(),
                address.rsplit_once('@').map_or("", |(_, host)| host),
            ),
        };
        if let Some(why) = receiving(host) {
            let key = format!("ingest.allowed_senders[{position}]");
            let places = [
                key.clone(),
                "ingest.allowed_senders".into(),
                "ingest".into(),
            ];
            errors.push(error_at(
                at,
                key,
                &places,
                format!("`{named}` cannot be an allowed sender: {why}, and {advice}"),
            ));
        }
    }
    for (index, camera) in config.cameras.iter().enumerate() {
        let Some(from) = camera.from.as_deref() else {
            continue;
        };
        let address = bare_address(from);
        let host = address.rsplit_once('@').map_or("", |(_, host)| host);
        if let Some(why) = receiving(host) {
            let key = format!("cameras[{index}].from");
            let places = [key.clone(), format!("cameras[{index}].name")];
            errors.push(error_at(
                at,
                key,
                &places,
                format!(
                    "camera `{}` cannot be recognised by the sender {address}: {why}, and {advice}",
                    camera.name
                ),
            ));
        }
    }
}

/// Each secret address belongs to a camera of the file, and to one only:
/// mail to it is let in as that camera's.
fn check_secret_addresses(config: &Config, at: &Locator<'_>, errors: &mut Vec<ConfigError>) {
    let secrets: Vec<_> = config.ingest.secret_addresses.iter().collect();
    for (position, (name, secret)) in secrets.iter().enumerate() {
        let key = format!("ingest.secret_addresses.{name}");
        let places = [
            key.clone(),
            "ingest.secret_addresses".into(),
            "ingest".into(),
        ];
        if !config
            .cameras
            .iter()
            .any(|camera| camera.name.eq_ignore_ascii_case(name))
        {
            errors.push(error_at(
                at,
                key.clone(),
                &places,
                format!("no camera is named `{name}`: each secret address is written under the name of the camera that writes to it"),
            ));
        }
        if let Some((other, _)) = secrets[..position]
            .iter()
            .find(|(_, earlier)| earlier.is(&secret.0))
        {
            errors.push(error_at(
                at,
                key,
                &places,
                format!("`{name}` has the secret address of `{other}`: each camera needs its own, so that its mail is known as its"),
            ));
        }
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

    /// The cameras write to `cams.example.com` (the drive's `to`).
    const WRITING_TO_CAMS: &str =
        "[[cameras]]\nname = \"drive\"\nto = \"drive@cams.example.com\"\n";

    #[test]
    fn the_receiving_domain_is_refused_as_an_allowed_sender_and_says_why() {
        for entry in [
            "@cams.example.com",
            "@CAMS.example.com",
            "porch@cams.example.com",
        ] {
            let text = format!("{WRITING_TO_CAMS}\n[ingest]\nallowed_senders = [\"@isp.example.net\", \"{entry}\"]\n");
            let err = one_error(&text);
            assert_eq!(err.line, Some(6), "{err}");
            assert_eq!(
                err.key.as_deref(),
                Some("ingest.allowed_senders[1]"),
                "{err}"
            );
            assert!(err.message.contains("the cameras write to"), "{err}");
            assert!(err.message.contains("anyone"), "{err}");
        }
    }

    #[test]
    fn a_camera_sender_of_the_receiving_domain_is_refused_at_its_from() {
        let text = format!("{WRITING_TO_CAMS}\n[[cameras]]\nname = \"frontdoor\"\nfrom = \"Front <frontdoor@cams.example.com>\"\n");
        let err = one_error(&text);
        assert_eq!(err.line, Some(7), "{err}");
        assert_eq!(err.key.as_deref(), Some("cameras[1].from"), "{err}");
        assert!(err.message.contains("cams.example.com"), "{err}");
    }

    #[test]
    fn the_stacks_domain_counts_as_receiving_when_it_is_known() {
        let text = "[ingest]\nallowed_senders = [\"@cams.example.com\"]\n";
        assert!(Config::parse(text).is_ok());
        let errors = Config::parse_receiving_for(text, &["Cams.Example.com"]).unwrap_err();
        let [error] = errors.as_slice() else {
            panic!("one error expected: {errors}");
        };
        assert_eq!(error.key.as_deref(), Some("ingest.allowed_senders[0]"));
        assert!(Config::parse_receiving_for(text, &["other.example.com"]).is_ok());
    }

    #[test]
    fn senders_of_other_domains_are_let_be() {
        let text = format!("{WRITING_TO_CAMS}\n[ingest]\nallowed_senders = [\"@isp.example.net\", \"cam@sub.cams.example.com\"]\n");
        assert!(Config::parse(&text).is_ok());
    }

    const SECRET: &str = "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com";

    #[test]
    fn a_camera_with_a_secret_address_needs_no_other_matcher() {
        let text = format!(
            "[ingest.secret_addresses]\nfrontdoor = \"{SECRET}\"\n\n[[cameras]]\nname = \"frontdoor\"\n"
        );
        let config = Config::parse(&text).unwrap_or_else(|errors| panic!("{errors}"));
        assert!(!config.names_no_sender());
        assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    }

    #[test]
    fn a_guessable_secret_address_is_refused_at_its_key() {
        for guessable in [
            "frontdoor@cams.example.com",
            "frontdoor-1234@cams.example.com",
            "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3y_@cams.example.com",
            "Front <frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com>",
        ] {
            let text = format!("[[cameras]]\nname = \"frontdoor\"\nto = \"x@y.example\"\n\n[ingest.secret_addresses]\nfrontdoor = \"{guessable}\"\n");
            let err = one_error(&text);
            assert_eq!(err.line, Some(6), "{guessable}: {err}");
            assert!(
                err.message.contains("not secret") || err.message.contains("not a bare"),
                "{guessable}: {err}"
            );
        }
    }

    #[test]
    fn a_secret_address_names_one_camera_of_the_file_and_is_its_own() {
        let text = format!("[[cameras]]\nname = \"frontdoor\"\nto = \"x@y.example\"\n\n[ingest.secret_addresses]\nfrontdor = \"{SECRET}\"\n");
        let err = one_error(&text);
        assert_eq!(err.key.as_deref(), Some("ingest.secret_addresses.frontdor"));
        assert_eq!(err.line, Some(6), "{err}");
        assert!(err.message.contains("no camera is named"), "{err}");

        let text = format!("[[cameras]]\nname = \"a\"\n[[cameras]]\nname = \"b\"\n[ingest.secret_addresses]\na = \"{SECRET}\"\nb = \"{}\"\n", SECRET.to_uppercase());
        let err = one_error(&text);
        assert_eq!(err.key.as_deref(), Some("ingest.secret_addresses.b"));
        assert!(err.message.contains("secret address of `a`"), "{err}");
    }

    #[test]
    fn the_domain_of_a_secret_address_is_a_receiving_one() {
        let text = format!("[ingest]\nallowed_senders = [\"@cams.example.com\"]\n[ingest.secret_addresses]\nfrontdoor = \"{SECRET}\"\n[[cameras]]\nname = \"frontdoor\"\n");
        let err = one_error(&text);
        assert_eq!(err.key.as_deref(), Some("ingest.allowed_senders[0]"));
        assert!(err.message.contains("secret address"), "{err}");
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
from = "frontdoor@home-isp.example.net"
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

    #[test]
    fn a_daily_cap_above_the_monthly_one_is_warned_about_and_caps_out_of_range_are_refused() {
        let text = "[ingest]\nallowed_senders = [\"cam@isp.example.net\"]\n[detector]\ndaily_cap = 900\nmonthly_cap = 500\n";
        let config = Config::parse(text).unwrap_or_else(|errors| panic!("{errors}"));
        assert_eq!(config.warnings().len(), 1, "{:?}", config.warnings());
        assert!(
            config.warnings()[0].contains("never applies"),
            "{:?}",
            config.warnings()
        );
        let err = one_error("[detector]\ndaily_cap = 0\n");
        assert_eq!(
            (err.line, err.key.as_deref()),
            (Some(2), Some("daily_cap")),
            "{err}"
        );
        assert!(err.message.contains("from 1 to"), "{err}");
    }
}
