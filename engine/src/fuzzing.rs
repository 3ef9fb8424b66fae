//! Entry points for the fuzz targets in `fuzz/` and for the corpus regression test
//! (`engine/tests/fuzz_corpus.rs`): each takes arbitrary bytes, runs one parser the way
//! the engine runs it on input from the network or a file, and must never panic, whatever
//! the bytes. Their results are ignored: only a panic (or a hang) is a failure.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::alert::Alert;
use crate::clock::Clock;
use crate::cluster::state::{Incoming, merge_batch};
use crate::cluster::transport::{Codec, Inbound};
use crate::config::matcher::{ParseMode, parse_matchers_in};
use crate::config::{Config, ParseOptions};
use crate::silence::{Silences, SilencesOptions};
use crate::template::{Data, GoTime, Mode, Templates, Value, example_data};

/// The longest input the entry points look at; longer ones are cut, so the fuzzer spends
/// its time on structure rather than size.
pub const MAX_INPUT: usize = 64 << 10;

fn text(data: &[u8]) -> &str {
    let data = &data[..data.len().min(MAX_INPUT)];
    match std::str::from_utf8(data) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// The config file parser and validator (`--config.file`, `POST /-/reload`), in every
/// matcher mode; a config that parses is also shown (serialized) again.
pub fn config(data: &[u8]) {
    let yaml = text(data);
    for mode in [
        ParseMode::Fallback,
        ParseMode::Utf8Strict,
        ParseMode::Classic,
    ] {
        if let Ok(config) = Config::parse(yaml, ParseOptions { matcher_mode: mode }) {
            let _ = serde_saphyr::to_string(&config);
        }
    }
}

/// The matcher parser (`filter=` of the API, `matchers` in the config, amtool's
/// arguments) in every mode; each parsed matcher is also run against a label value.
pub fn matchers(data: &[u8]) {
    let input = text(data);
    for mode in [
        ParseMode::Fallback,
        ParseMode::Utf8Strict,
        ParseMode::Classic,
    ] {
        if let Ok(list) = parse_matchers_in(mode, input) {
            for m in &list {
                let _ = m.matches(input);
                let _ = m.to_string();
            }
        }
    }
}

/// The `POST /api/v2/alerts` body decoder, then validation and the per-alert limits.
pub fn alerts(data: &[u8]) {
    let data = &data[..data.len().min(MAX_INPUT)];
    let Ok(posted) = serde_json::from_slice::<Vec<crate::api::v2::models::PostableAlert>>(data)
    else {
        return;
    };
    let now = jiff::Timestamp::UNIX_EPOCH;
    let limits = crate::api::limits::AlertLimits::default();
    for p in posted {
        let mut alert: Alert = p.into_alert();
        alert.apply_received_defaults(now, std::time::Duration::from_secs(300));
        let _ = alert.validate();
        let _ = limits.check(&alert);
        let _ = alert.fingerprint();
    }
}

/// The `POST /api/v2/silences` body decoder, then storing the silence (its validation).
pub fn silence(data: &[u8]) {
    let data = &data[..data.len().min(MAX_INPUT)];
    if let Ok(silence) = crate::api::v2::parse_silence(data) {
        let store = Silences::in_memory(SilencesOptions::default(), Clock::system());
        let _ = store.set(silence);
    }
}

/// The template parser and executor: the input is a template file's text; it is parsed
/// into a set and, when it parses, executed against amtool's example data as text and as
/// HTML.
pub fn template(data: &[u8]) {
    let input = text(data);
    let mut set = Templates::new();
    if set.parse("fuzz.tmpl", input).is_err() {
        return;
    }
    let data: Arc<Data> = Arc::new(example_data(&GoTime::zero()));
    let dot = Value::Data(data);
    for mode in [Mode::Text, Mode::Html] {
        let _ = set.render(input, &dot, mode);
    }
}

/// `--cluster.label` of the [`gossip`] entry point's frames.
pub const GOSSIP_LABEL: &str = "larum-fuzz";
/// The shared secret (`--cluster.key-file` contents) of the [`gossip`] entry point's
/// sealed frames; a fixed test value, so seeds captured from real traffic open.
pub const GOSSIP_KEY: &[u8] = b"larum fuzz test key, not a secret";

/// What the first byte of a [`gossip`] input selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GossipInput {
    /// Datagrams, not sealed (no `--cluster.key-file`).
    PlainFrames = 0,
    /// Datagrams sealed with [`GOSSIP_KEY`].
    SealedFrames = 1,
    /// The value of a peer's `s:<id>` key (a silence).
    SilenceValue = 2,
    /// The value of a peer's `n:<hash>` key (a notification-log entry).
    NflogValue = 3,
}

