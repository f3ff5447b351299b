//! The least a Rust Lambda function does: the `lambda_runtime` loop
//! answering each event with itself. Not deployed; `make bench-cold-start`
//! builds it with the functions' profile and compares their start with its.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move { Ok::<_, Error>(event.payload) },
    ))
    .await
}
