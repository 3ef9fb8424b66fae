//! Unit tests of the inhibitor.
