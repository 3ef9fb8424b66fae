//! Entry points for the fuzz targets in `fuzz/` and for the corpus regression test
//! (`engine/tests/fuzz_corpus.rs`): each takes arbitrary bytes, runs one parser the way
//! the engine runs it on input from the network or a file, and must never panic, whatever
//! the bytes. Their results are ignored: only a panic (or a hang) is a failure.

use std::sync::Arc;

use crate::alert::Alert;
use crate::clock::Clock;
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
