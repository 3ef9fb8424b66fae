//! Fuzz target: `larum_engine::fuzzing::gossip` must not panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| larum_engine::fuzzing::gossip(data));