impl GossipInput {
    /// The input for this kind: the selector byte, then each part (datagrams are each
    /// preceded by their length, two bytes little-endian; a value is taken whole).
    pub fn encode(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![self as u8];
        for part in parts {
            if matches!(self, GossipInput::PlainFrames | GossipInput::SealedFrames) {
                let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&part[..usize::from(len)]);
            } else {
                out.extend_from_slice(part);
            }
        }
        out
    }
}

/// Splits length-prefixed datagrams; the last one takes what is left.
fn datagrams(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([data[0], data[1]]));
        data = &data[2..];
        let (frame, rest) = data.split_at(len.min(data.len()));
        out.push(frame);
        data = rest;
    }
    out
}

/// What a peer controls in the cluster protocol. The first byte selects
/// ([`GossipInput`]): datagrams from one peer go through the receiving transport
/// ([`Inbound::accept`]: label, key, fragment reassembly, size), and every whole message
/// through chitchat's own message decoder (over loopback, the way the transport hands
/// it over; chitchat does not expose its decoder otherwise); or a gossiped value is
/// decoded and merged into silences or the notification log as a peer's value is.
pub fn gossip(data: &[u8]) {
    let data = &data[..data.len().min(MAX_INPUT)];
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    match kind % 4 {
        0 | 1 => {
            let secret = (kind % 4 == 1).then_some(GOSSIP_KEY);
            let mut inbound = Inbound::new(Arc::new(Codec::new(GOSSIP_LABEL, secret)));
            let from: SocketAddr = ([127, 0, 0, 1], 9094).into();
            for frame in datagrams(rest) {
                if let Ok(Some(message)) = inbound.accept(from, frame) {
                    let _ = chitchat_decode(&message);
                }
            }
        }
        _ => {
            let value = text(rest).to_string();
            let incoming = if kind % 4 == 2 {
                Incoming::Silence(value)
            } else {
                Incoming::Nflog(value)
            };
            let clock = Clock::starting_at(jiff::Timestamp::constant(1_700_000_000, 0));
            let silences = Silences::in_memory(SilencesOptions::default(), clock);
            let nflog = crate::nflog::NotificationLog::new(Duration::from_secs(3600), clock);
            let _ = merge_batch(&silences, &nflog, vec![incoming]);
        }
    }
}

/// Chitchat's UDP socket on loopback, with a socket feeding it messages and one
/// sending a marker (an envelope chitchat encodes itself) after each, so a message
/// chitchat drops cannot leave the caller waiting.
struct ChitchatLoopback {
    runtime: tokio::runtime::Runtime,
    decoder: chitchat::transport::UdpSocket,
    decoder_addr: SocketAddr,
    feed: tokio::net::UdpSocket,
    marker: chitchat::transport::UdpSocket,
    marker_addr: SocketAddr,
}

