//! SMTP authentication like Alertmanager's: the first mechanism the server advertises
//! that the config can serve wins (CRAM-MD5 needs `auth_secret`, PLAIN and LOGIN need
//! `auth_password`); no `auth_username` means no authentication.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::response::Response;

/// One way to authenticate, with the secret it sends.
#[derive(Clone, PartialEq)]
pub enum Mechanism {
    /// CRAM-MD5: an HMAC-MD5 of the server's challenge keyed with the secret.
    CramMd5 {
        /// User name.
        username: String,
        /// `auth_secret`.
        secret: String,
    },
    /// PLAIN: identity, user name and password in one message.
    Plain {
        /// `auth_identity` (authorization identity).
        identity: String,
        /// User name.
        username: String,
        /// `auth_password`.
        password: String,
    },
    /// LOGIN: user name and password, each asked for by the server.
    Login {
        /// User name.
        username: String,
        /// `auth_password`.
        password: String,
    },
}

impl std::fmt::Debug for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Mechanism {
    /// The SASL name.
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::CramMd5 { .. } => "CRAM-MD5",
            Mechanism::Plain { .. } => "PLAIN",
            Mechanism::Login { .. } => "LOGIN",
        }
    }

    /// The secret this mechanism sends, to keep out of error messages.
    pub fn secret(&self) -> &str {
        match self {
            Mechanism::CramMd5 { secret, .. } => secret,
            Mechanism::Plain { password, .. } | Mechanism::Login { password, .. } => password,
        }
    }
}

/// Where the credentials come from: the config's fields, secrets read when needed.
pub struct Credentials<'a> {
    /// `auth_username`.
    pub username: &'a str,
    /// `auth_identity`.
    pub identity: &'a str,
    /// Reads `auth_password(_file)`.
    pub password: &'a (dyn Fn() -> Result<String, String> + Sync),
    /// Reads `auth_secret(_file)`.
    pub secret: &'a (dyn Fn() -> Result<String, String> + Sync),
}

/// The mechanism to use among `advertised` (the `AUTH` line of the EHLO answer, in the
/// server's order). `Ok(None)`: no user name, so no authentication. Errors list why
/// each advertised mechanism could not be used.
pub fn choose(advertised: &str, c: &Credentials<'_>) -> Result<Option<Mechanism>, String> {
    if c.username.is_empty() {
        tracing::debug!("smtp auth_username is not configured: sending without authentication");
        return Ok(None);
    }
    let mut errors = Vec::new();
    for mech in advertised.split(' ') {
        let password = |name: &str, errors: &mut Vec<String>| match (c.password)() {
            Ok(p) if p.is_empty() => {
                errors.push(format!("missing password for {name} auth mechanism"));
                None
            }
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        match mech {
            "CRAM-MD5" => match (c.secret)() {
                Ok(s) if s.is_empty() => {
                    errors.push("missing secret for CRAM-MD5 auth mechanism".into())
                }
                Ok(secret) => {
                    return Ok(Some(Mechanism::CramMd5 {
                        username: c.username.to_string(),
                        secret,
                    }));
                }
                Err(e) => errors.push(e),
            },
            "PLAIN" => {
                if let Some(password) = password("PLAIN", &mut errors) {
                    return Ok(Some(Mechanism::Plain {
                        identity: c.identity.to_string(),
                        username: c.username.to_string(),
                        password,
                    }));
                }
            }
            "LOGIN" => {
                if let Some(password) = password("LOGIN", &mut errors) {
                    return Ok(Some(Mechanism::Login {
                        username: c.username.to_string(),
                        password,
                    }));
                }
            }
            other => errors.push(format!("unknown auth mechanism: {other}")),
        }
    }
    Err(errors.join("\n"))
}

/// The `AUTH` parameters of an EHLO answer (`PLAIN LOGIN CRAM-MD5`), if it has any.
pub fn advertised(ehlo: &Response) -> Option<String> {
    ehlo.message().skip(1).find_map(|line| {
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        key.eq_ignore_ascii_case("AUTH")
            .then(|| rest.trim().to_string())
    })
}

/// The answer to a CRAM-MD5 challenge: `user hex(HMAC-MD5(secret, challenge))`.
pub fn cram_md5_answer(username: &str, secret: &str, challenge: &[u8]) -> String {
    let mut mac = <Hmac<md5::Md5> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(challenge);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{username} {hex}")
}

/// Why authentication failed.
#[derive(Debug)]
pub enum AuthError {
    /// The server answered with an error, or the connection failed.
    Smtp(lettre::transport::smtp::Error),
    /// The exchange went wrong on our side (an unexpected challenge, say).
    Protocol(String),
}

impl From<lettre::transport::smtp::Error> for AuthError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        AuthError::Smtp(e)
    }
}

fn challenge(r: &Response) -> Result<Vec<u8>, AuthError> {
    let text = r.message().next().unwrap_or("").trim();
    B64.decode(text)
        .map_err(|_| AuthError::Protocol("server challenge is not base64".into()))
}

/// Cancels an exchange (`*`), ignoring the answer.
async fn cancel(conn: &mut AsyncSmtpConnection) {
    let _ = conn.command("*\r\n").await;
}

