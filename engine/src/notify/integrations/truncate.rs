//! Provider limits: shortening texts the way upstream does (`notify.TruncateInRunes`
//! and `notify.TruncateInBytes`), ending a shortened text with `…`.

/// What a shortened text ends with.
pub const MARKER: &str = "…";

/// Shortens `s` to at most `n` characters (Unicode scalar values); says whether it cut.
/// A cut text ends with `…` when `n` > 3.
pub fn in_runes(s: &str, n: usize) -> (String, bool) {
    let Some((cut_at, _)) = s.char_indices().nth(n) else {
        return (s.to_string(), false);
    };
    if n <= 3 {
        return (s[..cut_at].to_string(), true);
    }
    let keep = s.char_indices().nth(n - 1).map_or(s.len(), |(i, _)| i);
    (format!("{}{MARKER}", &s[..keep]), true)
}

/// Shortens `s` to at most `n` bytes without splitting a character; says whether it
/// cut. A cut text ends with `…` (3 bytes) when `n` > 3; below that it is dots.
pub fn in_bytes(s: &str, n: usize) -> (String, bool) {
    if s.len() <= n {
        return (s.to_string(), false);
    }
    match n {
        3 => return (MARKER.to_string(), true),
        0..3 => return (".".repeat(n), true),
        _ => {}
    }
    let mut keep = n - MARKER.len();
    while !s.is_char_boundary(keep) {
        keep -= 1;
    }
    (format!("{}{MARKER}", &s[..keep]), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runes_keep_short_texts_and_mark_cuts() {
        assert_eq!(in_runes("abc", 3), ("abc".into(), false));
        assert_eq!(in_runes("abcdef", 5), ("abcd…".into(), true));
        assert_eq!(in_runes("äöüßé", 4), ("äöü…".into(), true));
        assert_eq!(in_runes("abcdef", 2), ("ab".into(), true));
    }

    #[test]
    fn bytes_never_split_a_character() {
        assert_eq!(in_bytes("abc", 3), ("abc".into(), false));
        assert_eq!(in_bytes("abcdefgh", 6), ("abc…".into(), true));
        // "ä" is two bytes: 7 - 3 = 4 bytes leave "ää".
        assert_eq!(in_bytes("äääää", 7), ("ää…".into(), true));
        // 8 - 3 = 5 bytes would split the third "ä".
        assert_eq!(in_bytes("äääää", 8), ("ää…".into(), true));
        assert_eq!(in_bytes("abcdef", 3), ("…".into(), true));
        assert_eq!(in_bytes("abcdef", 2), ("..".into(), true));
    }
}
