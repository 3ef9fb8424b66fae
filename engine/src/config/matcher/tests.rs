//! Tests for matcher parsing, display and matching.