/// Runs the exchange of `mech` on `conn`.
pub async fn authenticate(
    conn: &mut AsyncSmtpConnection,
    mech: &Mechanism,
) -> Result<(), AuthError> {
    match mech {
        Mechanism::Plain {
            identity,
            username,
            password,
        } => {
            let token = B64.encode(format!("{identity}\0{username}\0{password}"));
            let r = conn.command(format!("AUTH PLAIN {token}\r\n")).await?;
            done(conn, r).await
        }
        Mechanism::Login { username, password } => {
            let mut r = conn.command("AUTH LOGIN\r\n").await?;
            for _ in 0..2 {
                if !r.has_code(334) {
                    break;
                }
                let asked = String::from_utf8_lossy(&challenge(&r)?).to_ascii_lowercase();
                let answer = match asked.as_str() {
                    "username:" => username,
                    "password:" => password,
                    _ => {
                        cancel(conn).await;
                        return Err(AuthError::Protocol("unexpected server challenge".into()));
                    }
                };
                r = conn.command(format!("{}\r\n", B64.encode(answer))).await?;
            }
            done(conn, r).await
        }
        Mechanism::CramMd5 { username, secret } => {
            let r = conn.command("AUTH CRAM-MD5\r\n").await?;
            if !r.has_code(334) {
                return done(conn, r).await;
            }
            let answer = cram_md5_answer(username, secret, &challenge(&r)?);
            let r = conn.command(format!("{}\r\n", B64.encode(answer))).await?;
            done(conn, r).await
        }
    }
}

/// Checks the final answer of an exchange: 235, anything else is an error.
async fn done(conn: &mut AsyncSmtpConnection, r: Response) -> Result<(), AuthError> {
    if r.has_code(235) || r.code().to_string().starts_with('2') {
        return Ok(());
    }
    cancel(conn).await;
    Err(AuthError::Protocol(format!(
        "unexpected answer {} {}",
        r.code(),
        r.message().collect::<Vec<_>>().join(" ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds<'a>(
        username: &'a str,
        password: &'a (dyn Fn() -> Result<String, String> + Sync),
        secret: &'a (dyn Fn() -> Result<String, String> + Sync),
    ) -> Credentials<'a> {
        Credentials {
            username,
            identity: "boss",
            password,
            secret,
        }
    }

    #[test]
    fn first_usable_advertised_mechanism_wins() {
        let pw = || Ok("pw".to_string());
        let sec = || Ok("sec".to_string());
        let none = || Ok(String::new());
        let c = creds("u", &pw, &sec);
        assert_eq!(
            choose("LOGIN PLAIN CRAM-MD5", &c).unwrap().unwrap().name(),
            "LOGIN"
        );
        assert_eq!(
            choose("CRAM-MD5 PLAIN", &c).unwrap().unwrap().name(),
            "CRAM-MD5"
        );
        assert_eq!(
            choose("PLAIN", &c).unwrap(),
            Some(Mechanism::Plain {
                identity: "boss".into(),
                username: "u".into(),
                password: "pw".into()
            })
        );
        // Without a secret, CRAM-MD5 is passed over.
        let c = creds("u", &pw, &none);
        assert_eq!(
            choose("CRAM-MD5 LOGIN", &c).unwrap().unwrap().name(),
            "LOGIN"
        );
        // Without a user name, no authentication at all.
        let c = creds("", &pw, &sec);
        assert_eq!(choose("PLAIN", &c).unwrap(), None);
    }

    #[test]
    fn nothing_usable_lists_the_reasons() {
        let none = || Ok(String::new());
        let unreadable = || Err("could not read /pw: No such file".to_string());
        let c = creds("u", &unreadable, &none);
        let e = choose("XOAUTH2 CRAM-MD5 PLAIN LOGIN", &c).unwrap_err();
        assert_eq!(
            e,
            "unknown auth mechanism: XOAUTH2\nmissing secret for CRAM-MD5 auth mechanism\ncould not read /pw: No such file\ncould not read /pw: No such file"
        );
        let c = creds("u", &none, &none);
        assert_eq!(
            choose("LOGIN", &c).unwrap_err(),
            "missing password for LOGIN auth mechanism"
        );
    }

    #[test]
    fn cram_md5_answer_matches_rfc_2195() {
        // The example exchange of RFC 2195.
        let answer = cram_md5_answer(
            "tim",
            "tanstaaftanstaaf",
            b"<1896.697170952@postoffice.reston.mci.net>",
        );
        assert_eq!(answer, "tim b913a602c7eda7a495b4e6e7334d3890");
        assert_eq!(
            B64.encode(answer),
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
        );
    }

    #[test]
    fn auth_line_of_the_ehlo_answer() {
        let ehlo: Response =
            "250-smtp.test\r\n250-SIZE 100\r\n250-AUTH CRAM-MD5 LOGIN PLAIN\r\n250 HELP\r\n"
                .parse()
                .unwrap();
        assert_eq!(advertised(&ehlo).as_deref(), Some("CRAM-MD5 LOGIN PLAIN"));
        // The greeting line is not an extension, even when it starts with "AUTH".
        let ehlo: Response = "250-AUTH.example\r\n250 8BITMIME\r\n".parse().unwrap();
        assert_eq!(advertised(&ehlo), None);
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let m = Mechanism::Plain {
            identity: String::new(),
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert_eq!(format!("{m:?}"), "PLAIN");
    }
}
