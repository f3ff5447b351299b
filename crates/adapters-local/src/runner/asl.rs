//! The runner against `statemachine/pipeline.asl.json`, the state machine
//! it copies: these tests read the ASL and fail when the runner would take
//! another path than an execution on AWS.
//!
//! - Retries: for each Task state, a model of what Step Functions does with
//!   the state's `Retry` blocks (each retrier counting its own retries, the
//!   wait `IntervalSeconds * BackoffRate^n`, capped by `MaxDelaySeconds`,
//!   drawn at random below that under `JitterStrategy: FULL`) is run on
//!   every sequence of failures up to a length, beside the runner's
//!   [`RetryPolicy::run`] on a paused clock: the same calls, the same waits,
//!   the same give-up.
//! - Catches: every error a Task does not retry away ends in that Task's
//!   Fail state, whose Error and Cause the runner's [`RunFailed`] matches.
//! - The frame loop: the ASL's Pass and Choice states are interpreted here,
//!   the Task states stubbed, for every pattern of alerting frames up to
//!   four frames, beside the runner on the same pattern: the same frames
//!   analysed, in the same order, the same end state.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::*;
use crate::executions::{status_of, Status};
use crate::runner::tests::{stored_input, temp_store};
use ipcam_core::testing::{
    burst_email, CountingBudget, KeptAlerts, RememberedAlerts, ScriptedDetector,
};

const ASL: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../statemachine/pipeline.asl.json"
));

fn states() -> Map<String, Value> {
    let asl: Value = serde_json::from_str(ASL).expect("the ASL is JSON");
    asl["States"]
        .as_object()
        .expect("the ASL has States")
        .clone()
}

const TASKS: [Task; 3] = [Task::ExtractAttachments, Task::DetectLabels, Task::Notify];

const KINDS: [StageErrorKind; 5] = [
    StageErrorKind::Throttled,
    StageErrorKind::Transient,
    StageErrorKind::NotFound,
    StageErrorKind::InvalidInput,
    StageErrorKind::Failed,
];

/// The Task state a runner task stands for: named alike.
fn task_state(task: Task) -> Value {
    let name = format!("{task:?}");
    let state = states()
        .get(&name)
        .unwrap_or_else(|| panic!("the ASL has no state {name}"))
        .clone();
    assert_eq!(state["Type"], "Task", "{name}");
    state
}

#[test]
fn the_runner_has_one_task_per_task_state_of_the_asl() {
    let in_asl: BTreeSet<String> = states()
        .iter()
        .filter(|(_, state)| state["Type"] == "Task")
        .map(|(name, _)| name.clone())
        .collect();
    let in_runner: BTreeSet<String> = TASKS.iter().map(|task| format!("{task:?}")).collect();
    assert_eq!(in_asl, in_runner);
}

/// One `Retry` block, with the defaults Step Functions gives absent fields.
#[derive(Debug)]
struct Retrier {
    errors: Vec<String>,
    interval: f64,
    max_attempts: u32,
    rate: f64,
    max_delay: Option<f64>,
    full_jitter: bool,
}

fn retriers(state: &Value) -> Vec<Retrier> {
    let Some(blocks) = state.get("Retry") else {
        return Vec::new();
    };
    blocks
        .as_array()
        .expect("Retry is a list")
        .iter()
        .map(|block| {
            for key in block.as_object().expect("a retrier is an object").keys() {
                assert!(
                    [
                        "ErrorEquals",
                        "IntervalSeconds",
                        "MaxAttempts",
                        "BackoffRate",
                        "MaxDelaySeconds",
                        "JitterStrategy"
                    ]
                    .contains(&key.as_str()),
                    "this test does not know the retrier field {key}"
                );
            }
            let jitter = block["JitterStrategy"].as_str().unwrap_or("NONE");
            assert!(["FULL", "NONE"].contains(&jitter), "{jitter}");
            Retrier {
                errors: block["ErrorEquals"]
                    .as_array()
                    .expect("ErrorEquals is a list")
                    .iter()
                    .map(|error| error.as_str().expect("an error name").to_string())
                    .collect(),
                interval: block["IntervalSeconds"].as_f64().unwrap_or(1.0),
                max_attempts: block["MaxAttempts"].as_u64().unwrap_or(3) as u32,
                rate: block["BackoffRate"].as_f64().unwrap_or(2.0),
                max_delay: block["MaxDelaySeconds"].as_f64(),
                full_jitter: jitter == "FULL",
            }
        })
        .collect()
}

