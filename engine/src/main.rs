//! The `larum-engine` binary.

fn main() {}
