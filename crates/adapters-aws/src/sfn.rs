//! [`Executions`] on AWS Step Functions.

use aws_sdk_sfn::Client;

use crate::classify;
use ipcam_core::contract::ExecutionInput;
use ipcam_core::ports::{Executions, PortError, Started};

/// Starts executions of the pipeline's state machine.
#[derive(Debug, Clone)]
pub struct StepFunctions {
    client: Client,
    state_machine_arn: String,
}

impl StepFunctions {
    pub fn new(config: &aws_config::SdkConfig, state_machine_arn: String) -> Self {
        StepFunctions {
            client: Client::new(config),
            state_machine_arn,
        }
    }
}

impl Executions for StepFunctions {
    async fn start(&self, name: &str, input: &ExecutionInput) -> Result<Started, PortError> {
        let input = serde_json::to_string(input)
            .map_err(|err| PortError::Permanent(format!("encoding the execution input: {err}")))?;
        let existing = self
            .client
            .describe_execution()
            .execution_arn(self.execution_arn(name))
            .send()
            .await;
        if existing.is_ok() {
            return Ok(Started::AlreadyStarted);
        }
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
        {
            Ok(output) => Ok(Started::New(output.execution_arn().to_string())),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_already_exists()) =>
            {
                Ok(Started::AlreadyStarted)
            }
            Err(err) => Err(classify("starting the execution", &err)),
        }
    }
}

impl StepFunctions {
    /// The ARN an execution of this name has:
    /// `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`.
    fn execution_arn(&self, name: &str) -> String {
        format!(
            "{}:{name}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }
}