/// How a task run ends: succeeded after so many calls, or given up with
/// the error of the last one.
type Ending = Result<usize, &'static str>;

/// The longest wait before each retry, and whether the wait is drawn at
/// random below it.
type Waits = Vec<(f64, bool)>;

/// What Step Functions does with a task that fails with `errors` in turn
/// and then succeeds: the first retrier naming the error handles it, each
/// retrier counting its own retries.
fn asl_retries(retriers: &[Retrier], errors: &[&'static str]) -> (Waits, Ending) {
    let mut retried = vec![0u32; retriers.len()];
    let mut waits = Vec::new();
    for &error in errors {
        let Some(index) = retriers.iter().position(|retrier| {
            retrier
                .errors
                .iter()
                .any(|name| name == error || name == "States.ALL" || name == "States.TaskFailed")
        }) else {
            return (waits, Err(error));
        };
        let retrier = &retriers[index];
        if retried[index] >= retrier.max_attempts {
            return (waits, Err(error));
        }
        let mut wait = retrier.interval * retrier.rate.powi(retried[index] as i32);
        if let Some(cap) = retrier.max_delay {
            wait = wait.min(cap);
        }
        retried[index] += 1;
        waits.push((wait, retrier.full_jitter));
    }
    (waits, Ok(errors.len() + 1))
}

/// What the runner does with the same task, on a paused clock: the time
/// between calls is the wait.
fn runner_retries(policy: &RetryPolicy, kinds: &[StageErrorKind]) -> (Vec<f64>, Ending) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let calls = RefCell::new(Vec::new());
        let ended = policy
            .run(|| {
                let mut calls = calls.borrow_mut();
                calls.push(tokio::time::Instant::now());
                std::future::ready(match kinds.get(calls.len() - 1) {
                    Some(&kind) => Err(StageError::new(kind, "scripted")),
                    None => Ok(()),
                })
            })
            .await;
        let calls = calls.into_inner();
        let waits = calls
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).as_secs_f64())
            .collect();
        (
            waits,
            ended
                .map(|()| calls.len())
                .map_err(|err| err.kind.error_type()),
        )
    })
}

