//! notify: tell a person what was seen.

use super::StageError;
use crate::alert;
use crate::contract::{AlertRequest, Notification};
use crate::ports::Notifier;

/// Words the alert and sends it through the notifier.
pub async fn notify(
    request: &AlertRequest,
    notifier: &impl Notifier,
) -> Result<Notification, StageError> {
    let alert = alert::compose(request);
    let message_id = notifier
        .publish(&alert)
        .await
        .map_err(|err| StageError::from_port("publishing the alert", err))?;
    Ok(Notification {
        message_id,
        subject: alert.subject,
    })
}
