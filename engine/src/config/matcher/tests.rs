//! Tests for parse modes, display, (de)serialization and matching.

use proptest::prelude::*;

use super::*;
use MatchType::*;

fn m(name: &str, t: MatchType, value: &str) -> Matcher {
    Matcher::new(name, value, t).expect("valid matcher")
}

fn parse_in(mode: ParseMode, s: &str) -> Result<Vec<Matcher>, String> {
    parse_matchers_in(mode, s).map_err(|e| e.0)
}

#[test]
fn fallback_prefers_utf8_and_falls_back_to_classic() {
    let f = ParseMode::Fallback;
    assert_eq!(
        parse_in(f, "{foo=bar,bar=baz}"),
        Ok(vec![m("foo", Equal, "bar"), m("bar", Equal, "baz")])
    );
    // Only the UTF-8 parser accepts it.
    assert_eq!(parse_in(f, "foo🙂=bar"), Ok(vec![m("foo🙂", Equal, "bar")]));
    // Only the classic parser accepts it.
    assert_eq!(
        parse_in(f, r"foo=!bar\n"),
        Ok(vec![m("foo", Equal, "!bar\n")])
    );
    assert_eq!(parse_in(f, "foo=~a\\d"), Ok(vec![m("foo", Regexp, "a\\d")]));
    // Both accept it with different results: the classic result wins.
    assert_eq!(
        parse_in(f, r#"foo="\xf0\x9f\x99\x82""#),
        Ok(vec![m("foo", Equal, r"\xf0\x9f\x99\x82")])
    );
    // Neither: the classic error.
    assert_eq!(
        parse_in(f, "foo!bar"),
        Err("bad matcher format: foo!bar".to_string())
    );
}

#[test]
fn strict_modes() {
    assert_eq!(
        parse_in(ParseMode::Utf8Strict, "foo🙂=bar"),
        Ok(vec![m("foo🙂", Equal, "bar")])
    );
    assert_eq!(
        parse_in(ParseMode::Utf8Strict, r"foo=!bar\n"),
        Err("4:5: !: expected one of '=~': expected label value".to_string())
    );
    assert_eq!(
        parse_in(ParseMode::Classic, "foo🙂=bar"),
        Err("bad matcher format: foo🙂=bar".to_string())
    );
    assert_eq!(
        parse_in(ParseMode::Classic, r"foo=!bar\n"),
        Ok(vec![m("foo", Equal, "!bar\n")])
    );
    assert_eq!(
        parse_in(ParseMode::Classic, r#"foo="\xf0\x9f\x99\x82""#),
        Ok(vec![m("foo", Equal, r"\xf0\x9f\x99\x82")])
    );
    assert_eq!(
        parse_in(ParseMode::Utf8Strict, r#"foo="\xf0\x9f\x99\x82""#),
        Ok(vec![m("foo", Equal, "🙂")])
    );
}

#[test]
fn single_matcher_parsing() {
    let one = |mode, s: &str| parse_matcher_in(mode, s).map_err(|e| e.0);
    assert_eq!(one(ParseMode::Fallback, "a=b"), Ok(m("a", Equal, "b")));
    assert_eq!(
        one(ParseMode::Fallback, "{a=b}"),
        Err("unexpected open or close brace: {a=b}".to_string())
    );
    assert_eq!(
        one(ParseMode::Utf8Strict, "a=b}"),
        Err("unexpected open or close brace: a=b}".to_string())
    );
    assert_eq!(
        one(ParseMode::Utf8Strict, "a=b,c=d"),
        Err("expected 1 matcher, found 2".to_string())
    );
    // The classic single-matcher parser takes the whole text as the value.
    assert_eq!(
        one(ParseMode::Classic, "{a=b}"),
        Err("bad matcher format: {a=b}".to_string())
    );
    assert_eq!(
        one(ParseMode::Classic, "a=b,c=d"),
        Ok(m("a", Equal, "b,c=d"))
    );
    assert_eq!(
        one(ParseMode::Fallback, "a=b,c=d"),
        Ok(m("a", Equal, "b,c=d"))
    );
}

#[test]
fn mode_is_thread_local_and_restored() {
    assert_eq!(parse_mode(), ParseMode::Fallback);
    with_parse_mode(ParseMode::Classic, || {
        assert_eq!(parse_mode(), ParseMode::Classic);
        assert!(parse_matchers("foo🙂=bar").is_err());
        with_parse_mode(ParseMode::Utf8Strict, || {
            assert!(parse_matchers("foo🙂=bar").is_ok())
        });
        assert_eq!(parse_mode(), ParseMode::Classic);
        std::thread::spawn(|| assert_eq!(parse_mode(), ParseMode::Fallback))
            .join()
            .expect("thread");
    });
    assert_eq!(parse_mode(), ParseMode::Fallback);
    let r = std::panic::catch_unwind(|| with_parse_mode(ParseMode::Classic, || panic!("boom")));
    assert!(r.is_err());
    assert_eq!(parse_mode(), ParseMode::Fallback);
}

#[test]
fn label_name_validity_follows_mode() {
    assert!(is_valid_label_name("foo🙂"));
    assert!(is_valid_label_name("1a"));
    assert!(!is_valid_label_name(""));
    with_parse_mode(ParseMode::Utf8Strict, || {
        assert!(is_valid_label_name("a b"))
    });
    with_parse_mode(ParseMode::Classic, || {
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("foo🙂"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name("a:b"));
    });
    assert!(is_classic_label_name("Foo_9"));
    assert!(!is_classic_label_name("9"));
    assert!(!is_classic_label_name(""));
}

#[test]
fn display() {
    assert_eq!(m("foo", Equal, "bar").to_string(), r#"foo="bar""#);
    assert_eq!(m("foo", NotEqual, "").to_string(), r#"foo!="""#);
    assert_eq!(m("foo", Regexp, "a\\d+").to_string(), r#"foo=~"a\\d+""#);
    assert_eq!(m("foo", NotRegexp, "x").to_string(), r#"foo!~"x""#);
    assert_eq!(
        m("a:b", Equal, "q\"u\no\\te\t").to_string(),
        "a:b=\"q\\\"u\\no\\\\te\t\""
    );
    assert_eq!(m("foo bar", Equal, "é\t").to_string(), r#""foo bar"="é\t""#);
    assert_eq!(
        m("foo🙂", Equal, "\u{7}x\u{85}").to_string(),
        r#""foo🙂"="\ax\u0085""#
    );
    assert_eq!(m("", Equal, "").to_string(), r#"""="""#);
    assert_eq!(m("1a", Equal, "v").to_string(), r#""1a"="v""#);
    let ms = Matchers(vec![m("a", Equal, "b"), m("c d", Regexp, "e")]);
    assert_eq!(ms.to_string(), r#"{a="b","c d"=~"e"}"#);
    assert_eq!(Matchers::default().to_string(), "{}");
}

#[test]
fn display_of_classic_names_is_read_by_classic_parser() {
    // What Alertmanager 0.25 reads back.
    let orig = m("foo", Equal, "a\"b\\c\nd, e}");
    assert_eq!(
        classic::parse_matchers(&orig.to_string()),
        Ok(vec![orig.clone()])
    );
    assert_eq!(utf8::parse_matchers(&orig.to_string()), Ok(vec![orig]));
}

#[test]
fn matchers_deserialize_split_sort_and_follow_mode() {
    let ms: Matchers =
        serde_json::from_str(r#"["b=~x, a!=y", "{a=\"x\"}", "c=z,"]"#).expect("parse");
    assert_eq!(
        ms.0,
        vec![
            m("a", Equal, "x"),
            m("a", NotEqual, "y"),
            m("b", Regexp, "x"),
            m("c", Equal, "z")
        ]
    );
    let err =
        crate::config::deserialize_yaml::<Matchers>(r#"["a=b", "foo!bar"]"#).expect_err("bad");
    assert_eq!(err.path_and_message(), "[1]: bad matcher format: foo!bar");
    let err = with_parse_mode(ParseMode::Classic, || {
        crate::config::deserialize_yaml::<Matchers>(r#"["a🙂=b"]"#).expect_err("bad")
    });
    assert_eq!(err.path_and_message(), "[0]: bad matcher format: a🙂=b");
    let ms: Matchers = serde_json::from_str(r#"["a🙂=b"]"#).expect("utf-8");
    assert_eq!(ms.0, vec![m("a🙂", Equal, "b")]);
    let ms: Matchers = serde_json::from_str("[]").expect("empty");
    assert!(ms.is_empty());
}

#[test]
fn matchers_serialize() {
    let ms = Matchers(vec![m("a", Equal, "b"), m("c d", NotRegexp, "e.*")]);
    assert_eq!(
        serde_json::to_string(&ms).expect("json"),
        r#"["a=\"b\"","\"c d\"!~\"e.*\""]"#
    );
}

#[test]
fn sort_order_is_name_value_type() {
    let mut ms = Matchers(vec![
        m("b", Equal, "a"),
        m("a", NotRegexp, "z"),
        m("a", Equal, "z"),
        m("a", NotEqual, "b"),
    ]);
    ms.sort();
    assert_eq!(
        ms.0,
        vec![
            m("a", NotEqual, "b"),
            m("a", Equal, "z"),
            m("a", NotRegexp, "z"),
            m("b", Equal, "a")
        ]
    );
}

#[test]
fn match_regexps() {
    let r: MatchRegexps = serde_json::from_str(r#"{"a": "fo+", "b": ""}"#).expect("parse");
    assert!(r.0["a"].is_match("foo"));
    assert!(!r.0["a"].is_match("xfoo"));
    assert!(r.0["b"].is_match(""));
    assert_eq!(
        serde_json::to_string(&r).expect("json"),
        r#"{"a":"fo+","b":""}"#
    );
    let err = crate::config::deserialize_yaml::<MatchRegexps>(r#"{"a": "(x"}"#).expect_err("bad");
    assert_eq!(
        err.path_and_message(),
        "a: error parsing regexp: missing closing ): `^(?:(x)$`"
    );
}

#[test]
fn label_set_matching() {
    let labels = [("job", "api"), ("env", "prod"), ("empty", "")];
    let get = |n: &str| labels.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
    let ms = |s: &str| Matchers(parse_matchers_in(ParseMode::Fallback, s).expect("parse"));
    assert!(ms("").matches(get));
    assert!(ms("job=api, env=~pr.*").matches(get));
    assert!(!ms("job=api, env=~pr").matches(get));
    assert!(ms("job!~x|y, env!=dev").matches(get));
    // A missing label matches the empty value.
    assert!(ms(r#"missing="""#).matches(get));
    assert!(ms("missing=~.*").matches(get));
    assert!(!ms("missing=~.+").matches(get));
    assert!(!ms(r#"missing!="""#).matches(get));
    assert!(ms(r#"empty="""#).matches(get));
    assert!(!ms(r#"empty!="""#).matches(get));
    // Regexes are anchored.
    assert!(!ms("job=~p").matches(get));
    assert!(ms("job=~a.*|x").matches(get));
}

#[test]
fn matcher_equality_ignores_compiled_regex() {
    assert_eq!(m("a", Regexp, "x+"), m("a", Regexp, "x+"));
    assert_ne!(m("a", Regexp, "x+"), m("a", NotRegexp, "x+"));
    assert_ne!(m("a", Regexp, "x+"), m("a", Regexp, "x*"));
    assert_ne!(m("a", Equal, "x"), m("b", Equal, "x"));
    assert_eq!(
        Matcher::new("a", "(", Regexp).map_err(|e| e.0),
        Err("error parsing regexp: missing closing ): `^(?:()$`".to_string())
    );
}

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,8}",
        "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
        any::<String>(),
        "[ a-z0-9=!~,{}\"'`\\\\\n\t🙂é]{0,8}",
    ]
}

fn arb_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ a-z0-9=!~,{}\"'`\\\\\n\t\r🙂é\\x00-\\x1f\\u{80}-\\u{9f}]{0,12}",
        Just(String::new())
    ]
}

fn arb_matcher() -> impl Strategy<Value = Matcher> {
    (arb_name(), arb_value(), 0..4u8).prop_filter_map("valid matcher", |(name, value, t)| {
        let t = [Equal, NotEqual, Regexp, NotRegexp][usize::from(t)];
        // Regex values: quote the text so it is always a valid expression.
        let value = if t.is_regex() {
            regex_quote(&value)
        } else {
            value
        };
        Matcher::new(&name, &value, t).ok()
    })
}

/// Escapes Go regex metacharacters.
fn regex_quote(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn display_round_trips(ms in proptest::collection::vec(arb_matcher(), 0..4)) {
        for mt in &ms {
            let text = mt.to_string();
            prop_assert_eq!(parse_matchers_in(ParseMode::Fallback, &text), Ok(vec![mt.clone()]), "{}", text);
            prop_assert_eq!(parse_matchers_in(ParseMode::Utf8Strict, &text), Ok(vec![mt.clone()]), "{}", text);
            prop_assert_eq!(parse_matcher_in(ParseMode::Fallback, &text), Ok(mt.clone()), "{}", text);
            if is_classic_parser_name(&mt.name) {
                prop_assert_eq!(parse_matchers_in(ParseMode::Classic, &text), Ok(vec![mt.clone()]), "{}", text);
            }
        }
        // A whole list, as `{...}`.
        let list = Matchers(ms.clone()).to_string();
        prop_assert_eq!(parse_matchers_in(ParseMode::Fallback, &list), Ok(ms.clone()), "{}", list);
        // And through the YAML-facing (de)serialization.
        let json = serde_json::to_string(&Matchers(ms.clone())).expect("json");
        let back: Matchers = serde_json::from_str(&json).expect("parse back");
        let mut sorted = Matchers(ms);
        sorted.sort();
        prop_assert_eq!(back, sorted);
    }

    #[test]
    fn parsers_never_panic(s in any::<String>()) {
        let _ = classic::parse_matchers(&s);
        let _ = utf8::parse_matchers(&s);
        let _ = parse_matchers_in(ParseMode::Fallback, &s);
        let _ = parse_matcher_in(ParseMode::Fallback, &s);
    }

    #[test]
    fn regex_translation_never_panics(s in "[a-z()\\[\\]{}|*+?^$.\\\\:PQEbBdDwWsSpx0-9,<>&~-]{0,16}") {
        let _ = GoRegex::new_anchored(&s);
    }
}
