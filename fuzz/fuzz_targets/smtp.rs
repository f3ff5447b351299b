//! The SMTP parser of `ipcam serve` on arbitrary bytes: it must never
//! panic, hang or hold more than a line, and it must read the same frames
//! however the bytes are split into reads.
//!
//! The parser is compiled here from its own source, which uses nothing
//! but std: the `ipcam` crate around it takes far longer to build with the
//! fuzzer's instrumentation than the code under test.

#![no_main]
// The driver's part of the parser (`in_data`) is not used here.
#![allow(dead_code)]

#[path = "../../crates/ipcam/src/serve/smtp/parser.rs"]
mod parser;

use libfuzzer_sys::fuzz_target;
use parser::{Command, Data, Frame, Framer, MAX_LINE};

/// The frames of `input` pushed in pieces of `piece` bytes, with a
/// message's data started after each `DATA` line.
fn frames(input: &[u8], piece: usize, limit: u64) -> Vec<Frame> {
    let mut framer = Framer::new();
    let mut out = Vec::new();
    for chunk in input.chunks(piece.max(1)) {
        framer.push(chunk);
        while let Some(frame) = framer.next() {
            match &frame {
                Frame::Line(line) => {
                    assert!(line.len() <= MAX_LINE);
                    let command = Command::parse(line);
                    if command == Command::Data {
                        framer.start_data(limit);
                    }
                }
                Frame::Data(Data::Complete(message)) => {
                    assert!(message.len() as u64 <= limit);
                }
                Frame::Data(Data::TooLarge(size)) => assert!(*size > limit),
                Frame::TooLong => {}
            }
            out.push(frame);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, input)) = data.split_first() else {
        return;
    };
    // The low bits choose how the bytes are split, the high bits the limit.
    let piece = usize::from(knobs & 0x0F) + 1;
    let limit = u64::from(knobs >> 4) * 64;
    let whole = frames(input, input.len(), limit);
    let pieces = frames(input, piece, limit);
    assert_eq!(whole, pieces, "the frames depend on how the bytes were split");
    let bytewise = frames(input, 1, limit);
    assert_eq!(whole, bytewise);
});
