//! Building the mail itself, laid out like Alertmanager 0.34's: the templated headers
//! (RFC 2047 Q-encoded where needed), `Message-Id`, threading headers, `Date`, and a
//! `multipart/alternative` body with a quoted-printable text part and HTML part.

use std::collections::BTreeMap;
use std::str::FromStr;

use lettre::Address;
use lettre::message::Mailboxes;

/// What the templates of one notification rendered to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered {
    /// The `from` field: one address.
    pub from: String,
    /// The `to` field: a comma-separated address list.
    pub to: String,
    /// Header values by canonical name.
    pub headers: BTreeMap<String, String>,
    /// The text part, when `text` is configured.
    pub text: Option<String>,
    /// The HTML part, when `html` is configured.
    pub html: Option<String>,
}

/// The parts of a message that vary from send to send.
#[derive(Clone, Debug)]
pub struct Stamp {
    /// Local time of sending: the `Date` header and the daily thread.
    pub now: jiff::Zoned,
    /// Host name in the `Message-Id`.
    pub hostname: String,
    /// Random number in the `Message-Id`.
    pub nonce: u64,
    /// The multipart boundary.
    pub boundary: String,
}

impl Stamp {
    /// A stamp for a mail sent now.
    pub fn now() -> Stamp {
        let a = uuid::Uuid::new_v4().simple().to_string();
        let b = uuid::Uuid::new_v4().simple().to_string();
        Stamp {
            now: jiff::Zoned::now(),
            hostname: hostname(),
            nonce: uuid::Uuid::new_v4().as_u64_pair().0,
            // 60 hex digits, like Go's multipart boundaries.
            boundary: format!("{a}{}", &b[..28]),
        }
    }
}

/// The machine's host name, `localhost.localdomain` when it cannot be read.
pub fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "localhost.localdomain".to_string())
}

/// How threading headers are made (`threading` of the config).
#[derive(Clone, Debug, PartialEq)]
pub enum Threading {
    /// No `References`/`In-Reply-To` headers.
    Off,
    /// One thread per alert group, for ever.
    Group,
    /// One thread per alert group and day.
    Daily,
}

/// Why an address list is unusable.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// The text does not parse as an address list.
    #[error("parse '{field}' addresses: {reason}")]
    Parse {
        /// `from` or `to`.
        field: &'static str,
        /// The parser's complaint.
        reason: String,
    },
    /// `from` names no address or several.
    #[error("must be exactly one 'from' address (got: {0})")]
    NotOneFrom(usize),
}

/// The addresses of `list` (`Name <a@b>, c@d`, like Go's `mail.ParseAddressList`).
pub fn parse_addresses(field: &'static str, list: &str) -> Result<Vec<Address>, AddressError> {
    let parse_error = |reason: String| AddressError::Parse { field, reason };
    if list.trim().is_empty() {
        return Err(parse_error("no address".into()));
    }
    let boxes = Mailboxes::from_str(list).map_err(|e| parse_error(e.to_string()))?;
    Ok(boxes.into_iter().map(|m| m.email).collect())
}

/// The envelope sender: `from` must hold exactly one address.
pub fn parse_from(from: &str) -> Result<Address, AddressError> {
    let mut all = parse_addresses("from", from)?;
    if all.len() != 1 {
        return Err(AddressError::NotOneFrom(all.len()));
    }
    Ok(all.remove(0))
}

/// Whether Go's `mime.QEncoding` would leave `s` as it is.
fn plain_header_text(s: &str) -> bool {
    s.chars().all(|c| (' '..='~').contains(&c) || c == '\t')
}

fn q_allowed(b: u8) -> bool {
    b == b' ' || (b.is_ascii_graphic() && b != b'=' && b != b'?' && b != b'_')
}

/// RFC 2047 Q-encoding of a header value (UTF-8), as Go's `mime.QEncoding.Encode`:
/// printable ASCII stays as it is; anything else becomes encoded words of at most 75
/// characters, never splitting a character.
pub fn q_encode(s: &str) -> String {
    if plain_header_text(s) {
        return s.to_string();
    }
    const PREFIX: &str = "=?utf-8?q?";
    const MAX_CONTENT: usize = 75 - PREFIX.len() - 2;
    let mut out = String::from(PREFIX);
    let mut on_word = 0;
    for c in s.chars() {
        let mut buf = [0u8; 4];
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        let len: usize = bytes
            .iter()
            .map(|&b| if q_allowed(b) { 1 } else { 3 })
            .sum();
        if on_word + len > MAX_CONTENT {
            out.push_str("?= ");
            out.push_str(PREFIX);
            on_word = 0;
        }
        for &b in bytes {
            if b == b' ' {
                out.push('_');
            } else if q_allowed(b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("={b:02X}"));
            }
        }
        on_word += len;
    }
    out.push_str("?=");
    out
}

