//! The door: whether a received message may start an execution.
//!
//! Pure decisions from the `[ingest]` table (see [`crate::config::Ingest`]
//! for what is checked and why), shared by every way mail arrives, so SES,
//! SendGrid and the local runner let in exactly the same messages.

use std::fmt;

use mailparse::{MailAddr, MailHeaderMap};

use super::SenderRules;
use crate::config::{Config, OnFail};

/// A check the mail service ran on a message before handing it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Spam,
    Virus,
    Spf,
    Dkim,
    Dmarc,
    /// DMARC failed and the sender's domain publishes the policy `reject`
    /// or `quarantine`: its owner disowns the message.
    DmarcPolicy,
}

impl Check {
    /// Worst first: the reason given is that of the gravest failure.
    const BY_GRAVITY: [Check; 6] = [
        Check::Virus,
        Check::Spam,
        Check::DmarcPolicy,
        Check::Dmarc,
        Check::Spf,
        Check::Dkim,
    ];

    fn on_fail(self, config: &Config) -> OnFail {
        let verdicts = &config.ingest.verdicts;
        match self {
            Check::Spam => verdicts.spam,
            Check::Virus => verdicts.virus,
            Check::Spf => verdicts.spf,
            Check::Dkim => verdicts.dkim,
            Check::Dmarc => verdicts.dmarc,
            Check::DmarcPolicy => verdicts.dmarc_policy,
        }
    }

    fn reason(self) -> RejectReason {
        match self {
            Check::Spam => RejectReason::Spam,
            Check::Virus => RejectReason::Virus,
            Check::Spf => RejectReason::Spf,
            Check::Dkim => RejectReason::Dkim,
            Check::Dmarc | Check::DmarcPolicy => RejectReason::Dmarc,
        }
    }

    /// What the log and the rejection say of the failure, and the key of
    /// `[ingest.verdicts]` that decides it.
    fn described(self) -> (&'static str, &'static str) {
        match self {
            Check::Spam => ("SPAM", "spam"),
            Check::Virus => ("VIRUS", "virus"),
            Check::Spf => ("SPF", "spf"),
            Check::Dkim => ("DKIM", "dkim"),
            Check::Dmarc => ("DMARC", "dmarc"),
            Check::DmarcPolicy => (
                "DMARC check under the sender domain's own `reject` or `quarantine` policy",
                "dmarc_policy",
            ),
        }
    }
}

/// Why a message was refused; its [`name`](RejectReason::name) is the
/// `Reason` dimension of the `RejectedMessages` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    Spam,
    Virus,
    Spf,
    Dkim,
    Dmarc,
    /// The sender is not on the allow-list.
    SenderNotAllowed,
    /// The message is larger than `max_message_bytes` or than the platform
    /// carries.
    TooLarge,
    /// The post or message cannot be read, and never will be.
    Unreadable,
    /// The caller did not present the right credentials.
    Unauthorized,
}

impl RejectReason {
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::Spam => "Spam",
            RejectReason::Virus => "Virus",
            RejectReason::Spf => "Spf",
            RejectReason::Dkim => "Dkim",
            RejectReason::Dmarc => "Dmarc",
            RejectReason::SenderNotAllowed => "SenderNotAllowed",
            RejectReason::TooLarge => "TooLarge",
            RejectReason::Unreadable => "Unreadable",
            RejectReason::Unauthorized => "Unauthorized",
        }
    }
}

/// A refused message: the reason, and a sentence for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rejected ({}): {}", self.reason.name(), self.detail)
    }
}

/// What is known of a message at the door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arrival<'a> {
    /// The header `From` values (SES lists each mailbox separately; a raw
    /// header may hold several separated by commas).
    pub from: &'a [String],
    /// The addresses the message was delivered to (the envelope
    /// recipients: SES's receipt recipients, SendGrid's envelope, SMTP
    /// `RCPT TO`), where a camera's secret address proves the camera.
    pub recipients: &'a [String],
    /// The checks the mail service ran that failed.
    pub failed: &'a [Check],
    /// The message's size in bytes, when known at the door.
    pub size: Option<u64>,
    /// Whether the sender allow-list applies.
    pub sender_rules: SenderRules,
}