impl ChitchatLoopback {
    fn open() -> Option<ChitchatLoopback> {
        use chitchat::transport::Socket;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        let (decoder, feed, marker) = runtime.block_on(async {
            let decoder = chitchat::transport::UdpSocket::open(loopback).await.ok()?;
            let feed = tokio::net::UdpSocket::bind(loopback).await.ok()?;
            let marker = chitchat::transport::UdpSocket::open(loopback).await.ok()?;
            Some((decoder, feed, marker))
        })?;
        Some(ChitchatLoopback {
            decoder_addr: decoder.local_addr().ok()?,
            marker_addr: marker.local_addr().ok()?,
            runtime,
            decoder,
            feed,
            marker,
        })
    }

    /// Whether chitchat decoded `message` (`None` when loopback failed).
    fn decode(&mut self, message: &[u8]) -> Option<bool> {
        use chitchat::transport::Socket;
        use chitchat::{ChitchatEnvelope, ChitchatMessage, ProtocolVersion};
        let ChitchatLoopback {
            runtime,
            decoder,
            decoder_addr,
            feed,
            marker,
            marker_addr,
        } = self;
        runtime.block_on(async {
            feed.send_to(message, *decoder_addr).await.ok()?;
            let envelope = ChitchatEnvelope {
                version: ProtocolVersion::V1,
                message: ChitchatMessage::BadCluster,
            };
            marker.send(*decoder_addr, envelope).await.ok()?;
            let mut decoded = false;
            let read = async {
                loop {
                    match decoder.recv().await {
                        Ok(outcome) if outcome.from_addr == *marker_addr => return Some(()),
                        Ok(_) => decoded = true,
                        Err(_) => return None,
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(5), read)
                .await
                .ok()??;
            Some(decoded)
        })
    }
}

thread_local! {
    static LOOPBACK: RefCell<Option<ChitchatLoopback>> = RefCell::new(ChitchatLoopback::open());
}

/// Runs `message` through chitchat's message decoder; whether it decoded (`None` when
/// the loopback sockets are not available).
pub fn chitchat_decode(message: &[u8]) -> Option<bool> {
    LOOPBACK.with(|l| l.borrow_mut().as_mut()?.decode(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterMetrics;
    use crate::cluster::state::{Change, encode};
    use crate::cluster::transport::SecureTransport;
    use crate::cluster::transport::test_support::{chitchat_config, wait_for_keys};
    use crate::config::matcher::MatchType;
    use crate::nflog::{NotificationLog, ReceiverKey};
    use crate::silence::{Silence, SilenceMatcher};

    /// A silence's and a log entry's gossip key/values, made by the stores and the
    /// state encoder the cluster uses.
    fn state_values() -> Vec<(String, String)> {
        let clock = Clock::starting_at(jiff::Timestamp::constant(1_700_000_000, 0));
        let silences = Silences::in_memory(SilencesOptions::default(), clock);
        let now = clock.now();
        silences
            .set(Silence::new(
                vec![
                    SilenceMatcher::new("alertname", "Disk.*", MatchType::Regexp),
                    SilenceMatcher::new("team", "ops", MatchType::Equal),
                ],
                now,
                now + jiff::SignedDuration::from_hours(2),
            ))
            .unwrap();
        let nflog = NotificationLog::new(Duration::from_secs(3600), clock);
        let receiver = ReceiverKey {
            group_name: "team-ops".into(),
            integration: "webhook".into(),
            idx: 0,
        };
        nflog.log(
            &receiver,
            "{}:{alertname=\"DiskFull\"}",
            vec![11, 12],
            vec![13],
            Duration::ZERO,
        );
        let mut values: Vec<(String, String)> = silences
            .records()
            .into_iter()
            .filter_map(|(s, exp)| encode(&Change::Silence(s, exp)))
            .map(|(k, v, _)| (k, v))
            .collect();
        values.extend(
            nflog
                .entries()
                .into_iter()
                .filter_map(|e| encode(&Change::Nflog(e)))
                .map(|(k, v, _)| (k, v)),
        );
        values
    }

    /// The datagrams of real gossip between two replicas with sealed transports (the
    /// fuzz label and key), recorded by a relay between them; the first replica holds
    /// `values`. Recording stops once the second replica has them.
    async fn record_gossip(values: Vec<(String, String)>) -> Vec<Vec<u8>> {
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        let metrics = ClusterMetrics::default();
        let codec = || Codec::new(GOSSIP_LABEL, Some(GOSSIP_KEY));
        let (ta, addr_a) = SecureTransport::bind(loopback, codec(), metrics.clone())
            .await
            .unwrap();
        let (tb, addr_b) = SecureTransport::bind(loopback, codec(), metrics.clone())
            .await
            .unwrap();
        // The relay: B's seed is `toward_a`, which forwards to A from `toward_b`... and
        // back.
        let facing_b = Arc::new(tokio::net::UdpSocket::bind(loopback).await.unwrap());
        let facing_a = Arc::new(tokio::net::UdpSocket::bind(loopback).await.unwrap());
        let relay_addr = facing_b.local_addr().unwrap();
        let recorded = Arc::new(std::sync::Mutex::new(Vec::<Vec<u8>>::new()));
        let relay = {
            let recorded = recorded.clone();
            tokio::spawn(async move {
                let (mut from_b, mut from_a) = (vec![0u8; 65_536], vec![0u8; 65_536]);
                let mut b_addr = None;
                loop {
                    tokio::select! {
                        Ok((n, from)) = facing_b.recv_from(&mut from_b) => {
                            b_addr = Some(from);
                            recorded.lock().unwrap().push(from_b[..n].to_vec());
                            let _ = facing_a.send_to(&from_b[..n], addr_a).await;
                        }
                        Ok((n, _)) = facing_a.recv_from(&mut from_a) => {
                            recorded.lock().unwrap().push(from_a[..n].to_vec());
                            if let Some(b) = b_addr {
                                let _ = facing_b.send_to(&from_a[..n], b).await;
                            }
                        }
                    }
                }
            })
        };
        let config = |name: &str, addr: SocketAddr, seeds: Vec<String>| {
            chitchat_config(name, GOSSIP_LABEL, addr, seeds)
        };
        let wanted = values.len();
        let _a = chitchat::spawn_chitchat(config("a", addr_a, vec![]), values, &ta)
            .await
            .unwrap();
        let b = chitchat::spawn_chitchat(
            config("b", addr_b, vec![relay_addr.to_string()]),
            Vec::new(),
            &tb,
        )
        .await
        .unwrap();
        wait_for_keys(&b, "a", wanted, Duration::from_secs(30)).await;
        relay.abort();
        recorded.lock().unwrap().clone()
    }

    /// Chitchat's message type: the fourth byte (after magic number and version).
    fn message_type(message: &[u8]) -> u8 {
        message[3]
    }

    #[test]
    fn real_gossip_passes_the_gossip_entry_point_and_chitchat_decodes_it() {
        let values = state_values();
        assert_eq!(values.len(), 2);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let frames = runtime.block_on(record_gossip(values.clone()));
        drop(runtime);

        // Every recorded datagram opens with the fuzz codec and is a whole chitchat
        // message that chitchat's decoder reads.
        let sealed = Arc::new(Codec::new(GOSSIP_LABEL, Some(GOSSIP_KEY)));
        let from: SocketAddr = ([127, 0, 0, 1], 9094).into();
        let mut by_type: std::collections::BTreeMap<u8, (Vec<u8>, Vec<u8>)> = Default::default();
        for frame in &frames {
            let message = Inbound::new(sealed.clone())
                .accept(from, frame)
                .unwrap()
                .expect("one fragment per message");
            assert_eq!(chitchat_decode(&message), Some(true), "{message:?}");
            // Keep the first of each type, and the largest SynAck (chitchat compresses
            // deltas, so the values are not visible in it: it is the one carrying them).
            let kind = message_type(&message);
            let keep = match by_type.get(&kind) {
                None => true,
                Some((_, kept)) => kind == 1 && message.len() > kept.len(),
            };
            if keep {
                by_type.insert(kind, (frame.clone(), message));
            }
        }
        // Syn, SynAck and Ack were all seen.
        assert_eq!(by_type.keys().copied().collect::<Vec<_>>(), vec![0, 1, 2]);
        // What is not chitchat's is not decoded; a bit flipped on the wire is refused.
        assert_eq!(chitchat_decode(b"\x53\xb0\x01\x07junk"), Some(false));
        let mut tampered = by_type[&1].0.clone();
        tampered[30] ^= 1;
        assert!(
            Inbound::new(sealed.clone())
                .accept(from, &tampered)
                .is_err()
        );

        // The entry point takes every kind of input built from them.
        let plain = Codec::new(GOSSIP_LABEL, None);
        let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
        for (code, name) in [(0u8, "syn"), (1, "synack"), (2, "ack")] {
            let (frame, message) = &by_type[&code];
            inputs.push((
                format!("seed-sealed-{name}"),
                GossipInput::SealedFrames.encode(&[frame]),
            ));
            let frames = plain.seal(7, message);
            inputs.push((
                format!("seed-plain-{name}"),
                GossipInput::PlainFrames.encode(&[&frames[0]]),
            ));
        }
        let message = &by_type[&1].1;
        let half = message.len().div_ceil(2);
        for (name, kind, codec) in [
            ("seed-plain-fragments", GossipInput::PlainFrames, &plain),
            ("seed-sealed-fragments", GossipInput::SealedFrames, &*sealed),
        ] {
            let frames = codec.seal_in_chunks(8, message, half);
            assert_eq!(frames.len(), 2);
            // Out of order, as UDP may deliver them.
            inputs.push((name.into(), kind.encode(&[&frames[1], &frames[0]])));
        }
        for (key, value) in &values {
            let (name, kind) = if key.starts_with(crate::cluster::state::SILENCE_PREFIX) {
                ("seed-silence-value", GossipInput::SilenceValue)
            } else {
                ("seed-nflog-value", GossipInput::NflogValue)
            };
            inputs.push((name.into(), kind.encode(&[value.as_bytes()])));
        }
        for (_, input) in &inputs {
            gossip(input);
        }
        // The values merge into fresh stores as a peer's would.
        let clock = Clock::starting_at(jiff::Timestamp::constant(1_700_000_000, 0));
        let silences = Silences::in_memory(SilencesOptions::default(), clock);
        let nflog = NotificationLog::new(Duration::from_secs(3600), clock);
        let incoming = values
            .iter()
            .map(|(k, v)| {
                if k.starts_with(crate::cluster::state::SILENCE_PREFIX) {
                    Incoming::Silence(v.clone())
                } else {
                    Incoming::Nflog(v.clone())
                }
            })
            .collect();
        assert_eq!(merge_batch(&silences, &nflog, incoming).unwrap(), (1, 1));

        // LARUM_WRITE_GOSSIP_SEEDS=<dir> writes them as the fuzz target's seed corpus.
        if let Some(dir) = std::env::var_os("LARUM_WRITE_GOSSIP_SEEDS") {
            let dir = std::path::PathBuf::from(dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (name, input) in &inputs {
                std::fs::write(dir.join(name), input).unwrap();
            }
        }
    }

    #[test]
    fn gossip_inputs_split_into_length_prefixed_datagrams() {
        let input = GossipInput::PlainFrames.encode(&[b"abc", b"", b"de"]);
        assert_eq!(input, b"\x00\x03\x00abc\x00\x00\x02\x00de");
        assert_eq!(datagrams(&input[1..]), vec![&b"abc"[..], b"", b"de"]);
        // A length past the end takes what is left; a lone byte is no datagram.
        assert_eq!(datagrams(b"\x09\x00xy"), vec![&b"xy"[..]]);
        assert!(datagrams(b"\x01").is_empty());
    }
}
