//! AWS Signature Version 4 for requests signed in the `Authorization` header
//! (`AWS4-HMAC-SHA256`), as AWS documents it: canonical request, string to sign,
//! derived signing key, signature. Checked against AWS's published test vectors.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The algorithm name in the `Authorization` header and the string to sign.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key ID.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// Session token of temporary credentials (sent as `X-Amz-Security-Token`).
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The access key ID is not secret; the rest is.
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// URI-encodes `s` the AWS way: everything but `A-Za-z0-9-_.~` as `%XX`
/// (uppercase); `/` is kept when `keep_slash`.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The canonical query string: pairs decoded, each name and value encoded, sorted.
fn canonical_query(url: &url::Url) -> String {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical URI: the path as sent, each segment encoded once more (services
/// other than S3 expect the double encoding).
fn canonical_uri(url: &url::Url) -> String {
    let path = url.path();
    if path.is_empty() {
        return "/".to_string();
    }
    uri_encode(path, true)
}

/// The `Host` header value an HTTP client sends for `url` (port only when not the
/// scheme's default).
pub fn host_header(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// `X-Amz-Date` format of `time` (UTC, `20150830T123600Z`).
pub fn amz_date(time: jiff::Timestamp) -> String {
    time.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// What signing adds to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Headers to add, in this order: `X-Amz-Date`, `X-Amz-Security-Token` (with a
    /// session token), `Authorization`.
    pub headers: Vec<(&'static str, String)>,
    /// The lowercase, `;`-separated names of the signed headers.
    pub signed_headers: String,
    /// The hex signature.
    pub signature: String,
}

/// Signs a request to `url` with `method`, the extra `headers` to sign (name, value;
/// `Host`, `X-Amz-Date` and the session token are added here) and `body`, for
/// `service` in `region` at `time`.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: jiff::Timestamp,
    method: &str,
    url: &url::Url,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Signature {
    let date_time = amz_date(time);
    let date = &date_time[..8];
    let mut canon: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), normalize_value(v)))
        .collect();
    canon.push(("host".to_string(), host_header(url)));
    canon.push(("x-amz-date".to_string(), date_time.clone()));
    if let Some(token) = &credentials.session_token {
        canon.push(("x-amz-security-token".to_string(), token.clone()));
    }
    canon.sort();
    let signed_headers = canon
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut canonical_headers = String::new();
    for (k, v) in &canon {
        canonical_headers.push_str(k);
        canonical_headers.push(':');
        canonical_headers.push_str(v);
        canonical_headers.push('\n');
    }
    let canonical_request = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        canonical_uri(url),
        canonical_query(url),
        sha256_hex(body)
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "{ALGORITHM}\n{date_time}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = signing_key(&credentials.secret_key, date, region, service);
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key
    );
    let mut out = vec![("X-Amz-Date", date_time)];
    if let Some(token) = &credentials.session_token {
        out.push(("X-Amz-Security-Token", token.clone()));
    }
    out.push(("Authorization", authorization));
    Signature {
        headers: out,
        signed_headers,
        signature,
    }
}

/// The derived key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Header values: trimmed, inner runs of spaces collapsed to one.
fn normalize_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // AWS's SigV4 test suite: credentials, region, service and time of every vector.
    fn suite() -> Credentials {
        Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    fn at() -> jiff::Timestamp {
        "2015-08-30T12:36:00Z".parse().unwrap()
    }

    fn sig(
        method: &str,
        url: &str,
        service: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Signature {
        let url = url::Url::parse(url).unwrap();
        sign(
            &suite(),
            "us-east-1",
            service,
            at(),
            method,
            &url,
            headers,
            body.as_bytes(),
        )
    }

    #[test]
    fn published_test_suite_vectors() {
        // get-vanilla
        let s = sig("GET", "https://example.amazonaws.com/", "service", &[], "");
        assert_eq!(
            s.headers.last().unwrap().1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(s.headers[0], ("X-Amz-Date", "20150830T123600Z".to_string()));
        // get-vanilla-query-order-key-case: the query is sorted.
        let s = sig(
            "GET",
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            "service",
            &[],
            "",
        );
        assert_eq!(
            s.signature,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
        // post-vanilla
        let s = sig("POST", "https://example.amazonaws.com/", "service", &[], "");
        assert_eq!(
            s.signature,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
        // post-vanilla-query
        let s = sig(
            "POST",
            "https://example.amazonaws.com/?Param1=value1",
            "service",
            &[],
            "",
        );
        assert_eq!(
            s.signature,
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
        );
        // post-x-www-form-urlencoded: the body is signed through its hash.
        let s = sig(
            "POST",
            "https://example.amazonaws.com/",
            "service",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "Param1=value1",
        );
        assert_eq!(s.signed_headers, "content-type;host;x-amz-date");
        assert_eq!(
            s.signature,
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn published_iam_example() {
        // The signing example of AWS's general reference (IAM ListUsers).
        let s = sig(
            "GET",
            "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
            "iam",
            &[(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            "",
        );
        assert_eq!(
            s.headers.last().unwrap().1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn session_tokens_are_sent_and_signed() {
        let mut c = suite();
        c.session_token = Some("TOKEN".into());
        let url = url::Url::parse("http://127.0.0.1:8080/").unwrap();
        let s = sign(&c, "eu-west-1", "sns", at(), "POST", &url, &[], b"");
        assert_eq!(s.signed_headers, "host;x-amz-date;x-amz-security-token");
        assert_eq!(s.headers[1], ("X-Amz-Security-Token", "TOKEN".to_string()));
        assert_eq!(host_header(&url), "127.0.0.1:8080");
        assert!(!format!("{c:?}").contains("EXAMPLEKEY"));
    }

    #[test]
    fn encoding_is_the_aws_one() {
        assert_eq!(uri_encode("a b/c~d*e+é", false), "a%20b%2Fc~d%2Ae%2B%C3%A9");
        assert_eq!(uri_encode("/a b/", true), "/a%20b/");
    }
}
