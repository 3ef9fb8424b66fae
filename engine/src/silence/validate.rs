//! Upstream's silence validation, with its messages.
//!
//! Upstream 0.34 stores matchers as a list of sets; the API gives one set, so the
//! messages name set 0 as upstream's do for a silence posted through the API.

use crate::config::matcher::{MatchType, Matcher, ParseMode, is_valid_label_name, with_parse_mode};

use super::model::{Silence, SilenceMatcher, is_zero_time};

/// Checks one matcher and compiles it; the message is upstream's.
fn compile_matcher(m: &SilenceMatcher, mode: ParseMode) -> Result<Matcher, String> {
    if !with_parse_mode(mode, || is_valid_label_name(&m.name)) {
        return Err(format!("invalid label name {:?}", m.name));
    }
    m.compile().map_err(|e| {
        if m.is_regex {
            format!("invalid regular expression {:?}: {e}", m.value)
        } else {
            e.to_string()
        }
    })
}

/// Whether a matcher matches a missing (empty) label: `=""` or a regex matching "".
fn matches_empty(m: &Matcher) -> bool {
    matches!(m.match_type, MatchType::Equal | MatchType::Regexp) && m.matches("")
}

/// Validates a silence as upstream does and returns its compiled matchers.
///
/// `mode` decides which label names are valid (`--enable-feature`: any non-empty UTF-8
/// name, or the classic `[a-zA-Z_][a-zA-Z0-9_]*` in classic mode).
pub fn validate(sil: &Silence, mode: ParseMode) -> Result<Vec<Matcher>, String> {
    if sil.matchers.is_empty() {
        return Err("matcher set 0 is empty".to_string());
    }
    let mut compiled = Vec::with_capacity(sil.matchers.len());
    for (i, m) in sil.matchers.iter().enumerate() {
        let c = compile_matcher(m, mode)
            .map_err(|e| format!("invalid label matcher {i} in set 0: {e}"))?;
        compiled.push(c);
    }
    if compiled.iter().all(matches_empty) {
        return Err(
            "matcher set 0: at least one matcher must not match the empty string".to_string(),
        );
    }
    if is_zero_time(sil.starts_at) {
        return Err("invalid zero start timestamp".to_string());
    }
    if is_zero_time(sil.ends_at) {
        return Err("invalid zero end timestamp".to_string());
    }
    if sil.ends_at < sil.starts_at {
        return Err("end time must not be before start time".to_string());
    }
    Ok(compiled)
}

/// Compiles the matchers of a silence that was valid when stored (snapshot, log, peer).
pub fn compile_stored(sil: &Silence) -> Result<Vec<Matcher>, String> {
    sil.matchers
        .iter()
        .map(|m| m.compile().map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silence::model::ZERO_TIME;
    use jiff::Timestamp;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn sil(matchers: &[(&str, &str, MatchType)]) -> Silence {
        Silence::new(
            matchers
                .iter()
                .map(|(n, v, t)| SilenceMatcher::new(n, v, *t))
                .collect(),
            ts(0),
            ts(60),
        )
    }

    fn err(s: &Silence) -> String {
        validate(s, ParseMode::Fallback).unwrap_err()
    }

    #[test]
    fn valid_silence_compiles_its_matchers() {
        let s = sil(&[
            ("job", "node", MatchType::Equal),
            ("env", "prod|dev", MatchType::Regexp),
        ]);
        let ms = validate(&s, ParseMode::Fallback).unwrap();
        assert!(
            ms[1].matches("dev") && !ms[1].matches("xdev"),
            "regexes are anchored"
        );
    }

    #[test]
    fn messages_are_upstreams() {
        assert_eq!(err(&sil(&[])), "matcher set 0 is empty");
        assert_eq!(
            err(&sil(&[
                ("job", "a", MatchType::Equal),
                ("", "x", MatchType::Equal)
            ])),
            "invalid label matcher 1 in set 0: invalid label name \"\""
        );
        let e = err(&sil(&[("job", "(", MatchType::Regexp)]));
        assert!(
            e.starts_with("invalid label matcher 0 in set 0: invalid regular expression \"(\": error parsing regexp: missing closing )"),
            "{e}"
        );
        assert_eq!(
            err(&sil(&[
                ("job", "", MatchType::Equal),
                ("env", ".*", MatchType::Regexp)
            ])),
            "matcher set 0: at least one matcher must not match the empty string"
        );
        let mut s = sil(&[("job", "a", MatchType::Equal)]);
        s.starts_at = ZERO_TIME;
        assert_eq!(err(&s), "invalid zero start timestamp");
        s.starts_at = ts(0);
        s.ends_at = ZERO_TIME;
        assert_eq!(err(&s), "invalid zero end timestamp");
        s.ends_at = ts(-1);
        assert_eq!(err(&s), "end time must not be before start time");
        s.ends_at = ts(0);
        assert!(
            validate(&s, ParseMode::Fallback).is_ok(),
            "start == end is allowed"
        );
    }

    #[test]
    fn negative_matchers_never_match_empty_and_names_follow_the_mode() {
        // `!=""` does not match an empty value, so this silence is acceptable.
        assert!(
            validate(
                &sil(&[("job", "", MatchType::NotEqual)]),
                ParseMode::Fallback
            )
            .is_ok()
        );
        let utf8 = sil(&[("service.name", "api", MatchType::Equal)]);
        assert!(validate(&utf8, ParseMode::Fallback).is_ok());
        assert_eq!(
            validate(&utf8, ParseMode::Classic).unwrap_err(),
            "invalid label matcher 0 in set 0: invalid label name \"service.name\""
        );
    }
}