/// Every sequence of `alphabet` of each length up to `longest`.
fn sequences(alphabet: &[StageErrorKind], longest: usize) -> Vec<Vec<StageErrorKind>> {
    let mut all = vec![Vec::new()];
    let mut last = vec![Vec::new()];
    for _ in 0..longest {
        last = last
            .iter()
            .flat_map(|start: &Vec<StageErrorKind>| {
                alphabet.iter().map(move |&kind| {
                    let mut next = start.clone();
                    next.push(kind);
                    next
                })
            })
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

#[test]
fn each_task_retries_as_its_state_in_the_asl() {
    let policy = RetryPolicy::default();
    // Long runs of the two retried kinds, interleaved, and every short
    // sequence of all kinds.
    let mut cases = sequences(&[StageErrorKind::Throttled, StageErrorKind::Transient], 11);
    cases.extend(sequences(&KINDS, 4));
    // Shortest first: the simplest divergence says most.
    let mut diverged = BTreeSet::new();
    for task in TASKS {
        let retriers = retriers(&task_state(task));
        for kinds in &cases {
            let errors: Vec<&'static str> = kinds.iter().map(|kind| kind.error_type()).collect();
            let (expected, asl_ending) = asl_retries(&retriers, &errors);
            let (waited, runner_ending) = runner_retries(&policy, kinds);
            let same_waits = expected.len() == waited.len()
                && expected
                    .iter()
                    .zip(&waited)
                    .all(|(&(longest, jitter), &wait)| {
                        if jitter {
                            (-0.002..=longest + 0.002).contains(&wait)
                        } else {
                            (wait - longest).abs() <= 0.002
                        }
                    });
            if asl_ending != runner_ending || !same_waits {
                diverged.insert((errors.len(), format!(
                    "{task:?} failing with {errors:?}: the ASL waits {expected:?} then {asl_ending:?}, \
                     the runner waits {waited:?} then {runner_ending:?}"
                )));
            }
        }
    }
    let shown: Vec<&str> = diverged
        .iter()
        .take(8)
        .map(|(_, line)| line.as_str())
        .collect();
    assert!(
        diverged.is_empty(),
        "{} sequences of failures diverge, such as:\n{}",
        diverged.len(),
        shown.join("\n")
    );
}

#[test]
fn the_runner_policy_is_the_retry_blocks_of_every_task_state() {
    let policy = RetryPolicy::default();
    for task in TASKS {
        let retriers = retriers(&task_state(task));
        for kind in KINDS {
            let name = kind.error_type();
            let in_asl = retriers
                .iter()
                .find(|retrier| retrier.errors.iter().any(|error| error == name));
            let in_runner = match kind {
                StageErrorKind::Throttled => Some(policy.throttled),
                StageErrorKind::Transient => Some(policy.transient),
                _ => None,
            };
            match (in_asl, in_runner) {
                (None, None) => {}
                (Some(retrier), Some(backoff)) => {
                    let asl = (
                        retrier.interval,
                        retrier.rate,
                        retrier.max_attempts,
                        retrier.max_delay,
                        retrier.full_jitter,
                    );
                    let runner = (
                        backoff.interval.as_secs_f64(),
                        backoff.rate,
                        backoff.max_attempts,
                        None,
                        backoff.jitter == Jitter::Full,
                    );
                    assert_eq!(
                        asl, runner,
                        "{task:?} retrying {name}: (interval, rate, attempts, max delay, full jitter)"
                    );
                }
                (asl, runner) => panic!(
                    "{task:?}: {name} is retried by the ASL: {}, by the runner: {}",
                    asl.is_some(),
                    runner.is_some()
                ),
            }
        }
        // The other names retried are Lambda's own failures, which a run in
        // process cannot have.
        for retrier in &retriers {
            for error in &retrier.errors {
                assert!(
                    KINDS.iter().any(|kind| kind.error_type() == error)
                        || error.starts_with("Lambda."),
                    "{task:?} retries {error}, which the runner knows nothing of"
                );
            }
        }
    }
}

/// Errors that include a function's timeout or its running out of memory:
/// retrying runs the whole task again at its full cost, and a notify that
/// timed out after publishing would alert twice.
const NEVER_RETRIED: [&str; 3] = ["Lambda.Unknown", "States.ALL", "States.Timeout"];

#[test]
fn no_task_retries_a_timeout_or_an_out_of_memory_end() {
    for task in TASKS {
        for retrier in retriers(&task_state(task)) {
            for error in NEVER_RETRIED {
                assert!(
                    !retrier.errors.iter().any(|named| named == error),
                    "{task:?} retries {error}: {:?}",
                    retrier.errors
                );
            }
        }
    }
}

#[test]
fn what_a_task_does_not_retry_ends_in_its_fail_state_worded_as_run_failed() {
    let states = states();
    for task in TASKS {
        let catches = task_state(task)["Catch"].clone();
        let next = match catches.as_array().map(Vec::as_slice) {
            Some([catch]) if catch["ErrorEquals"] == json!(["States.ALL"]) => {
                catch["Next"].as_str().expect("a Next").to_string()
            }
            _ => panic!("{task:?}: the runner fails on every error: {catches}"),
        };
        let fail = &states[&next];
        assert_eq!(fail["Type"], "Fail", "{next}");
        assert_eq!(fail["Error"], format!("{task:?}Failed"));
        assert_eq!(
            fail["CausePath"],
            format!(
                "States.Format('{} failed: {{}}', $.error.Cause)",
                task.lambda_name()
            )
        );
        let failed = RunFailed {
            task,
            error: StageError::new(StageErrorKind::Failed, "the cause"),
        };
        assert_eq!(
            failed.to_string(),
            format!("{} failed: the cause", task.lambda_name())
        );
    }
}

/// Reads a `$.a.b` path.
fn path<'a>(state: &'a Value, path: &str) -> &'a Value {
    let rest = path.strip_prefix('$').expect("a path starts with $");
    rest.split('.')
        .filter(|key| !key.is_empty())
        .fold(state, |value, key| &value[key])
}

