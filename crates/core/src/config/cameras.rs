//! Which camera an e-mail belongs to, and the rules it is judged by.

use super::{Camera, Config, DetectorKind, Rules, UNKNOWN_CAMERA};

impl Config {
    /// Who looks at a camera's frames: its own `detector`, else
    /// `[detector] kind`.
    pub fn detector_for(&self, camera: &str) -> DetectorKind {
        self.cameras
            .iter()
            .find(|c| c.name == camera)
            .and_then(|c| c.detector)
            .unwrap_or(self.detector.kind)
    }

    /// Whether any camera's frames are shown to the embedded model: the
    /// Lambda loads it only then.
    pub fn uses_embedded_model(&self) -> bool {
        self.uses_detector(DetectorKind::Embedded) || self.uses_detector(DetectorKind::Gated)
    }

    /// Whether `kind` looks at any camera's frames: `[detector] kind` (the
    /// e-mails of cameras without their own) or a camera's `detector`.
    pub fn uses_detector(&self, kind: DetectorKind) -> bool {
        std::iter::once(self.detector.kind)
            .chain(self.cameras.iter().filter_map(|camera| camera.detector))
            .any(|used| used == kind)
    }

    /// The cameras whose frames are gated but that want a label a gate
    /// knowing `vocabulary` cannot rule out, each with that label: every
    /// frame of theirs goes to Rekognition as if there were no gate.
    /// `[defaults]` stands for the e-mails of no camera.
    pub fn ungateable(&self, vocabulary: &[&str]) -> Vec<(String, String)> {
        let named = self.cameras.iter().map(|camera| {
            (
                camera.name.as_str(),
                camera.rules(&self.defaults),
                self.detector_for(&camera.name),
            )
        });
        std::iter::once(("[defaults]", self.defaults.clone(), self.detector.kind))
            .chain(named)
            .filter(|(_, _, kind)| *kind == DetectorKind::Gated)
            .filter_map(|(name, rules, _)| {
                crate::rules::label_outside(&rules, vocabulary)
                    .map(|label| (name.to_string(), label.to_string()))
            })
            .collect()
    }

    /// The complete rules of a camera: its overrides on top of `[defaults]`.
    /// An unknown camera name gets the defaults.
    pub fn rules_for(&self, camera: &str) -> Rules {
        match self.cameras.iter().find(|c| c.name == camera) {
            Some(camera) => camera.rules(&self.defaults),
            None => self.defaults.clone(),
        }
    }

    /// The camera whose secret address (`[ingest.secret_addresses]`) is
    /// one of `recipients`, by its name in `[[cameras]]`.
    pub fn camera_of_secret_address(&self, recipients: &[String]) -> Option<&str> {
        let (name, _) = self
            .ingest
            .secret_addresses
            .iter()
            .find(|(_, secret)| recipients.iter().any(|got| secret.is(got)))?;
        Some(
            self.cameras
                .iter()
                .find(|camera| camera.name.eq_ignore_ascii_case(name))
                .map_or(name.as_str(), |camera| camera.name.as_str()),
        )
    }

    /// The camera an e-mail comes from: the camera whose secret address it
    /// was sent to, else the first camera whose `from`, `to` or `subject`
    /// matches, else [`UNKNOWN_CAMERA`].
    pub fn identify_camera(
        &self,
        from: Option<&str>,
        to: &[String],
        subject: Option<&str>,
    ) -> &str {
        if let Some(camera) = self.camera_of_secret_address(to) {
            return camera;
        }
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

impl Camera {
    /// The rules this camera is judged by: each rule it sets, and
    /// `defaults` for the others.
    pub(crate) fn rules(&self, defaults: &Rules) -> Rules {
        let mut rules = defaults.clone();
        if let Some(labels) = &self.labels {
            rules.labels = labels.clone();
        }
        if let Some(value) = self.min_confidence {
            rules.min_confidence = value;
        }
        if let Some(value) = self.min_box_area {
            rules.min_box_area = value;
        }
        if let Some(value) = self.max_box_area {
            rules.max_box_area = value;
        }
        if let Some(zones) = &self.ignore_zones {
            rules.ignore_zones = zones.clone();
        }
        if let Some(zones) = &self.required_zones {
            rules.required_zones = zones.clone();
        }
        if let Some(zone) = self.timezone {
            rules.timezone = zone;
        }
        if let Some(windows) = &self.active {
            rules.active = windows.clone();
        }
        if let Some(cooldown) = self.cooldown {
            rules.cooldown = cooldown;
        }
        if let Some(stationary) = self.stationary {
            rules.stationary = stationary;
        }
        rules
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

#[cfg(test)]
mod tests {
    use crate::config::*;

    const FRONT_AND_DRIVE: &str = r#"
[defaults]
labels = ["person", "car"]
min_confidence = 70

[[cameras]]
name = "frontdoor"
from = "frontdoor@isp-mail.example.net"
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
        assert_eq!(front.labels, vec![WantedLabel::named("person")]);
        assert_eq!(front.min_confidence, Percent(70.0));
        let drive = config.rules_for("drive");
        assert_eq!(
            drive.labels,
            vec![WantedLabel::named("person"), WantedLabel::named("car")]
        );
        assert_eq!(drive.min_confidence, Percent(85.0));
    }

    #[test]
    fn cameras_are_recognised_by_sender_recipient_or_subject() {
        let config = Config::parse(FRONT_AND_DRIVE).unwrap();
        assert_eq!(
            config.identify_camera(
                Some("Front Door <FrontDoor@ISP-mail.example.net>"),
                &[],
                None
            ),
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
    fn a_camera_is_recognised_first_by_its_secret_address() {
        let text = format!(
            "{FRONT_AND_DRIVE}\n[ingest.secret_addresses]\nGarden = \"garden-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com\"\n\n[[cameras]]\nname = \"garden\"\n"
        );
        let config = Config::parse(&text).unwrap_or_else(|errors| panic!("{errors}"));
        let secret = "Garden-K7Q2M4X9C3V8B5N6Z2W4R7T3YD@cams.example.com".to_string();
        assert_eq!(
            config.identify_camera(
                Some("frontdoor@isp-mail.example.net"),
                &["drive@cams.example.com".into(), secret],
                None
            ),
            "garden",
            "the secret address outweighs the sender and another camera's `to`"
        );
        assert_eq!(
            config.identify_camera(None, &["garden@cams.example.com".into()], None),
            UNKNOWN_CAMERA
        );
    }
}
