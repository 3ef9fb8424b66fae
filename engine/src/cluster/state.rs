//! Replicated state: silences and notification-log entries as chitchat key/values.
//!
//! Design ("every replica re-publishes what it holds"): a replica publishes every
//! silence and every log entry it holds, its own and those merged from peers, in its
//! own key space: `s:<silence ID>` and `n:<hash of the log key>`, each value the compact
//! JSON of one entry with its expiry. A replica that reads a peer's key merges the
//! value (newest `updatedAt` / `timestamp` wins); when the merge changes its state, the
//! store's observer publishes the entry under its own key. So an entry lives in the key
//! space of every live replica, and the death of its author loses nothing. Expired
//! entries are deleted from the key space; values stay small (a value larger than
//! [`MAX_VALUE_BYTES`] is not published: chitchat would stall behind it).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chitchat::{Chitchat, ChitchatId};
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::nflog::{MeshEntry, NotificationLog};
use crate::silence::{Silence, Silences};

/// Key prefix of silences.
pub const SILENCE_PREFIX: &str = "s:";
/// Key prefix of notification-log entries.
pub const NFLOG_PREFIX: &str = "n:";
/// Key holding the replica's API base URL (for catch-up).
pub const API_KEY: &str = "api";
/// Largest value published (far below a datagram).
pub const MAX_VALUE_BYTES: usize = 32 * 1024;

/// A change to publish.
#[derive(Debug, Clone)]
pub enum Change {
    /// A silence and the time it may be garbage-collected.
    Silence(Silence, Timestamp),
    /// A notification-log entry.
    Nflog(MeshEntry),
}

/// A value read from a peer's key space.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// Under [`SILENCE_PREFIX`].
    Silence(String),
    /// Under [`NFLOG_PREFIX`].
    Nflog(String),
}

/// The key of a log entry: a hash of upstream's state key, so keys stay short.
pub fn nflog_key(e: &MeshEntry) -> String {
    let key = crate::nflog::state_key(&e.entry.group_key, &e.entry.receiver);
    format!(
        "{NFLOG_PREFIX}{:016x}",
        xxhash_rust::xxh64::xxh64(key.as_bytes(), 0)
    )
}

/// The key, value and expiry a change is published as; `None` when too large.
pub fn encode(change: &Change) -> Option<(String, String, Timestamp)> {
    let (key, value, expires_at) = match change {
        Change::Silence(s, expires_at) => (
            format!("{SILENCE_PREFIX}{}", s.id),
            crate::silence::persist::encode(s, *expires_at),
            *expires_at,
        ),
        Change::Nflog(e) => (nflog_key(e), crate::nflog::persist::encode(e), e.expires_at),
    };
    if value.len() > MAX_VALUE_BYTES {
        tracing::warn!(key = %key, size = value.len(), "Not gossiping an entry larger than {MAX_VALUE_BYTES} bytes; set --silences.max-silence-size-bytes");
        return None;
    }
    let value = String::from_utf8(value).ok()?;
    Some((key, value, expires_at))
}

/// Hooks the stores' observers to a channel of changes to publish.
pub fn observe(silences: &Silences, nflog: &NotificationLog) -> mpsc::UnboundedReceiver<Change> {
    let (tx, rx) = mpsc::unbounded_channel();
    let s_tx = tx.clone();
    silences.set_observer(Arc::new(move |changed: &[(Silence, Timestamp)]| {
        for (s, exp) in changed {
            let _ = s_tx.send(Change::Silence(s.clone(), *exp));
        }
    }));
    let n_tx = tx.clone();
    nflog.set_observer(Arc::new(move |e: &MeshEntry| {
        let _ = n_tx.send(Change::Nflog(e.clone()));
    }));
    // After the observers: a change in between is queued twice, which is harmless.
    for (s, exp) in silences.records() {
        let _ = tx.send(Change::Silence(s, exp));
    }
    for e in nflog.entries() {
        let _ = tx.send(Change::Nflog(e));
    }
    rx
}

/// Publishes changes into this replica's key space, in batches under one lock, and
/// deletes keys of expired entries every `gc_every`.
pub async fn publish_loop(
    chitchat: Arc<tokio::sync::Mutex<Chitchat>>,
    mut changes: mpsc::UnboundedReceiver<Change>,
    clock: Clock,
    gc_every: Duration,
) {
    let mut expiries: HashMap<String, Timestamp> = HashMap::new();
    let mut gc = tokio::time::interval(gc_every.max(Duration::from_millis(100)));
    gc.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            first = changes.recv() => {
                let Some(first) = first else { return };
                let mut batch = vec![first];
                while batch.len() < 20_000 {
                    match changes.try_recv() {
                        Ok(c) => batch.push(c),
                        Err(_) => break,
                    }
                }
                let items: Vec<_> = batch.iter().filter_map(encode).collect();
                let mut cc = chitchat.lock().await;
                let node = cc.self_node_state();
                for (key, value, expires_at) in items {
                    node.set(key.clone(), value);
                    expiries.insert(key, expires_at);
                }
            }
            _ = gc.tick() => {
                let now = clock.now();
                let gone: Vec<String> = expiries
                    .iter()
                    .filter(|(_, e)| **e <= now)
                    .map(|(k, _)| k.clone())
                    .collect();
                if gone.is_empty() {
                    continue;
                }
                let mut cc = chitchat.lock().await;
                let node = cc.self_node_state();
                for key in gone {
                    node.delete(&key);
                    expiries.remove(&key);
                }
            }
        }
    }
}