/// A `.$` value: a path or one of the intrinsic functions the ASL uses.
fn evaluate(state: &Value, expression: &str) -> Value {
    let argument = |text: &str| -> Value {
        let text = text.trim();
        if text.starts_with('$') {
            path(state, text).clone()
        } else {
            serde_json::from_str(text).expect("a literal argument")
        }
    };
    let Some((function, arguments)) = expression
        .strip_suffix(')')
        .and_then(|call| call.split_once('('))
    else {
        return path(state, expression).clone();
    };
    let arguments: Vec<Value> = arguments.split(',').map(argument).collect();
    match (function, arguments.as_slice()) {
        ("States.ArrayLength", [array]) => json!(array.as_array().expect("an array").len()),
        ("States.MathAdd", [a, b]) => json!(a.as_i64().unwrap() + b.as_i64().unwrap()),
        ("States.ArrayGetItem", [array, index]) => array[index.as_u64().unwrap() as usize].clone(),
        _ => panic!("this test does not know {expression}"),
    }
}

fn parameters(state: &Value, template: &Value) -> Value {
    let object = template.as_object().expect("Parameters is an object");
    let mut out = Map::new();
    for (key, value) in object {
        match key.strip_suffix(".$") {
            Some(key) => out.insert(
                key.to_string(),
                evaluate(state, value.as_str().expect("a .$ value is a string")),
            ),
            None => out.insert(key.clone(), value.clone()),
        };
    }
    Value::Object(out)
}

fn with_result(mut state: Value, definition: &Value, result: Value) -> Value {
    match definition.get("ResultPath").map(|path| path.as_str()) {
        None => result,
        Some(Some(path)) => {
            let key = path.strip_prefix("$.").expect("a ResultPath of one key");
            assert!(!key.contains('.'), "this test sets one key only: {path}");
            state[key] = result;
            state
        }
        Some(None) => state,
    }
}

/// Whether a Choice rule matches.
fn matches(state: &Value, rule: &Value) -> bool {
    let variable = path(state, rule["Variable"].as_str().expect("a Variable"));
    let (operator, operand) = rule
        .as_object()
        .expect("a rule is an object")
        .iter()
        .find(|(key, _)| !["Variable", "Next"].contains(&key.as_str()))
        .expect("a rule has an operator");
    let number = |value: &Value| value.as_f64().expect("a number");
    match operator.as_str() {
        "NumericGreaterThan" => number(variable) > number(operand),
        "NumericLessThanPath" => {
            number(variable) < number(path(state, operand.as_str().expect("a path")))
        }
        "BooleanEquals" => variable == operand,
        "IsPresent" => {
            let present = !variable.is_null();
            present == operand.as_bool().expect("IsPresent takes a boolean")
        }
        _ => panic!("this test does not know the Choice operator {operator}"),
    }
}

/// What an execution on AWS does with `frames` frames, of which those
/// marked true alert: the frames DetectLabels is asked about, in order,
/// whether Notify is called, and the end state.
fn asl_execution(alerts: &[bool]) -> (Vec<usize>, bool, String) {
    let (analysed, notified, path) = asl_path(alerts);
    (analysed, notified, path.last().cloned().unwrap_or_default())
}

