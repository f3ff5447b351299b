//! The configuration as `make deploy` uploads it for the Lambdas: the
//! owner's file, checked against the stack's domain, with the cameras'
//! secret addresses that `make deploy` generated and keeps, and without
//! what only `ipcam serve` uses (`[serve]`, whose password the functions
//! have no business holding).

use std::collections::BTreeMap;

use super::{Config, ConfigError, ConfigErrors, SecretAddress, Serve};

impl Config {
    /// The text to upload for the stack receiving mail for `mail_domain`:
    /// `text` checked as `ipcam config check --mail-domain` checks it, each
    /// camera given its secret address from `generated` (camera name →
    /// address) unless the file writes its own, and `[serve]` left out.
    /// The result is read back before it is returned, so that what is
    /// uploaded is a file the functions accept and means the same.
    pub fn deployable(
        text: &str,
        mail_domain: &str,
        generated: &BTreeMap<String, String>,
    ) -> Result<String, ConfigErrors> {
        let mut config = Config::parse_receiving_for(text, &[mail_domain])?;
        let mut refused = Vec::new();
        for camera in &config.cameras {
            let written = config
                .ingest
                .secret_addresses
                .keys()
                .any(|name| name.eq_ignore_ascii_case(&camera.name));
            if written {
                continue;
            }
            let Some(address) = generated.get(&camera.name) else {
                continue;
            };
            match SecretAddress::try_from(address.clone()) {
                Ok(secret) => {
                    config
                        .ingest
                        .secret_addresses
                        .insert(camera.name.clone(), secret);
                }
                Err(message) => refused.push(ConfigError {
                    line: None,
                    key: Some(format!("ingest.secret_addresses.{}", camera.name)),
                    message,
                }),
            }
        }
        let domain = mail_domain.trim().to_ascii_lowercase();
        for (name, secret) in &config.ingest.secret_addresses {
            if secret.domain() != domain {
                refused.push(ConfigError {
                    line: None,
                    key: Some(format!("ingest.secret_addresses.{name}")),
                    message: format!(
                        "{} is not an address of {domain}, the domain the stack receives mail for: no mail would reach it",
                        secret.0
                    ),
                });
            }
        }
        if !refused.is_empty() {
            return Err(ConfigErrors(refused));
        }
        config.serve = Serve::default();
        let unwritable = |err: &dyn std::fmt::Display| {
            ConfigErrors(vec![ConfigError {
                line: None,
                key: None,
                message: format!("the configuration cannot be written back: {err}"),
            }])
        };
        let mut table = toml::Table::try_from(&config).map_err(|err| unwritable(&err))?;
        table.remove("serve");
        let uploaded = toml::to_string(&table).map_err(|err| {
            ConfigErrors(vec![ConfigError {
                line: None,
                key: None,
                message: format!("the configuration cannot be written back: {err}"),
            }])
        })?;
        let read_back = Config::parse_receiving_for(&uploaded, &[mail_domain])?;
        if read_back != config {
            return Err(ConfigErrors(vec![ConfigError {
                line: None,
                key: None,
                message: "the configuration written for upload does not read back as itself: this is a bug of ipcam".into(),
            }]));
        }
        Ok(format!(
            "# Written by `make deploy` for the stack's functions from the owner's\n# configuration, with the cameras' secret addresses, and without the table\n# of the local server.\n{uploaded}"
        ))
    }
}