/// Quoted-printable body text: every line ending (`\n`, `\r\n`, `\r`) is a hard line
/// break, lines are wrapped at 76 characters.
pub fn quoted_printable(body: &str) -> String {
    let normalized = body.replace("\r\n", "\n").replace('\r', "\n");
    let crlf = normalized.replace('\n', "\r\n");
    String::from_utf8_lossy(&quoted_printable::encode(crlf.as_bytes())).into_owned()
}

/// The thread root of a group: a Message-Id no mail has, which mail readers
/// following the JWZ algorithm group the group's mails under.
pub fn thread_root(
    group_key_hash: &str,
    threading: &Threading,
    now: &jiff::Zoned,
) -> Option<String> {
    let by = match threading {
        Threading::Off => return None,
        Threading::Group => String::new(),
        Threading::Daily => now.strftime("%Y-%m-%d").to_string(),
    };
    let hash = group_key_hash.get(..16).unwrap_or(group_key_hash);
    Some(format!("<alert-{hash}-{by}@alertmanager>"))
}

/// The whole message (headers and body, CRLF line endings), before SMTP dot-stuffing.
pub fn build(
    rendered: &Rendered,
    threading: &Threading,
    group_key_hash: &str,
    stamp: &Stamp,
) -> Vec<u8> {
    let mut out = String::new();
    for (name, value) in &rendered.headers {
        out.push_str(&format!("{name}: {}\r\n", q_encode(value)));
    }
    if !rendered.headers.contains_key("Message-Id") {
        out.push_str(&format!(
            "Message-Id: <{}.{}@{}>\r\n",
            stamp.now.timestamp().as_nanosecond(),
            stamp.nonce,
            stamp.hostname
        ));
    }
    if let Some(root) = thread_root(group_key_hash, threading, &stamp.now) {
        out.push_str(&format!("References: {root}\r\n"));
        out.push_str(&format!("In-Reply-To: {root}\r\n"));
    }
    out.push_str(&format!(
        "Date: {}\r\n",
        stamp.now.strftime("%a, %d %b %Y %H:%M:%S %z")
    ));
    let boundary = &stamp.boundary;
    out.push_str(&format!(
        "Content-Type: multipart/alternative;  boundary={boundary}\r\n"
    ));
    out.push_str("MIME-Version: 1.0\r\n\r\n");
    let mut first = true;
    // The preferred alternative, HTML, comes last (RFC 2046 section 5.1.4).
    for (kind, body) in [("plain", &rendered.text), ("html", &rendered.html)] {
        let Some(body) = body else { continue };
        if !first {
            out.push_str("\r\n");
        }
        first = false;
        out.push_str(&format!(
            "--{boundary}\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/{kind}; charset=UTF-8\r\n\r\n"
        ));
        out.push_str(&quoted_printable(body));
    }
    out.push_str(&format!("\r\n--{boundary}--\r\n"));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            now: "2026-11-24T10:20:30+01:00[Europe/Paris]".parse().unwrap(),
            hostname: "mailer.example".into(),
            nonce: 42,
            boundary: "BOUNDARY".into(),
        }
    }

    fn rendered() -> Rendered {
        Rendered {
            from: "am@example.org".into(),
            to: "a@example.org".into(),
            headers: BTreeMap::from([
                (
                    "From".to_string(),
                    "Alertmanager <am@example.org>".to_string(),
                ),
                ("To".to_string(), "a@example.org, b@example.org".to_string()),
                ("Subject".to_string(), "[FIRING:1] Disk full".to_string()),
            ]),
            text: Some("line one\nline two\n".into()),
            html: Some("<p>caf\u{e9}</p>".into()),
        }
    }

    fn text(msg: &[u8]) -> String {
        String::from_utf8(msg.to_vec()).unwrap()
    }

    #[test]
    fn headers_and_parts() {
        let msg = text(&build(&rendered(), &Threading::Off, "abc", &stamp()));
        let (head, body) = msg.split_once("\r\n\r\n").unwrap();
        let lines: Vec<&str> = head.split("\r\n").collect();
        let id = format!(
            "Message-Id: <{}.42@mailer.example>",
            stamp().now.timestamp().as_nanosecond()
        );
        assert_eq!(
            lines,
            [
                "From: Alertmanager <am@example.org>",
                "Subject: [FIRING:1] Disk full",
                "To: a@example.org, b@example.org",
                id.as_str(),
                "Date: Tue, 24 Nov 2026 10:20:30 +0100",
                "Content-Type: multipart/alternative;  boundary=BOUNDARY",
                "MIME-Version: 1.0",
            ]
        );
        assert_eq!(
            body,
            "--BOUNDARY\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n\
             line one\r\nline two\r\n\
             \r\n--BOUNDARY\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n\
             <p>caf=C3=A9</p>\
             \r\n--BOUNDARY--\r\n"
        );
        assert!(!msg.contains("References"));
    }

    #[test]
    fn only_the_configured_parts_and_own_message_id() {
        let mut r = rendered();
        r.text = None;
        r.headers
            .insert("Message-Id".into(), "<mine@example.org>".into());
        let msg = text(&build(&r, &Threading::Off, "abc", &stamp()));
        assert!(!msg.contains("text/plain"), "{msg}");
        assert!(msg.contains("text/html"), "{msg}");
        assert_eq!(msg.matches("Message-Id:").count(), 1, "{msg}");
        assert!(msg.contains("Message-Id: <mine@example.org>\r\n"), "{msg}");
    }

    #[test]
    fn threading_headers() {
        let hash = "0123456789abcdef0123456789abcdef";
        let msg = text(&build(&rendered(), &Threading::Group, hash, &stamp()));
        assert!(
            msg.contains("References: <alert-0123456789abcdef-@alertmanager>\r\n"),
            "{msg}"
        );
        assert!(
            msg.contains("In-Reply-To: <alert-0123456789abcdef-@alertmanager>\r\n"),
            "{msg}"
        );
        let msg = text(&build(&rendered(), &Threading::Daily, hash, &stamp()));
        assert!(
            msg.contains("References: <alert-0123456789abcdef-2026-11-24@alertmanager>\r\n"),
            "{msg}"
        );
        assert!(
            msg.contains("In-Reply-To: <alert-0123456789abcdef-2026-11-24@alertmanager>\r\n"),
            "{msg}"
        );
    }

    #[test]
    fn header_values_are_q_encoded_when_needed() {
        assert_eq!(q_encode("plain [ok] = fine?"), "plain [ok] = fine?");
        assert_eq!(q_encode("Caf\u{e9} down"), "=?utf-8?q?Caf=C3=A9_down?=");
        // A line break in a value cannot start a new header.
        assert_eq!(q_encode("a\r\nBcc: x"), "=?utf-8?q?a=0D=0ABcc:_x?=");
        assert_eq!(q_encode("a_b=c?\u{e9}"), "=?utf-8?q?a=5Fb=3Dc=3F=C3=A9?=");
        let long = "\u{e9}".repeat(30);
        let encoded = q_encode(&long);
        let words: Vec<&str> = encoded.split(' ').collect();
        assert_eq!(words.len(), 3, "{encoded}");
        assert!(words.iter().all(|w| w.len() <= 75), "{encoded}");
        assert!(
            words
                .iter()
                .all(|w| w.starts_with("=?utf-8?q?") && w.ends_with("?="))
        );
        // 10 characters of 6 encoded bytes fit a word of 63.
        assert_eq!(words[0].matches("=C3=A9").count(), 10, "{encoded}");
    }

    #[test]
    fn quoted_printable_bodies() {
        assert_eq!(quoted_printable("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
        assert_eq!(quoted_printable("x = 1 \n"), "x =3D 1=20\r\n");
        let long = "y".repeat(100);
        let qp = quoted_printable(&long);
        assert!(qp.split("\r\n").all(|l| l.len() <= 76), "{qp}");
        assert_eq!(qp.replace("=\r\n", ""), long);
    }

    #[test]
    fn address_lists() {
        let to = parse_addresses(
            "to",
            "Ops <ops@example.org>, b@example.org,\"Doe, J\" <j@example.org>",
        )
        .unwrap();
        let to: Vec<String> = to.iter().map(|a| a.to_string()).collect();
        assert_eq!(to, ["ops@example.org", "b@example.org", "j@example.org"]);
        assert_eq!(
            parse_from("Alertmanager <am@localhost>")
                .unwrap()
                .to_string(),
            "am@localhost"
        );
        assert_eq!(
            parse_from("a@example.org, b@example.org")
                .unwrap_err()
                .to_string(),
            "must be exactly one 'from' address (got: 2)"
        );
        let e = parse_addresses("to", "").unwrap_err().to_string();
        assert!(e.starts_with("parse 'to' addresses: "), "{e}");
        let e = parse_addresses("to", "not an address")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("parse 'to' addresses: "), "{e}");
    }
}