/// The same, with every state the execution entered, in order: each one
/// is a billed state transition.
fn asl_path(alerts: &[bool]) -> (Vec<usize>, bool, Vec<String>) {
    let states = states();
    let mut path = Vec::new();
    let mut analysed = Vec::new();
    let mut notified = false;
    let mut state = json!({ "version": 1, "event": {}, "camera": "frontdoor" });
    let mut at = "ExtractAttachments".to_string();
    for _ in 0..1000 {
        path.push(at.clone());
        let definition = &states[&at];
        let input = match definition.get("Parameters") {
            Some(template) => parameters(&state, template),
            None => state.clone(),
        };
        let next = match definition["Type"].as_str().expect("a Type") {
            "Task" => {
                let result = match at.as_str() {
                    "ExtractAttachments" => json!({
                        "version": 1,
                        "event": {},
                        "camera": "frontdoor",
                        "frames": (0..alerts.len()).map(|index| json!({ "frame": index })).collect::<Vec<_>>(),
                    }),
                    "DetectLabels" => {
                        let index = input["frameIndex"].as_u64().expect("a frameIndex") as usize;
                        assert_eq!(input["frame"], json!({ "frame": index }));
                        assert_eq!(input["frameCount"], json!(alerts.len()));
                        analysed.push(index);
                        // What detect-labels answers: the next frame while
                        // this one did not alert and frames remain.
                        let mut analysis = json!({ "alert": alerts[index] });
                        if !alerts[index] && index + 1 < alerts.len() {
                            analysis["next"] = json!(index + 1);
                        }
                        analysis
                    }
                    "Notify" => {
                        assert_eq!(input["analysis"]["alert"], true);
                        notified = true;
                        json!({})
                    }
                    other => panic!("this test does not know the task {other}"),
                };
                state = with_result(state, definition, result);
                definition["Next"].clone()
            }
            "Pass" => {
                state = with_result(state, definition, input);
                definition["Next"].clone()
            }
            "Choice" => definition["Choices"]
                .as_array()
                .expect("Choices")
                .iter()
                .find(|rule| matches(&state, rule))
                .map(|rule| rule["Next"].clone())
                .unwrap_or_else(|| definition["Default"].clone()),
            "Succeed" | "Fail" => return (analysed, notified, path),
            other => panic!("this test does not know the state type {other}"),
        };
        at = next.as_str().expect("a Next").to_string();
    }
    panic!("the execution does not end");
}

const FRAME_NAMES: [&str; 4] = ["f0.png", "f1.png", "f2.png", "f3.png"];

/// The same through the runner: a frame alerts when a person is on it.
async fn runner_execution(alerts: &[bool], case: usize) -> (Vec<usize>, bool, String) {
    let (root, store) = temp_store(&format!("asl-loop-{case}"));
    let names = &FRAME_NAMES[..alerts.len()];
    let input = stored_input(
        &store,
        "loop",
        burst_email("frontdoor@cams.example.com", names),
    )
    .await;
    let script = names
        .iter()
        .zip(alerts)
        .map(|(&name, &alert)| (name, if alert { "Person" } else { "Cat" }, 95.0))
        .collect();
    let config = "[[cameras]]\nname = \"frontdoor\"\nfrom = \"frontdoor@cams.example.com\"\nlabels = [\"person\"]\n";
    let pipeline = LocalPipeline::new(
        Config::parse(config).unwrap(),
        store,
        ScriptedDetector::new(script),
        KeptAlerts::default(),
        RememberedAlerts::default(),
        CountingBudget::default(),
    );
    let outcome = pipeline.run(input).await;
    std::fs::remove_dir_all(root).unwrap();
    let end = match status_of(&outcome) {
        Status::Alerted => "Alerted",
        Status::NothingOfInterest => "NothingOfInterest",
        Status::NoPictures => "NoPictures",
        other => panic!("the run ended {other:?}: {outcome:?}"),
    };
    let run = outcome.unwrap();
    assert_eq!(run.extracted.frames.len(), alerts.len(), "every frame kept");
    let analysed = run.analyses.iter().map(|a| a.detection.frame).collect();
    (analysed, run.notified.is_some(), end.to_string())
}

#[tokio::test]
async fn the_frame_loop_stops_where_the_asl_does() {
    let mut case = 0;
    for frames in 0..=FRAME_NAMES.len() {
        for pattern in 0..1u32 << frames {
            let alerts: Vec<bool> = (0..frames).map(|index| pattern >> index & 1 == 1).collect();
            assert_eq!(
                runner_execution(&alerts, case).await,
                asl_execution(&alerts),
                "frames alerting: {alerts:?}"
            );
            case += 1;
        }
    }
}

#[test]
fn each_frame_analysed_costs_two_state_transitions() {
    // Three frames of shadows and rain: the common, billed-for-nothing case.
    let (analysed, _, path) = asl_path(&[false, false, false]);
    assert_eq!(analysed, [0, 1, 2]);
    assert_eq!(
        path,
        [
            "ExtractAttachments",
            "StartAnalysis",
            "AnyFrames",
            "DetectLabels",
            "Judged",
            "DetectLabels",
            "Judged",
            "DetectLabels",
            "Judged",
            "NothingOfInterest"
        ]
    );
    // A person in the second frame: the loop stops there.
    let (_, notified, path) = asl_path(&[false, true, false]);
    assert!(notified);
    assert_eq!(path.len(), 4 + 2 * 2 + 1, "{path:?}");
}