/// The secret addresses `make deploy` keeps (`infra/deploy_settings.py`
/// writes them): a TOML file whose `[secret_addresses]` table maps each
/// camera's name to its address.
pub fn kept_secret_addresses(text: &str) -> Result<BTreeMap<String, String>, String> {
    #[derive(serde::Deserialize)]
    struct Kept {
        #[serde(default)]
        secret_addresses: BTreeMap<String, String>,
    }
    toml::from_str::<Kept>(text)
        .map(|kept| kept.secret_addresses)
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../../examples/ipcam.toml");

    fn generated(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, address)| (name.to_string(), address.to_string()))
            .collect()
    }

    #[test]
    fn the_example_uploads_without_serve_and_with_every_cameras_secret_address() {
        let owner = Config::parse(EXAMPLE).unwrap();
        assert!(
            owner.serve.password.is_some(),
            "the example writes a serve password"
        );
        let addresses = generated(&[
            (
                "frontdoor",
                "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com",
            ),
            ("drive", "drive-a2b3c4d5e6f7g2h3i4j5k6l7m2@cams.example.com"),
            (
                "garden",
                "garden-n2o3p4q5r6s7t2u3v4w5x6y7z2@cams.example.com",
            ),
            ("shed", "shed-a2b3c4d5e6f7g2h3i4j5k6l7m3@cams.example.com"),
        ]);
        let uploaded = Config::deployable(EXAMPLE, "cams.example.com", &addresses)
            .unwrap_or_else(|errors| panic!("{errors}"));
        assert!(!uploaded.contains("[serve]"), "{uploaded}");
        if let Some(password) = &owner.serve.password {
            assert!(!uploaded.contains(password.as_str()), "{uploaded}");
        }
        let functions = Config::parse(&uploaded).unwrap_or_else(|errors| panic!("{errors}"));
        assert_eq!(functions.serve, Serve::default());
        let names: Vec<_> = functions.ingest.secret_addresses.keys().collect();
        assert_eq!(names, ["drive", "frontdoor", "garden"], "no camera `shed`");
        assert_eq!(
            functions.identify_camera(
                None,
                &["garden-n2o3p4q5r6s7t2u3v4w5x6y7z2@cams.example.com".into()],
                None
            ),
            "garden"
        );
        // Everything else means what the owner wrote.
        let mut expected = owner.clone();
        expected.serve = Serve::default();
        expected.ingest.secret_addresses = functions.ingest.secret_addresses.clone();
        assert_eq!(functions, expected);
    }

    #[test]
    fn the_kept_file_maps_cameras_to_addresses() {
        let kept = kept_secret_addresses(
            "# kept by make deploy\n[secret_addresses]\nfrontdoor = \"frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com\"\n",
        )
        .unwrap();
        assert_eq!(
            kept,
            generated(&[(
                "frontdoor",
                "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com"
            )])
        );
        assert!(kept_secret_addresses("[secret_addresses]\nfrontdoor = 3\n").is_err());
    }

    #[test]
    fn a_secret_address_the_owner_wrote_is_kept() {
        let text = "[ingest.secret_addresses]\nfrontdoor = \"frontdoor-owner2345678901234567890@cams.example.com\"\n[[cameras]]\nname = \"frontdoor\"\n";
        let addresses = generated(&[(
            "frontdoor",
            "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com",
        )]);
        let uploaded = Config::deployable(text, "cams.example.com", &addresses).unwrap();
        let functions = Config::parse(&uploaded).unwrap();
        assert_eq!(
            functions.ingest.secret_addresses["frontdoor"].0,
            "frontdoor-owner2345678901234567890@cams.example.com"
        );
    }

    #[test]
    fn a_sender_of_the_stacks_domain_is_refused_before_anything_is_written() {
        let text = "[[cameras]]\nname = \"frontdoor\"\nfrom = \"frontdoor@cams.example.com\"\n";
        let errors = Config::deployable(text, "cams.example.com", &BTreeMap::new()).unwrap_err();
        assert_eq!(
            errors.as_slice()[0].key.as_deref(),
            Some("cameras[0].from"),
            "{errors}"
        );
    }

    #[test]
    fn a_secret_address_of_another_domain_is_refused() {
        let text = "[[cameras]]\nname = \"frontdoor\"\nsubject = \"Front\"\n";
        let addresses = generated(&[(
            "frontdoor",
            "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@old.example.com",
        )]);
        let errors = Config::deployable(text, "cams.example.com", &addresses).unwrap_err();
        assert!(
            errors
                .to_string()
                .contains("not an address of cams.example.com"),
            "{errors}"
        );
    }

    #[test]
    fn a_generated_address_that_is_not_secret_is_refused() {
        let text = "[[cameras]]\nname = \"frontdoor\"\nsubject = \"Front\"\n";
        let addresses = generated(&[("frontdoor", "frontdoor@cams.example.com")]);
        let errors = Config::deployable(text, "cams.example.com", &addresses).unwrap_err();
        assert!(errors.to_string().contains("not secret"), "{errors}");
    }
}
