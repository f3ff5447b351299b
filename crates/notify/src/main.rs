//! notify: draws the boxes on the alerting frame (stored under
//! `annotated/`) and publishes one alert per alerting event to
//! `IPCAM_TOPIC_ARN`, with a link to the picture that works for
//! `IPCAM_SNAPSHOT_LINK_HOURS`; e-mails it with the picture, through SES,
//! when the configuration's `[alerts]` names recipients. Each event's
//! notification is kept in the alerts table `IPCAM_ALERTS_TABLE` for a
//! day, so that the task retried after publishing does not alert twice.

use std::time::Duration;

use ipcam_adapters_aws::lambda::{
    cold_start, diagnostic, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};
use ipcam_adapters_aws::{DynamoAlertMemory, S3Store, SesMailer, SnsNotifier};
use ipcam_core::config::Config;
use ipcam_core::contract::{AlertRequest, Notification};
use ipcam_core::stages::notify::{notify, DEFAULT_LINK_VALIDITY};

/// The most hours a link may be asked for: a signature (SigV4) is honoured
/// for 7 days at most.
const MAX_LINK_HOURS: u64 = 7 * 24;

struct Function {
    config: Config,
    store: S3Store,
    notifier: SnsNotifier,
    mailer: SesMailer,
    alerts: DynamoAlertMemory,
    link_valid_for: Duration,
}

async fn handle(
    function: &Function,
    event: LambdaEvent<AlertRequest>,
) -> Result<Notification, Diagnostic> {
    let notification = notify(
        &event.payload,
        &function.config,
        &function.store,
        &function.notifier,
        &function.mailer,
        &function.alerts,
        function.link_valid_for,
    )
    .await
    .map_err(diagnostic)?;
    tracing::info!(
        camera = %event.payload.camera,
        message_id = %notification.message_id,
        snapshot = notification.snapshot.as_ref().map(|object| object.key.as_str()).unwrap_or("none"),
        email = ?notification.email,
        "alert published: {}",
        notification.subject
    );
    Ok(notification)
}

/// How long the link to the picture works, from the value of
/// `IPCAM_SNAPSHOT_LINK_HOURS`: a whole number of hours from 1 to
/// [`MAX_LINK_HOURS`]; [`DEFAULT_LINK_VALIDITY`] when unset.
fn link_validity(hours: Option<&str>) -> Result<Duration, String> {
    let Some(hours) = hours else {
        return Ok(DEFAULT_LINK_VALIDITY);
    };
    match hours.trim().parse::<u64>() {
        Ok(hours) if (1..=MAX_LINK_HOURS).contains(&hours) => {
            Ok(Duration::from_secs(hours * 60 * 60))
        }
        _ => Err(format!(
            "IPCAM_SNAPSHOT_LINK_HOURS is {hours:?}: it should be a whole number of hours \
             from 1 to {MAX_LINK_HOURS} (7 days, the most a signed link is honoured)"
        )),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let start = cold_start().await?;
    let link_valid_for = link_validity(std::env::var("IPCAM_SNAPSHOT_LINK_HOURS").ok().as_deref())?;
    let function = Function {
        notifier: SnsNotifier::new(&start.sdk, setting("IPCAM_TOPIC_ARN")?),
        mailer: SesMailer::new(&start.sdk),
        alerts: DynamoAlertMemory::new(&start.sdk, setting("IPCAM_ALERTS_TABLE")?),
        link_valid_for,
        config: start.config,
        store: start.store,
    };
    let function = &function;
    run(service_fn(move |event| async move {
        handle(function, event).await
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_work_for_the_hours_the_stack_sets() {
        assert_eq!(link_validity(Some("6")), Ok(Duration::from_secs(21_600)));
        assert_eq!(link_validity(Some("168")), Ok(Duration::from_secs(604_800)));
        assert_eq!(link_validity(None), Ok(DEFAULT_LINK_VALIDITY));
    }

    #[test]
    fn hours_a_signature_cannot_keep_are_refused_at_start() {
        for wrong in ["0", "169", "-1", "1.5", "six", ""] {
            let err = link_validity(Some(wrong)).unwrap_err();
            assert!(err.contains("IPCAM_SNAPSHOT_LINK_HOURS"), "{err}");
        }
    }
}
