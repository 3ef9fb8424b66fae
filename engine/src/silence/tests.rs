//! Tests of the silence store: update rules, state machine, limits, GC, matching,
//! persistence and crash recovery, declarative silences and metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use proptest::prelude::*;

use super::index::{Entry, Index, MuteCache};
use super::persist::{LOG_FILE, SNAPSHOT_FILE};
use super::*;
use crate::alert::LabelSet;
use crate::clock::Clock;
use crate::config::matcher::{MatchType, ParseMode};

fn t0() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

async fn advance(secs: u64) {
    tokio::time::advance(Duration::from_secs(secs)).await;
}

fn eq(name: &str, value: &str) -> SilenceMatcher {
    SilenceMatcher::new(name, value, MatchType::Equal)
}

fn silence(matchers: Vec<SilenceMatcher>, start: i64, end: i64) -> Silence {
    let mut s = Silence::new(matchers, at(start), at(end));
    s.created_by = "tester".into();
    s.comment = "test".into();
    s
}

fn store_with(options: SilencesOptions) -> Silences {
    Silences::in_memory(options, Clock::starting_at(t0()))
}

fn store() -> Silences {
    store_with(SilencesOptions::default())
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().copied())
}

fn ids(v: &Arc<[Arc<str>]>) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn new_silence_gets_a_uuid_and_starts_now_at_the_earliest() {
    let s = store();
    let id = s.set(silence(vec![eq("job", "a")], -100, 3600)).unwrap();
    let parsed = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
    let got = s.get(&id).unwrap();
    assert_eq!(got.starts_at, t0(), "a start in the past is moved to now");
    assert_eq!(got.updated_at, t0());
    assert_eq!(got.state_at(s.now()), SilenceState::Active);
    // A zero start means now too.
    let mut z = silence(vec![eq("job", "b")], 0, 60);
    z.starts_at = ZERO_TIME;
    let id = s.set(z).unwrap();
    assert_eq!(s.get(&id).unwrap().starts_at, t0());
}

#[tokio::test(start_paused = true)]
async fn invalid_and_unknown_silences_are_refused() {
    let s = store();
    let err = s.set(silence(vec![eq("job", "")], 0, 60)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid silence: matcher set 0: at least one matcher must not match the empty string"
    );
    let mut unknown = silence(vec![eq("job", "a")], 0, 60);
    unknown.id = "does-not-exist".into();
    assert!(matches!(s.set(unknown), Err(SilenceError::NotFound)));
    assert!(matches!(s.expire("nope"), Err(SilenceError::NotFound)));
    assert_eq!(SilenceError::NotFound.to_string(), "silence not found");
}