/// Lets a message in, or says why not. Failed checks set to `ignore` are
/// logged and let through.
pub(crate) fn admit(config: &Config, arrival: &Arrival<'_>) -> Result<(), Rejection> {
    for check in Check::BY_GRAVITY {
        if !arrival.failed.contains(&check) {
            continue;
        }
        match check.on_fail(config) {
            OnFail::Reject => {
                let (what, key) = check.described();
                return Err(Rejection::new(
                    check.reason(),
                    format!(
                        "the mail service's {what} check failed, and `[ingest.verdicts] {key}` is `reject`"
                    ),
                ));
            }
            OnFail::Ignore => tracing::info!(
                check = check.described().1,
                "a failed check is ignored, as `[ingest.verdicts]` says"
            ),
        }
    }
    if arrival.sender_rules != SenderRules::Skip {
        check_sender(config, arrival, arrival.sender_rules)?;
    }
    if let Some(size) = arrival.size {
        check_size(config, size)?;
    }
    Ok(())
}

/// The raw values of the message's `From` headers: what the allow-list
/// checks (encoded display names stay encoded, so a comma inside one
/// cannot split a mailbox in two).
pub(crate) fn from_header_values(raw: &[u8]) -> Vec<String> {
    mailparse::parse_headers(raw)
        .map(|(headers, _)| {
            headers
                .get_all_headers("From")
                .iter()
                .map(|header| String::from_utf8_lossy(header.get_value_raw()).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Refuses a message larger than `max_message_bytes`.
pub fn check_size(config: &Config, size: u64) -> Result<(), Rejection> {
    let limit = config.ingest.max_message_bytes.0;
    if size > limit {
        return Err(Rejection::new(
            RejectReason::TooLarge,
            format!(
                "the message is {size} bytes, more than `[ingest] max_message_bytes` = {limit}"
            ),
        ));
    }
    Ok(())
}

/// True when the configuration names no sender at all: then everyone is
/// let in locally, and on AWS only when `[ingest] allow_any_sender` says so
/// (see [`crate::config::Ingest`]).
pub(crate) fn door_is_open(config: &Config) -> bool {
    config.names_no_sender()
}

/// Lets in mail delivered to a camera's secret address whatever its
/// sender; refuses a sender that is not allowed, or anyone at an open door
/// on AWS not written open. A header naming several mailboxes
/// (or a group) is refused while the door is closed: a camera writes from
/// one address, and a list could smuggle an allowed one in beside another.
fn check_sender(
    config: &Config,
    arrival: &Arrival<'_>,
    rules: SenderRules,
) -> Result<(), Rejection> {
    if let Some(camera) = config.camera_of_secret_address(arrival.recipients) {
        tracing::info!(camera, "delivered to the camera's secret address");
        return Ok(());
    }
    let from = arrival.from;
    if door_is_open(config) {
        if rules == SenderRules::Local || config.ingest.allow_any_sender {
            return Ok(());
        }
        return Err(Rejection::new(
            RejectReason::SenderNotAllowed,
"the door is open: no sender and no secret address is named (`[ingest] allowed_senders` and `[ingest.secret_addresses]` are empty and no camera has a `from`), and on AWS an open door lets in no one, since a stranger would spend the owner's money; give the cameras secret addresses (`make deploy` does), name their senders, or write `[ingest] allow_any_sender = true`",
        ));
    }
    let addresses = match sender_addresses(from) {
        Ok(addresses) => addresses,
        Err(detail) => return Err(Rejection::new(RejectReason::SenderNotAllowed, detail)),
    };
    let [address] = addresses.as_slice() else {
        return Err(Rejection::new(
            RejectReason::SenderNotAllowed,
            format!(
                "the From header names {} mailboxes ({}); exactly one is needed",
                addresses.len(),
                addresses.join(", ")
            ),
        ));
    };
    let allowed_by_list = config
        .ingest
        .allowed_senders
        .iter()
        .any(|pattern| pattern.admits(address));
    let allowed_as_camera = config.cameras.iter().any(|camera| {
        camera
            .from
            .as_deref()
            .is_some_and(|want| crate::config::bare_address(want).eq_ignore_ascii_case(address))
    });
    if allowed_by_list || allowed_as_camera {
        Ok(())
    } else {
        Err(Rejection::new(
            RejectReason::SenderNotAllowed,
            format!("{address} is neither in `[ingest] allowed_senders` nor a camera's `from`, and the message was not delivered to a camera's secret address"),
        ))
    }
}

/// The bare addresses of `From` header values (`Name <user@host>` forms
/// included).
fn sender_addresses(from: &[String]) -> Result<Vec<String>, String> {
    let mut addresses = Vec::new();
    for value in from {
        let list = mailparse::addrparse(value)
            .map_err(|err| format!("the From header `{value}` cannot be read: {err}"))?;
        for entry in list.iter() {
            match entry {
                MailAddr::Single(single) => addresses.push(single.addr.trim().to_string()),
                MailAddr::Group(group) => {
                    return Err(format!(
                        "the From header names the group `{}`, not one sender",
                        group.group_name
                    ))
                }
            }
        }
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text).unwrap()
    }

    const CLOSED: &str = r#"
[ingest]
allowed_senders = ["porch@cams.example.com", "@relay.example.net"]

[[cameras]]
name = "frontdoor"
from = "Front Door <frontdoor@cams.example.com>"

[[cameras]]
name = "garden"
to = "garden@in.example.com"
"#;

    fn from(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    fn reason_for(config: &Config, from_values: &[&str], failed: &[Check]) -> Option<RejectReason> {
        let from = from(from_values);
        admit(
            config,
            &Arrival {
                from: &from,
                recipients: &[],
                failed,
                size: None,
                sender_rules: SenderRules::Apply,
            },
        )
        .err()
        .map(|rejection| rejection.reason)
    }

    #[test]
    fn listed_address_is_let_in_whatever_its_case_and_display_name() {
        let config = config(CLOSED);
        assert_eq!(reason_for(&config, &["porch@cams.example.com"], &[]), None);
        assert_eq!(
            reason_for(&config, &["\"The Porch\" <Porch@CAMS.Example.com>"], &[]),
            None
        );
    }

    #[test]
    fn listed_domain_lets_in_every_address_of_it_but_not_its_lookalikes() {
        let config = config(CLOSED);
        assert_eq!(reason_for(&config, &["cam7@Relay.Example.NET"], &[]), None);
        assert_eq!(
            reason_for(&config, &["cam7@evil-relay.example.net"], &[]),
            Some(RejectReason::SenderNotAllowed)
        );
        assert_eq!(
            reason_for(&config, &["cam7@relay.example.net.evil.test"], &[]),
            Some(RejectReason::SenderNotAllowed)
        );
    }

    #[test]
    fn camera_configured_by_sender_is_let_in_without_being_listed() {
        let config = config(CLOSED);
        assert_eq!(
            reason_for(&config, &["FRONTDOOR@cams.example.com"], &[]),
            None
        );
    }

    #[test]
    fn stranger_is_refused_once_any_sender_is_named() {
        let config = config(CLOSED);
        assert_eq!(
            reason_for(&config, &["Stranger <stranger@example.org>"], &[]),
            Some(RejectReason::SenderNotAllowed)
        );
        let only_a_camera = Config::parse(
            "[[cameras]]\nname = \"frontdoor\"\nfrom = \"frontdoor@cams.example.com\"\n",
        )
        .unwrap();
        assert_eq!(
            reason_for(&only_a_camera, &["stranger@example.org"], &[]),
            Some(RejectReason::SenderNotAllowed)
        );
    }

    #[test]
    fn missing_or_several_senders_are_refused_when_the_door_is_closed() {
        let config = config(CLOSED);
        assert_eq!(
            reason_for(&config, &[], &[]),
            Some(RejectReason::SenderNotAllowed)
        );
        assert_eq!(
            reason_for(
                &config,
                &["stranger@example.org, porch@cams.example.com"],
                &[]
            ),
            Some(RejectReason::SenderNotAllowed)
        );
        assert_eq!(
            reason_for(&config, &["Cams: porch@cams.example.com;"], &[]),
            Some(RejectReason::SenderNotAllowed)
        );
    }

    fn reason_under(
        config: &Config,
        rules: SenderRules,
        from_values: &[&str],
    ) -> Option<RejectReason> {
        let from = from(from_values);
        admit(
            config,
            &Arrival {
                from: &from,
                recipients: &[],
                failed: &[],
                size: None,
                sender_rules: rules,
            },
        )
        .err()
        .map(|rejection| rejection.reason)
    }

    /// An open door, written open: every sender is let in, on AWS too.
    const ANYONE: &str = "[ingest]\nallow_any_sender = true\n";

    const OPEN: &str = "[[cameras]]\nname = \"garden\"\nto = \"garden@in.example.com\"\n";

    #[test]
    fn everyone_is_let_in_locally_while_no_sender_is_named() {
        let config = config(OPEN);
        assert!(door_is_open(&config));
        assert_eq!(
            reason_under(&config, SenderRules::Local, &["anyone@example.org"]),
            None
        );
        assert_eq!(reason_under(&config, SenderRules::Local, &[]), None);
    }

    #[test]
    fn an_open_door_lets_no_one_in_on_aws_and_says_how_to_open_it() {
        let config = config(OPEN);
        let from = from(&["anyone@example.org"]);
        let rejection = admit(
            &config,
            &Arrival {
                from: &from,
                recipients: &[],
                failed: &[],
                size: None,
                sender_rules: SenderRules::Apply,
            },
        )
        .unwrap_err();
        assert_eq!(rejection.reason, RejectReason::SenderNotAllowed);
        assert!(
            rejection.detail.contains("allow_any_sender = true"),
            "{rejection}"
        );
        assert_eq!(
            reason_under(&config, SenderRules::Apply, &[]),
            Some(RejectReason::SenderNotAllowed)
        );
    }

    #[test]
    fn an_open_door_written_as_such_lets_everyone_in_on_aws() {
        let config = config(&format!("{OPEN}[ingest]\nallow_any_sender = true\n"));
        assert_eq!(
            reason_under(&config, SenderRules::Apply, &["anyone@example.org"]),
            None
        );
    }

    /// The front door writes to its secret address; the porch is known by
    /// its sender.
    const SECRET: &str = r#"
[ingest]
allowed_senders = ["porch@isp-mail.example.net"]

[ingest.secret_addresses]
frontdoor = "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com"

[[cameras]]
name = "frontdoor"
"#;

    const FRONTDOOR_SECRET: &str = "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com";

    fn reason_delivered_to(
        config: &Config,
        rules: SenderRules,
        recipients: &[&str],
        from_values: &[&str],
        failed: &[Check],
    ) -> Option<RejectReason> {
        let from = from(from_values);
        let recipients = self::from(recipients);
        admit(
            config,
            &Arrival {
                from: &from,
                recipients: &recipients,
                failed,
                size: None,
                sender_rules: rules,
            },
        )
        .err()
        .map(|rejection| rejection.reason)
    }

    #[test]
    fn a_camera_writing_to_its_secret_address_is_let_in_whatever_its_sender() {
        let config = config(SECRET);
        for rules in [SenderRules::Apply, SenderRules::Local] {
            for sender in [
                &["Cam 7 <cam7@webmail.example.org>"][..],
                &["nobody@unknown.example"],
                &[],
            ] {
                assert_eq!(
                    reason_delivered_to(
                        &config,
                        rules,
                        &["Front <FRONTDOOR-k7q2m4x9c3v8b5n6z2w4r7t3yd@Cams.Example.com>"],
                        sender,
                        &[]
                    ),
                    None,
                    "{sender:?} under {rules:?}"
                );
            }
        }
        assert_eq!(
            reason_delivered_to(
                &config,
                SenderRules::Apply,
                &["someone@cams.example.com", FRONTDOOR_SECRET],
                &["cam7@webmail.example.org"],
                &[]
            ),
            None,
            "one of the recipients is the secret address"
        );
    }

    #[test]
    fn the_secret_address_does_not_excuse_the_mail_services_checks() {
        let config = config(SECRET);
        assert_eq!(
            reason_delivered_to(
                &config,
                SenderRules::Apply,
                &[FRONTDOOR_SECRET],
                &["frontdoor@cams.example.com"],
                &[Check::Dmarc, Check::DmarcPolicy]
            ),
            Some(RejectReason::Dmarc)
        );
        assert_eq!(
            reason_delivered_to(
                &config,
                SenderRules::Apply,
                &[FRONTDOOR_SECRET],
                &["cam7@webmail.example.org"],
                &[Check::Virus]
            ),
            Some(RejectReason::Virus)
        );
    }

    #[test]
    fn a_stranger_forging_a_cameras_sender_at_a_guessable_address_is_refused() {
        let config = config(SECRET);
        for recipients in [
            &["frontdoor@cams.example.com"][..],
            &["frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3y@cams.example.com"],
            &["frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.org"],
            &[],
        ] {
            for rules in [SenderRules::Apply, SenderRules::Local] {
                assert_eq!(
                    reason_delivered_to(
                        &config,
                        rules,
                        recipients,
                        &["FrontDoor Camera <frontdoor@cams.example.com>"],
                        &[]
                    ),
                    Some(RejectReason::SenderNotAllowed),
                    "{recipients:?} under {rules:?}"
                );
            }
        }
        assert_eq!(
            reason_delivered_to(
                &config,
                SenderRules::Apply,
                &["frontdoor@cams.example.com"],
                &["porch@isp-mail.example.net"],
                &[]
            ),
            None,
            "an allowed sender still gets in at any address"
        );
    }

    #[test]
    fn a_secret_address_alone_closes_the_door() {
        let config = config(
            "[ingest.secret_addresses]\nfrontdoor = \"frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com\"\n[[cameras]]\nname = \"frontdoor\"\n",
        );
        assert!(!door_is_open(&config));
        assert_eq!(
            reason_delivered_to(
                &config,
                SenderRules::Local,
                &["frontdoor@cams.example.com"],
                &["anyone@example.org"],
                &[]
            ),
            Some(RejectReason::SenderNotAllowed)
        );
    }

    #[test]
    fn spam_and_virus_are_refused_by_default() {
        let config = config(ANYONE);
        assert_eq!(
            reason_for(&config, &["a@b.example"], &[Check::Spam]),
            Some(RejectReason::Spam)
        );
        assert_eq!(
            reason_for(&config, &["a@b.example"], &[Check::Virus]),
            Some(RejectReason::Virus)
        );
    }

    #[test]
    fn spf_dkim_and_dmarc_failures_are_ignored_by_default() {
        let config = config(ANYONE);
        assert_eq!(
            reason_for(
                &config,
                &["a@b.example"],
                &[Check::Spf, Check::Dkim, Check::Dmarc]
            ),
            None
        );
    }

    #[test]
    fn dmarc_failure_disowned_by_the_senders_domain_is_refused_by_default_and_says_why() {
        let config = config(CLOSED);
        let from = from(&["porch@cams.example.com"]);
        let rejection = admit(
            &config,
            &Arrival {
                from: &from,
                recipients: &[],
                failed: &[Check::Dmarc, Check::DmarcPolicy],
                size: None,
                sender_rules: SenderRules::Apply,
            },
        )
        .unwrap_err();
        assert_eq!(rejection.reason, RejectReason::Dmarc);
        assert!(
            rejection
                .detail
                .contains("`[ingest.verdicts] dmarc_policy`"),
            "{rejection}"
        );
        let ignored = Config::parse(
            "[ingest]\nallowed_senders = [\"porch@cams.example.com\"]\n[ingest.verdicts]\ndmarc_policy = \"ignore\"\n",
        )
        .unwrap();
        assert_eq!(
            reason_for(
                &ignored,
                &["porch@cams.example.com"],
                &[Check::Dmarc, Check::DmarcPolicy]
            ),
            None
        );
    }

    #[test]
    fn each_verdict_follows_its_own_setting() {
        let config = config(
            "[ingest]\nallow_any_sender = true\n[ingest.verdicts]\nspam = \"ignore\"\nvirus = \"ignore\"\nspf = \"reject\"\ndkim = \"reject\"\ndmarc = \"reject\"\n",
        );
        for (check, reason) in [
            (Check::Spf, Some(RejectReason::Spf)),
            (Check::Dkim, Some(RejectReason::Dkim)),
            (Check::Dmarc, Some(RejectReason::Dmarc)),
            (Check::Spam, None),
            (Check::Virus, None),
        ] {
            assert_eq!(
                reason_for(&config, &["a@b.example"], &[check]),
                reason,
                "{check:?}"
            );
        }
    }

    #[test]
    fn gravest_failure_is_the_reason_given() {
        let config =
            config("[ingest]\nallow_any_sender = true\n[ingest.verdicts]\nspf = \"reject\"\n");
        assert_eq!(
            reason_for(
                &config,
                &["a@b.example"],
                &[Check::Spf, Check::Virus, Check::Spam]
            ),
            Some(RejectReason::Virus)
        );
    }

    #[test]
    fn verdicts_are_judged_before_the_sender() {
        let config = config(CLOSED);
        assert_eq!(
            reason_for(&config, &["porch@cams.example.com"], &[Check::Virus]),
            Some(RejectReason::Virus)
        );
    }

    #[test]
    fn message_over_the_limit_is_refused_and_one_at_it_is_not() {
        let config = config("[ingest]\nmax_message_bytes = 2048\n");
        assert_eq!(check_size(&config, 2048), Ok(()));
        let rejection = check_size(&config, 2049).unwrap_err();
        assert_eq!(rejection.reason, RejectReason::TooLarge);
        assert_eq!(
            rejection.detail,
            "the message is 2049 bytes, more than `[ingest] max_message_bytes` = 2048"
        );
    }
}