/// Sends every value peers publish under the state prefixes to the returned channel
/// (listeners run under chitchat's lock: they only push).
pub fn subscribe(chitchat: &Chitchat, self_id: ChitchatId) -> mpsc::UnboundedReceiver<Incoming> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (s_tx, s_self) = (tx.clone(), self_id.clone());
    chitchat
        .subscribe_event(SILENCE_PREFIX, move |ev| {
            if *ev.node != s_self {
                let _ = s_tx.send(Incoming::Silence(ev.value.to_string()));
            }
        })
        .forever();
    chitchat
        .subscribe_event(NFLOG_PREFIX, move |ev| {
            if *ev.node != self_id {
                let _ = tx.send(Incoming::Nflog(ev.value.to_string()));
            }
        })
        .forever();
    rx
}

/// Merges what peers publish, in batches (one durable commit per batch of silences).
pub async fn merge_loop(
    mut incoming: mpsc::UnboundedReceiver<Incoming>,
    silences: Arc<Silences>,
    nflog: Arc<NotificationLog>,
) {
    while let Some(first) = incoming.recv().await {
        let mut batch = vec![first];
        while batch.len() < 20_000 {
            match incoming.try_recv() {
                Ok(i) => batch.push(i),
                Err(_) => break,
            }
        }
        let silences = silences.clone();
        let nflog = nflog.clone();
        let merged =
            tokio::task::spawn_blocking(move || merge_batch(&silences, &nflog, batch)).await;
        if let Ok(Err(e)) = merged {
            tracing::error!(err = %e, "Merging silences from peers failed");
        }
    }
}

/// Merges one batch of peers' values; returns how many silences and entries changed.
pub fn merge_batch(
    silences: &Silences,
    nflog: &NotificationLog,
    batch: Vec<Incoming>,
) -> Result<(usize, usize), crate::silence::SilenceError> {
    let mut sils = Vec::new();
    let mut entries = 0;
    for item in batch {
        match item {
            Incoming::Silence(v) => match crate::silence::persist::decode(v.as_bytes()) {
                Ok(s) => sils.push(s),
                Err(e) => tracing::warn!(err = %e, "Ignored an undecodable silence from a peer"),
            },
            Incoming::Nflog(v) => match crate::nflog::persist::decode(v.as_bytes()) {
                Ok(e) => {
                    if nflog.merge(e) {
                        entries += 1;
                    }
                }
                Err(e) => tracing::warn!(err = %e, "Ignored an undecodable log entry from a peer"),
            },
        }
    }
    let merged = if sils.is_empty() {
        0
    } else {
        silences.merge_many(sils)?
    };
    Ok((merged, entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nflog::{Entry, ReceiverKey};

    fn entry(group: &str, secs: i64) -> MeshEntry {
        MeshEntry {
            entry: Entry {
                group_key: group.into(),
                receiver: ReceiverKey {
                    group_name: "team".into(),
                    integration: "webhook".into(),
                    idx: 0,
                },
                timestamp: Timestamp::from_second(1_700_000_000 + secs).unwrap(),
                firing_alerts: vec![1, 2],
                resolved_alerts: vec![],
            },
            expires_at: Timestamp::from_second(4_000_000_000).unwrap(),
        }
    }

    #[test]
    fn log_keys_are_short_and_stable_per_group_and_integration() {
        let (k1, v1, _) = encode(&Change::Nflog(entry("{}:{a=\"1\"}", 0))).unwrap();
        let (k2, _, _) = encode(&Change::Nflog(entry("{}:{a=\"1\"}", 5))).unwrap();
        let (k3, _, _) = encode(&Change::Nflog(entry("{}:{a=\"2\"}", 0))).unwrap();
        assert_eq!(
            k1, k2,
            "a newer entry replaces the older under the same key"
        );
        assert_ne!(k1, k3);
        assert!(k1.len() < 20);
        assert_eq!(
            crate::nflog::persist::decode(v1.as_bytes()).unwrap(),
            entry("{}:{a=\"1\"}", 0)
        );
    }

    #[test]
    fn merging_takes_the_newest_and_reports_changes() {
        let clock = Clock::starting_at(Timestamp::from_second(1_700_000_100).unwrap());
        let nflog = NotificationLog::new(Duration::from_secs(3600 * 1000), clock);
        let silences = Silences::in_memory(Default::default(), clock);
        let value = |e: &MeshEntry| Incoming::Nflog(encode(&Change::Nflog(e.clone())).unwrap().1);
        let got = merge_batch(&silences, &nflog, vec![value(&entry("g", 5))]).unwrap();
        assert_eq!(got, (0, 1));
        let got = merge_batch(&silences, &nflog, vec![value(&entry("g", 1))]).unwrap();
        assert_eq!(got, (0, 0), "an older entry changes nothing");
        assert_eq!(
            nflog.entries()[0].entry.timestamp,
            entry("g", 5).entry.timestamp
        );
        let got = merge_batch(&silences, &nflog, vec![Incoming::Nflog("{".into())]).unwrap();
        assert_eq!(got, (0, 0));
    }
}