#[tokio::test(start_paused = true)]
async fn active_silence_with_same_matchers_and_start_is_updated_in_place() {
    let s = store();
    let id = s.set(silence(vec![eq("job", "a")], 0, 3600)).unwrap();
    advance(60).await;
    let mut upd = s.get(&id).unwrap();
    upd.ends_at = at(7200);
    upd.comment = "longer".into();
    assert_eq!(s.set(upd).unwrap(), id);
    let got = s.get(&id).unwrap();
    assert_eq!((got.ends_at, got.comment.as_str()), (at(7200), "longer"));
    assert_eq!(got.updated_at, at(60));
    assert_eq!(s.list().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn changing_matchers_or_an_active_start_expires_the_old_and_creates_a_new_id() {
    let s = store();
    let id = s.set(silence(vec![eq("job", "a")], 0, 3600)).unwrap();
    advance(60).await;
    let mut upd = s.get(&id).unwrap();
    upd.matchers = vec![eq("job", "b")];
    let new_id = s.set(upd).unwrap();
    assert_ne!(new_id, id);
    let old = s.get(&id).unwrap();
    assert_eq!(old.ends_at, at(60), "the old one ends now");
    assert_eq!(old.state_at(s.now()), SilenceState::Expired);
    assert_eq!(
        s.get(&new_id).unwrap().state_at(s.now()),
        SilenceState::Active
    );

    // Moving the start of an active silence is history-changing too.
    let mut moved = s.get(&new_id).unwrap();
    moved.starts_at = at(120);
    let third = s.set(moved).unwrap();
    assert_ne!(third, new_id);
    assert_eq!(s.get(&third).unwrap().starts_at, at(120));
    assert_eq!(
        s.get(&third).unwrap().state_at(s.now()),
        SilenceState::Pending
    );
    assert_eq!(s.list().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn pending_silence_is_updated_in_place_unless_its_start_goes_to_the_past() {
    let s = store();
    let id = s.set(silence(vec![eq("job", "a")], 600, 3600)).unwrap();
    let mut later = s.get(&id).unwrap();
    later.starts_at = at(900);
    assert_eq!(s.set(later).unwrap(), id);
    assert_eq!(s.get(&id).unwrap().starts_at, at(900));
    // A start in the past cannot be an in-place change of a pending silence.
    let mut past = s.get(&id).unwrap();
    past.starts_at = at(-10);
    let new_id = s.set(past).unwrap();
    assert_ne!(new_id, id);
    assert_eq!(s.get(&new_id).unwrap().starts_at, t0());
    let old = s.get(&id).unwrap();
    assert_eq!(
        (old.starts_at, old.ends_at),
        (t0(), t0()),
        "pending: expired as start=end=now"
    );
}

#[tokio::test(start_paused = true)]
async fn updating_an_expired_silence_creates_a_new_one_and_keeps_the_old() {
    let s = store();
    let id = s.set(silence(vec![eq("job", "a")], 0, 60)).unwrap();
    advance(120).await;
    let mut again = s.get(&id).unwrap();
    again.ends_at = at(3600);
    let new_id = s.set(again).unwrap();
    assert_ne!(new_id, id);
    assert_eq!(s.get(&id).unwrap().ends_at, at(60), "history untouched");
}

#[tokio::test(start_paused = true)]
async fn expire_follows_the_state_machine() {
    let s = store();
    let active = s.set(silence(vec![eq("job", "a")], 0, 3600)).unwrap();
    let pending = s.set(silence(vec![eq("job", "b")], 600, 3600)).unwrap();
    advance(30).await;
    assert_eq!(s.expire(&active).unwrap(), Expired::Now);
    let a = s.get(&active).unwrap();
    assert_eq!((a.starts_at, a.ends_at), (t0(), at(30)));
    assert_eq!(a.state_at(s.now()), SilenceState::Expired);
    assert_eq!(s.expire(&pending).unwrap(), Expired::Now);
    let p = s.get(&pending).unwrap();
    assert_eq!((p.starts_at, p.ends_at), (at(30), at(30)));
    assert_eq!(p.state_at(s.now()), SilenceState::Expired);
    let before = s.version();
    assert_eq!(s.expire(&active).unwrap(), Expired::Already);
    assert_eq!(s.version(), before, "expiring twice changes nothing");
}

#[tokio::test(start_paused = true)]
async fn limits_use_upstreams_messages() {
    let s = store_with(SilencesOptions {
        max_silences: 2,
        ..SilencesOptions::default()
    });
    let a = s.set(silence(vec![eq("job", "a")], 0, 60)).unwrap();
    s.set(silence(vec![eq("job", "b")], 0, 60)).unwrap();
    let err = s.set(silence(vec![eq("job", "c")], 0, 60)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "exceeded maximum number of silences: 2 (limit: 2)"
    );
    // Expired silences count until collected; in-place updates do not need room.
    let mut upd = s.get(&a).unwrap();
    upd.ends_at = at(120);
    assert_eq!(s.set(upd).unwrap(), a);

    let s = store_with(SilencesOptions {
        max_silence_size_bytes: 500,
        ..SilencesOptions::default()
    });
    s.set(silence(vec![eq("job", "a")], 0, 60)).unwrap();
    let mut big = silence(vec![eq("job", "a")], 0, 60);
    big.comment = "x".repeat(500);
    let err = s.set(big).unwrap_err().to_string();
    assert!(
        err.starts_with("silence exceeded maximum size: ")
            && err.ends_with(" bytes (limit: 500 bytes)"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn gc_removes_silences_once_retention_after_their_end_has_passed() {
    let s = store_with(SilencesOptions {
        retention: Duration::from_secs(3600),
        ..SilencesOptions::default()
    });
    let short = s.set(silence(vec![eq("job", "a")], 0, 60)).unwrap();
    let long = s.set(silence(vec![eq("job", "b")], 0, 7200)).unwrap();
    advance(60 + 3599).await;
    assert_eq!(s.gc(), 0);
    advance(1).await;
    assert_eq!(s.gc(), 1);
    assert!(s.get(&short).is_none());
    assert!(s.get(&long).is_some());
    assert!(matches!(s.expire(&short), Err(SilenceError::NotFound)));
}

#[tokio::test(start_paused = true)]
async fn matching_follows_matchers_and_time() {
    let s = store();
    let web = s.set(silence(vec![eq("job", "web")], 0, 600)).unwrap();
    let regex = s
        .set(silence(
            vec![SilenceMatcher::new("instance", "db-.*", MatchType::Regexp)],
            0,
            600,
        ))
        .unwrap();
    let negative = s
        .set(silence(
            vec![
                eq("team", "ops"),
                SilenceMatcher::new("env", "prod", MatchType::NotEqual),
            ],
            0,
            600,
        ))
        .unwrap();
    let later = s.set(silence(vec![eq("job", "web")], 300, 900)).unwrap();

    let alert = labels(&[("job", "web"), ("instance", "db-1")]);
    let mut expect = vec![web.clone(), regex.clone()];
    expect.sort();
    assert_eq!(ids(&s.silenced_by(&alert)), expect);
    assert!(!s.mutes(&labels(&[("job", "api")])));
    assert_eq!(
        ids(&s.silenced_by(&labels(&[("team", "ops")]))),
        vec![negative.clone()]
    );
    assert!(!s.mutes(&labels(&[("team", "ops"), ("env", "prod")])));

    // The pending silence starts muting at its start, from the cached result too.
    advance(300).await;
    let mut expect = vec![web.clone(), regex.clone(), later.clone()];
    expect.sort();
    assert_eq!(ids(&s.silenced_by(&alert)), expect);
    // Ends are exclusive.
    advance(300).await;
    assert_eq!(ids(&s.silenced_by(&alert)), vec![later.clone()]);
    // Expiring through the API unmutes at once.
    s.expire(&later).unwrap();
    assert!(!s.mutes(&alert));
    // A new silence mutes alerts already cached as not muted.
    let fresh = s
        .set(silence(vec![eq("instance", "db-1")], 600, 660))
        .unwrap();
    assert_eq!(ids(&s.silenced_by(&alert)), vec![fresh]);
}

#[tokio::test(start_paused = true)]
async fn state_counts_and_metrics() {
    let s = store();
    s.set(silence(vec![eq("job", "a")], 0, 60)).unwrap();
    s.set(silence(vec![eq("job", "b")], 600, 700)).unwrap();
    let expired = s.set(silence(vec![eq("job", "c")], 0, 60)).unwrap();
    s.expire(&expired).unwrap();
    let counts = s.count_states();
    assert_eq!(counts[&SilenceState::Active], 1);
    assert_eq!(counts[&SilenceState::Pending], 1);
    assert_eq!(counts[&SilenceState::Expired], 1);
    s.mutes(&labels(&[("job", "a")]));
    let mut registry = prometheus_client::registry::Registry::default();
    s.metrics().register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    for line in [
        "alertmanager_silences{state=\"active\"} 1",
        "alertmanager_silences{state=\"pending\"} 1",
        "alertmanager_silences{state=\"expired\"} 1",
        "alertmanager_silences_queries_total 1",
        "alertmanager_silences_query_errors_total 0",
        "alertmanager_silences_maintenance_total 0",
        "alertmanager_silences_maintenance_errors_total 0",
        "alertmanager_silences_snapshot_size_bytes 0",
        "alertmanager_silences_gc_duration_seconds_count 0",
        "alertmanager_silences_snapshot_duration_seconds_count 0",
        "alertmanager_silences_query_duration_seconds_count 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Matching against a naive reference.

/// The reference: scan every silence, check state and every matcher by hand.
fn naive(silences: &[Silence], labels: &BTreeMap<String, String>, now: Timestamp) -> Vec<String> {
    let mut out: Vec<String> = silences
        .iter()
        .filter(|s| now >= s.starts_at && now < s.ends_at)
        .filter(|s| {
            s.matchers.iter().all(|m| {
                let v = labels.get(&m.name).map_or("", String::as_str);
                let hit = if m.is_regex {
                    regex::Regex::new(&format!("^(?:{})$", m.value))
                        .unwrap()
                        .is_match(v)
                } else {
                    v == m.value
                };
                hit == m.is_equal
            })
        })
        .map(|s| s.id.clone())
        .collect();
    out.sort();
    out
}

fn arb_matcher() -> impl Strategy<Value = SilenceMatcher> {
    let name = prop::sample::select(vec!["a", "b", "c"]);
    let plain = prop::sample::select(vec!["", "x", "y", "z"]);
    let regex = prop::sample::select(vec!["", "x", "x|y", "x.*", ".*", "[yz]", ".+"]);
    prop_oneof![
        (name.clone(), plain.clone()).prop_map(|(n, v)| SilenceMatcher::new(
            n,
            v,
            MatchType::Equal
        )),
        (name.clone(), plain).prop_map(|(n, v)| SilenceMatcher::new(n, v, MatchType::NotEqual)),
        (name.clone(), regex.clone()).prop_map(|(n, v)| SilenceMatcher::new(
            n,
            v,
            MatchType::Regexp
        )),
        (name, regex).prop_map(|(n, v)| SilenceMatcher::new(n, v, MatchType::NotRegexp)),
    ]
}

fn arb_silence() -> impl Strategy<Value = (Vec<SilenceMatcher>, i64, i64)> {
    (
        prop::collection::vec(arb_matcher(), 1..4),
        0i64..40,
        0i64..40,
    )
        .prop_map(|(m, start, len)| (m, start, start + len))
}

fn arb_labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(String::from),
        prop::sample::select(vec!["x", "y", "z", "xx"]).prop_map(String::from),
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn index_and_cache_agree_with_a_full_scan(
        specs in prop::collection::vec(arb_silence(), 0..30),
        alerts in prop::collection::vec(arb_labels(), 1..6),
        times in prop::collection::vec(0i64..50, 1..5),
        changes in prop::collection::vec(0u8..3, 0..30),
    ) {
        let mut silences = Vec::new();
        let mut entries = HashMap::new();
        for (i, (matchers, start, end)) in specs.into_iter().enumerate() {
            let mut s = Silence::new(matchers, at(start), at(end));
            s.id = format!("s{i:02}");
            // Only valid silences can be stored.
            let Ok(compiled) = validate::validate(&s, ParseMode::Fallback) else { continue };
            let e = Arc::new(Entry { id: s.id.as_str().into(), silence: s.clone(), matchers: compiled, expires_at: at(10_000) });
            entries.insert(e.id.clone(), e);
            silences.push(s);
        }
        let mut index = Index::build(1, entries.into_values(), at(0));
        // Changes go through the same copy-on-write paths as the store's: replace some
        // silences by a copy ending earlier, remove others.
        let snapshot_before = index.clone();
        let len_before = index.len();
        let mut kept = Vec::new();
        for (i, s) in silences.into_iter().enumerate() {
            match changes.get(i).copied().unwrap_or(0) {
                1 => { index.remove(&s.id); }
                2 => {
                    let mut shorter = s.clone();
                    shorter.ends_at = shorter.starts_at.max(shorter.ends_at - jiff::SignedDuration::from_secs(5));
                    let compiled = validate::validate(&shorter, ParseMode::Fallback).unwrap();
                    index.upsert(Arc::new(Entry { id: s.id.as_str().into(), silence: shorter.clone(), matchers: compiled, expires_at: at(10_000) }), at(0));
                    kept.push(shorter);
                }
                _ => kept.push(s),
            }
        }
        let silences = kept;
        prop_assert_eq!(index.len(), silences.len());
        prop_assert_eq!(snapshot_before.len(), len_before, "earlier clones are unaffected");
        let cache = MuteCache::default();
        let mut times = times;
        times.sort();
        for t in times {
            for a in &alerts {
                let ls = LabelSet::from_pairs(a.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let (got, _) = cache.silenced_by(&index, ls.fingerprint(), &ls, at(t));
                let got: Vec<String> = got.iter().map(|s| s.to_string()).collect();
                prop_assert_eq!(got, naive(&silences, a, at(t)), "alert {:?} at {}", a, t);
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Persistence.

fn disk_options(dir: &std::path::Path) -> SilencesOptions {
    SilencesOptions {
        storage_dir: Some(dir.to_path_buf()),
        ..SilencesOptions::default()
    }
}

fn open(dir: &std::path::Path) -> Silences {
    Silences::open(disk_options(dir), Clock::starting_at(t0())).unwrap()
}

fn sorted(mut v: Vec<Silence>) -> Vec<Silence> {
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

#[tokio::test(start_paused = true)]
async fn every_acknowledged_change_survives_a_restart_without_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let a = s.set(silence(vec![eq("job", "a")], 0, 3600)).unwrap();
    let mut b = silence(vec![eq("job", "b")], 0, 3600);
    b.annotations.insert("ticket".into(), "OPS-1".into());
    let b = s.set(b).unwrap();
    s.expire(&a).unwrap();
    let before = sorted(s.list());
    // No maintenance ran: the changes are only in the log. Dropping the store is as
    // abrupt as a kill here, since nothing is flushed on drop.
    drop(s);
    let s = open(dir.path());
    assert_eq!(sorted(s.list()), before);
    assert!(s.recovery_issues().is_empty());
    assert!(s.mutes(&labels(&[("job", "b")])));
    assert_eq!(s.get(&b).unwrap().annotations["ticket"], "OPS-1");
    // Opening folded the log into the snapshot.
    assert_eq!(
        std::fs::metadata(dir.path().join(LOG_FILE)).unwrap().len(),
        persist::LOG_HEADER.len() as u64
    );
}

#[tokio::test(start_paused = true)]
async fn snapshot_round_trip_through_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for i in 0..20 {
        s.set(silence(vec![eq("job", &format!("j{i}"))], 0, 3600))
            .unwrap();
    }
    let size = s.maintenance().unwrap();
    assert_eq!(
        size,
        std::fs::metadata(dir.path().join(SNAPSHOT_FILE))
            .unwrap()
            .len()
    );
    let before = sorted(s.list());
    let id = s.set(silence(vec![eq("job", "after")], 0, 3600)).unwrap();
    drop(s);
    let s = open(dir.path());
    let after = sorted(s.list());
    assert_eq!(after.len(), 21);
    assert!(
        s.get(&id).is_some(),
        "changes after the snapshot come from the log"
    );
    assert!(before.iter().all(|b| after.contains(b)));
}

#[tokio::test(start_paused = true)]
async fn torn_last_log_record_is_dropped_at_every_offset() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let a = s.set(silence(vec![eq("job", "a")], 0, 3600)).unwrap();
    let b = s.set(silence(vec![eq("job", "b")], 0, 3600)).unwrap();
    let log_path = dir.path().join(LOG_FILE);
    let before_last = std::fs::metadata(&log_path).unwrap().len() as usize;
    let c = s.set(silence(vec![eq("job", "c")], 0, 3600)).unwrap();
    drop(s);
    let log = std::fs::read(&log_path).unwrap();
    let snap = std::fs::read(dir.path().join(SNAPSHOT_FILE)).unwrap();
    for cut in before_last..=log.len() {
        std::fs::write(dir.path().join(SNAPSHOT_FILE), &snap).unwrap();
        std::fs::write(&log_path, &log[..cut]).unwrap();
        let s = open(dir.path());
        assert!(s.get(&a).is_some() && s.get(&b).is_some(), "cut at {cut}");
        assert_eq!(s.get(&c).is_some(), cut == log.len(), "cut at {cut}");
        let torn = cut != before_last && cut != log.len();
        assert_eq!(s.recovery_issues().len(), usize::from(torn), "cut at {cut}");
        if torn {
            let issue = &s.recovery_issues()[0];
            assert!(
                issue.contains(LOG_FILE) && issue.contains(&format!("byte offset {before_last}")),
                "{issue}"
            );
        }
        // The store keeps working after recovery, and its state survives another restart.
        s.set(silence(vec![eq("job", "d")], 0, 3600)).unwrap();
        let state = sorted(s.list());
        drop(s);
        assert_eq!(sorted(open(dir.path()).list()), state, "cut at {cut}");
    }
}

#[tokio::test(start_paused = true)]
async fn corrupt_snapshot_is_kept_aside_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let a = s.set(silence(vec![eq("job", "a")], 0, 3600)).unwrap();
    s.maintenance().unwrap();
    let b = s.set(silence(vec![eq("job", "b")], 0, 3600)).unwrap();
    drop(s);
    let snap_path = dir.path().join(SNAPSHOT_FILE);
    let mut bytes = std::fs::read(&snap_path).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 0xff;
    std::fs::write(&snap_path, &bytes).unwrap();

    let s = open(dir.path());
    assert!(
        s.get(&a).is_none(),
        "the damaged snapshot's silences are not guessed at"
    );
    assert!(s.get(&b).is_some(), "the log is still replayed");
    let issues = s.recovery_issues();
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0].contains("silences.larum: corrupt at byte offset"),
        "{}",
        issues[0]
    );
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read(&aside[0]).unwrap(), bytes, "kept as it was");
    // A fresh, readable snapshot replaced it.
    drop(s);
    let s = open(dir.path());
    assert!(s.recovery_issues().is_empty());
    assert!(s.get(&b).is_some());
}

#[tokio::test(start_paused = true)]
async fn truncated_snapshot_and_foreign_files_never_stop_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.set(silence(vec![eq("job", "a")], 0, 3600)).unwrap();
    s.maintenance().unwrap();
    drop(s);
    let snap_path = dir.path().join(SNAPSHOT_FILE);
    let full = std::fs::read(&snap_path).unwrap();
    for cut in [0, 5, full.len() / 2, full.len() - 1] {
        std::fs::write(&snap_path, &full[..cut]).unwrap();
        let s = open(dir.path());
        assert_eq!(s.recovery_issues().len(), 1, "cut at {cut}");
        assert!(s.recovery_issues()[0].contains("corrupt at byte offset"));
    }
    // Upstream's protobuf snapshot under our name, and garbage as the log.
    std::fs::write(&snap_path, b"\x8a\x01\n$0f2f...").unwrap();
    std::fs::write(dir.path().join(LOG_FILE), b"garbage").unwrap();
    let s = open(dir.path());
    assert_eq!(s.recovery_issues().len(), 2);
    assert!(s.list().is_empty());
}

// ---------------------------------------------------------------------------------
// Declarative silences.

fn write_file(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("silences.yml");
    std::fs::write(&path, text).unwrap();
    path
}

const FILE_V1: &str = r#"
- id: db-maintenance
  matchers:
    - 'service="db"'
    - name: env
      value: prod|staging
      isRegex: true
  startsAt: 2023-11-14T22:13:20Z
  endsAt: 2023-11-15T22:13:20Z
  createdBy: platform
  comment: failover
  annotations: {ticket: OPS-1}
- id: noisy
  matchers: ['alertname="Noisy"']
  endsAt: 2023-11-15T22:13:20Z
"#;

#[tokio::test(start_paused = true)]
async fn silences_file_adds_changes_and_removes() {
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let path = write_file(dir.path(), FILE_V1);
    let r = declarative::load_file(&s, &path, ParseMode::Fallback).unwrap();
    assert_eq!(r.created, vec!["db-maintenance", "noisy"]);
    let db = s.get("db-maintenance").unwrap();
    assert_eq!(db.origin, Origin::File(path.display().to_string()));
    assert_eq!(db.annotations["ticket"], "OPS-1");
    assert!(s.mutes(&labels(&[("service", "db"), ("env", "staging")])));
    assert!(!s.mutes(&labels(&[("service", "db"), ("env", "dev")])));
    assert_eq!(
        s.get("noisy").unwrap().starts_at,
        t0(),
        "no start: the load time"
    );

    // Loading the same file again changes nothing, even later.
    advance(60).await;
    let version = s.version();
    let r = declarative::load_file(&s, &path, ParseMode::Fallback).unwrap();
    assert_eq!((r.unchanged, r.created.len(), r.updated.len()), (2, 0, 0));
    assert_eq!(s.version(), version);
    assert_eq!(
        s.get("noisy").unwrap().starts_at,
        t0(),
        "the first load's start is kept"
    );

    // Change one (its matchers too: the ID is stable), drop the other.
    let v2 = r#"
- id: db-maintenance
  matchers: ['service="postgres"']
  startsAt: 2023-11-14T22:13:20Z
  endsAt: 2023-11-15T22:13:20Z
"#;
    write_file(dir.path(), v2);
    let r = declarative::load_file(&s, &path, ParseMode::Fallback).unwrap();
    assert_eq!(r.updated, vec!["db-maintenance"]);
    assert_eq!(r.expired, vec!["noisy"]);
    assert!(s.mutes(&labels(&[("service", "postgres")])));
    assert!(!s.mutes(&labels(&[("service", "db"), ("env", "prod")])));
    assert_eq!(
        s.get("noisy").unwrap().state_at(s.now()),
        SilenceState::Expired
    );
    assert!(!s.mutes(&labels(&[("alertname", "Noisy")])));

    // An empty file expires everything it declared.
    write_file(dir.path(), "# nothing silenced\n");
    let r = declarative::load_file(&s, &path, ParseMode::Fallback).unwrap();
    assert_eq!(r.expired, vec!["db-maintenance"]);
}

#[tokio::test(start_paused = true)]
async fn invalid_silences_file_changes_nothing_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let path = write_file(dir.path(), FILE_V1);
    declarative::load_file(&s, &path, ParseMode::Fallback).unwrap();
    let version = s.version();
    let file = path.display().to_string();
    let cases = [
        (
            "- id: db-maintenance\n  matchers: ['service=\"db\"']\n  endsAt: 2023-11-15T22:13:20Z\n  colour: red\n",
            "[0].colour: field colour not found",
        ),
        (
            "- id: a\n  matchers: ['job=\"\"']\n  endsAt: 2023-11-15T22:13:20Z\n",
            "[0]: matcher set 0: at least one matcher must not match the empty string",
        ),
        (
            "- id: a\n  matchers: ['job=~\"(\"']\n  endsAt: 2023-11-15T22:13:20Z\n",
            "[0].matchers[0]:",
        ),
        (
            "- id: a\n  matchers: ['job=\"x\"']\n  endsAt: 2023-11-15T22:13:20Z\n- id: a\n  matchers: ['job=\"y\"']\n  endsAt: 2023-11-15T22:13:20Z\n",
            "[1].id: duplicate silence ID \"a\"",
        ),
        (
            "- id: 'a/b'\n  matchers: ['job=\"x\"']\n  endsAt: 2023-11-15T22:13:20Z\n",
            "[0].id: invalid silence ID \"a/b\"",
        ),
        (
            "- id: a\n  matchers: ['job=\"x\"']\n  startsAt: 2023-11-15T22:13:20Z\n  endsAt: 2023-11-14T22:13:20Z\n",
            "[0]: end time must not be before start time",
        ),
    ];
    for (text, expected) in cases {
        write_file(dir.path(), text);
        let err = declarative::load_file(&s, &path, ParseMode::Fallback).unwrap_err();
        let SilenceError::File(cfg) = &err else {
            panic!("{err}")
        };
        assert_eq!(cfg.file.as_deref(), Some(path.as_path()));
        assert!(err.to_string().starts_with(&file), "{err}");
        assert!(
            err.to_string().contains(expected),
            "{err}\nexpected {expected}"
        );
        assert_eq!(s.version(), version, "nothing changed for {text}");
        assert!(s.mutes(&labels(&[("service", "db"), ("env", "prod")])));
    }
    let missing = dir.path().join("missing.yml");
    let err = declarative::load_file(&s, &missing, ParseMode::Fallback).unwrap_err();
    assert!(
        err.to_string().contains("cannot read the silences file"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn file_silences_refuse_api_edits_and_api_ids() {
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let path = write_file(dir.path(), FILE_V1);
    declarative::load_file(&s, &path, ParseMode::Fallback).unwrap();
    let mut edit = s.get("noisy").unwrap();
    edit.comment = "mine now".into();
    let err = s.set(edit).unwrap_err();
    assert!(matches!(err, SilenceError::FileOwned { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "silence noisy is managed by the silences file {}; change it there",
            path.display()
        )
    );
    assert!(matches!(
        s.expire("noisy"),
        Err(SilenceError::FileOwned { .. })
    ));

    // A file cannot take over a silence made through the API.
    let api_id = s.set(silence(vec![eq("job", "a")], 0, 60)).unwrap();
    write_file(
        dir.path(),
        &format!("- id: {api_id}\n  matchers: ['job=\"b\"']\n  endsAt: 2023-11-15T22:13:20Z\n"),
    );
    let err = declarative::load_file(&s, &path, ParseMode::Fallback).unwrap_err();
    assert!(err.to_string().contains("[0].id: silence ID"), "{err}");
    assert!(
        s.get("noisy")
            .is_some_and(|n| n.state_at(s.now()) == SilenceState::Active)
    );
}

#[tokio::test(start_paused = true)]
async fn file_silences_persist_with_their_origin() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let path = write_file(dir.path(), FILE_V1);
    declarative::load_file(&s, &path, ParseMode::Fallback).unwrap();
    drop(s);
    let s = open(dir.path());
    assert!(matches!(s.get("noisy").unwrap().origin, Origin::File(_)));
    assert!(matches!(
        s.expire("noisy"),
        Err(SilenceError::FileOwned { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn maintenance_loop_snapshots_periodically_and_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(open(dir.path()));
    let log_path = dir.path().join(LOG_FILE);
    let header_len = persist::LOG_HEADER.len() as u64;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(s.clone().run_maintenance(Duration::from_secs(60), async {
        let _ = stopped.await;
    }));
    s.set(silence(vec![eq("job", "a")], 0, 3600)).unwrap();
    assert!(std::fs::metadata(&log_path).unwrap().len() > header_len);
    // The periodic maintenance folds the log into the snapshot.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    while std::fs::metadata(&log_path).unwrap().len() > header_len {
        assert!(tokio::time::Instant::now() < deadline, "no maintenance ran");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(s.metrics().maintenance.get() >= 1);
    // A change after that is folded by the shutdown maintenance.
    let b = s.set(silence(vec![eq("job", "b")], 0, 3600)).unwrap();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(std::fs::metadata(&log_path).unwrap().len(), header_len);
    let records =
        crate::storage::snapshot::read(&dir.path().join(SNAPSHOT_FILE), persist::SNAPSHOT_HEADER)
            .unwrap()
            .unwrap();
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .any(|(_, r)| persist::decode(r).unwrap().0.id == b)
    );
}
