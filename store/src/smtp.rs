//! Email over SMTP: the letter built by lettre (MIME, headers, encodings),
//! sent by a small client of the store's own that keeps one connection open
//! from letter to letter, pipelines the envelope (RFC 2920) and turns
//! Nagle's algorithm off.
//!
//! Why not lettre's transport: it writes a letter's body and its final
//! `.` in two writes with Nagle on, so every letter waits for the server's
//! delayed ACK (40 ms on Linux): about 25 letters a second per connection
//! (lettre PR #1159, merged upstream but not in 0.11.23). With the
//! envelope pipelined and the body sent in one write, a letter costs one
//! round trip for the envelope and one for the data.
//!
//! TLS is rustls with the webpki roots: `smtps://` from the first byte, or
//! STARTTLS with `?tls=required` (or `opportunistic`). `AUTH PLAIN` or
//! `LOGIN` when the URL carries a user.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use crate::channel::{Channel, Letter, Refusal};
use crate::error::{Error, Result};

/// How the connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain text: a local relay or a test sink.
    None,
    /// STARTTLS if the server offers it, plain text if not.
    Opportunistic,
    /// STARTTLS, or no letter is sent.
    Required,
    /// TLS from the first byte (`smtps://`, port 465).
    Wrapper,
}

/// Where and how to connect.
#[derive(Clone, Debug)]
struct Server {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<(String, String)>,
    /// Certificates to trust besides the public roots (a private relay's).
    ca: Option<std::path::PathBuf>,
    timeout: Duration,
}

/// The SMTP channel (`email`).
pub struct Smtp {
    server: Server,
    domain: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    session: Option<Session>,
}

impl Smtp {
    /// A server named by a URL: `smtp://host:25` (plain),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS; `opportunistic`
    /// uses it when offered), `smtps://user:pass@host` (TLS from the start,
    /// port 465 by default). User and password are percent-decoded, and
    /// only ever sent over TLS. `ca=PATH` trusts the PEM certificates in
    /// that file besides the public roots (a private relay's own CA).
    pub fn from_url(url: &str, timeout: Duration) -> Result<Smtp> {
        let bad = |why: &str| Error::Channel {
            channel: "email".into(),
            message: format!("bad SMTP address `{}`: {why}", redact(url)),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected smtp:// or smtps://"))?;
        let (mut security, default_port) = match scheme {
            "smtp" => (Security::None, 25),
            "smtps" => (Security::Wrapper, 465),
            _ => return Err(bad("expected smtp:// or smtps://")),
        };
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        let (credentials, hostport) = match authority.rsplit_once('@') {
            Some((user, hostport)) => {
                let (name, password) = user.split_once(':').unwrap_or((user, ""));
                (Some((unpercent(name), unpercent(password))), hostport)
            }
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| bad("the port is not a number"))?),
            None => (hostport, default_port),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let mut ca = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("ca", path)) if !path.is_empty() => {
                    ca = Some(std::path::PathBuf::from(unpercent(path)))
                }
                Some(("tls", "required")) if security == Security::None => {
                    security = Security::Required
                }
                Some(("tls", "opportunistic")) if security == Security::None => {
                    security = Security::Opportunistic
                }
                Some(("tls", "none")) if security == Security::None => {}
                _ => return Err(bad(&format!("unknown option `{pair}`"))),
            }
        }
        if credentials.is_some() && security == Security::None {
            return Err(bad(
                "a user and password are only sent over TLS: add ?tls=required or use smtps://",
            ));
        }
        if ca.is_some() && security == Security::None {
            return Err(bad("`ca` is for TLS: add ?tls=required or use smtps://"));
        }
        Smtp::new(Server {
            host: host.trim_matches(|c| c == '[' || c == ']').to_string(),
            port,
            security,
            credentials,
            ca,
            timeout,
        })
    }

    /// A server named as the `patron` command takes it: `HOST:PORT` (plain,
    /// for a local relay) or a URL (see [`Smtp::from_url`]).
    pub fn connect(address: &str, timeout: Duration) -> Result<Smtp> {
        if address.contains("://") {
            return Smtp::from_url(address, timeout);
        }
        let bad = || Error::Channel {
            channel: "email".into(),
            message: format!("expected HOST:PORT or a URL, got `{address}`"),
        };
        let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse().map_err(|_| bad())?;
        Ok(Smtp::plain(host, port, timeout))
    }

    /// A plain server on `host:port`, without TLS: a local relay or test sink.
    pub fn plain(host: &str, port: u16, timeout: Duration) -> Smtp {
        Smtp {
            server: Server {
                host: host.to_string(),
                port,
                security: Security::None,
                credentials: None,
                ca: None,
                timeout,
            },
            domain: "localhost".into(),
            tls: None,
            session: None,
        }
    }

    fn new(server: Server) -> Result<Smtp> {
        let tls = match server.security {
            Security::None => None,
            _ => Some(tls_config(server.ca.as_deref())?),
        };
        Ok(Smtp {
            server,
            domain: "localhost".into(),
            tls,
            session: None,
        })
    }

    /// The domain of Message-IDs and of `EHLO` (the store sets it from
    /// its config).
    pub fn set_domain(&mut self, domain: &str) {
        self.domain = domain.to_string();
    }

    fn message(&self, letter: &Letter) -> std::result::Result<(String, String, Vec<u8>), Refusal> {
        let reject = |what: String| Refusal::Reject {
            reason: what,
            hard_bounce: false,
        };
        let from: Mailbox = letter
            .from
            .parse()
            .map_err(|e| reject(format!("bad From `{}`: {e}", letter.from)))?;
        let to_text = letter
            .to
            .as_deref()
            .ok_or_else(|| reject("the contact has no email address".into()))?;
        let to: Mailbox = to_text
            .parse()
            .map_err(|e| reject(format!("bad address `{to_text}`: {e}")))?;
        let (envelope_from, envelope_to) = (from.email.to_string(), to.email.to_string());
        let mut builder = lettre::Message::builder()
            .from(from)
            .to(to)
            .message_id(Some(format!("<{}@{}>", letter.message_id, self.domain)))
            .subject(letter.subject.clone().unwrap_or_default());
        for (name, value) in &letter.headers {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|e| reject(format!("bad header `{name}`: {e}")))?;
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
        let built = match (&letter.text, &letter.html) {
            (Some(text), Some(html)) => builder.multipart(MultiPart::alternative_plain_html(
                text.clone(),
                html.clone(),
            )),
            (None, Some(html)) => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html.clone()),
            ),
            (text, None) => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(text.clone().unwrap_or_default()),
            ),
        };
        let message = built.map_err(|e| reject(format!("the letter cannot be built: {e}")))?;
        Ok((envelope_from, envelope_to, message.formatted()))
    }

    /// The open session, or a new one.
    fn session(&mut self) -> std::result::Result<&mut Session, Refusal> {
        if self.session.is_none() {
            let session = Session::open(&self.server, self.tls.as_ref(), &self.domain)?;
            self.session = Some(session);
        }
        Ok(self.session.as_mut().expect("just opened"))
    }
}

impl Channel for Smtp {
    fn name(&self) -> &str {
        "email"
    }

    fn send(&mut self, letter: &Letter) -> std::result::Result<(), Refusal> {
        let (from, to, data) = self.message(letter)?;
        let outcome = self.session().and_then(|s| s.send(&from, &to, &data));
        if let Err(Refusal::Retry(_)) = &outcome {
            // A broken or confused connection is opened anew next time.
            self.session = None;
        }
        outcome
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        if let Some(session) = self.session.as_mut() {
            let _ = session.write(b"QUIT\r\n");
        }
    }
}

/// ring has no post-quantum key exchange (hence rustls's deprecation);
/// aws-lc-rs has, at the cost of a C and CMake build on every install. Mail
/// servers' TLS is classical today, so ring it is.
#[allow(deprecated)]
fn tls_config(ca: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca {
        let bad = |why: String| Error::Channel {
            channel: "email".into(),
            message: format!("the CA file `{}`: {why}", path.display()),
        };
        let certificates = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certificates.is_empty() {
            return Err(bad("no PEM certificate in it".into()));
        }
        for certificate in certificates {
            roots.add(certificate).map_err(|e| bad(e.to_string()))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Channel {
        channel: "email".into(),
        message: format!("TLS: {e}"),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A byte stream, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// One server reply: its code and its text (lines joined).
struct Reply {
    code: u16,
    text: String,
}

impl Reply {
    fn refusal(&self, doing: &str, on_recipient: bool) -> Refusal {
        let reason = format!("{doing}: {} {}", self.code, self.text);
        if self.code >= 500 {
            Refusal::Reject {
                reason,
                hard_bounce: on_recipient && matches!(self.code, 550 | 551 | 553),
            }
        } else {
            Refusal::Retry(reason)
        }
    }
}

/// A connection after EHLO (and STARTTLS and AUTH when asked for).
struct Session {
    stream: Stream,
    buffer: Vec<u8>,
    pipelining: bool,
}

fn network(doing: &str, e: std::io::Error) -> Refusal {
    Refusal::Retry(format!("{doing}: {e}"))
}

impl Session {
    fn open(
        server: &Server,
        tls: Option<&Arc<rustls::ClientConfig>>,
        domain: &str,
    ) -> std::result::Result<Session, Refusal> {
        let address = (server.host.as_str(), server.port)
            .to_socket_addrs()
            .map_err(|e| network("resolving the SMTP server", e))?
            .next()
            .ok_or_else(|| Refusal::Retry(format!("no address for `{}`", server.host)))?;
        let tcp = TcpStream::connect_timeout(&address, server.timeout)
            .map_err(|e| network("connecting to the SMTP server", e))?;
        tcp.set_nodelay(true)
            .map_err(|e| network("connecting", e))?;
        tcp.set_read_timeout(Some(server.timeout))
            .map_err(|e| network("connecting", e))?;
        tcp.set_write_timeout(Some(server.timeout))
            .map_err(|e| network("connecting", e))?;
        let wrap = |tcp: TcpStream| -> std::result::Result<Stream, Refusal> {
            let config = tls.ok_or_else(|| Refusal::Retry("no TLS configured".into()))?;
            let name = rustls::pki_types::ServerName::try_from(server.host.clone())
                .map_err(|e| Refusal::Retry(format!("TLS name `{}`: {e}", server.host)))?;
            let connection = rustls::ClientConnection::new(Arc::clone(config), name)
                .map_err(|e| Refusal::Retry(format!("TLS: {e}")))?;
            Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(
                connection, tcp,
            ))))
        };
        let stream = match server.security {
            Security::Wrapper => wrap(tcp)?,
            _ => Stream::Plain(tcp),
        };
        let mut session = Session {
            stream,
            buffer: Vec::with_capacity(512),
            pipelining: false,
        };
        let greeting = session.reply("greeting")?;
        if greeting.code != 220 {
            return Err(greeting.refusal("greeting", false));
        }
        let mut features = session.ehlo(domain)?;
        let offers = |features: &str, word: &str| {
            features.lines().any(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case(word))
            })
        };
        let starttls = matches!(
            server.security,
            Security::Required | Security::Opportunistic
        ) && (offers(&features, "STARTTLS")
            || server.security == Security::Required);
        if starttls {
            session.write(b"STARTTLS\r\n")?;
            let reply = session.reply("STARTTLS")?;
            if reply.code != 220 {
                return Err(reply.refusal("STARTTLS", false));
            }
            let Stream::Plain(tcp) = session.stream else {
                return Err(Refusal::Retry("STARTTLS on a TLS connection".into()));
            };
            session.stream = wrap(tcp)?;
            session.buffer.clear();
            features = session.ehlo(domain)?;
        }
        session.pipelining = offers(&features, "PIPELINING");
        if let Some((user, password)) = &server.credentials {
            if matches!(session.stream, Stream::Plain(_)) {
                return Err(Refusal::Retry(
                    "the server offered no STARTTLS: the password is not sent in the clear".into(),
                ));
            }
            session.auth(&features, user, password)?;
        }
        Ok(session)
    }

    fn ehlo(&mut self, domain: &str) -> std::result::Result<String, Refusal> {
        self.write(format!("EHLO {domain}\r\n").as_bytes())?;
        let reply = self.reply("EHLO")?;
        if reply.code != 250 {
            return Err(reply.refusal("EHLO", false));
        }
        Ok(reply.text)
    }

    fn auth(
        &mut self,
        features: &str,
        user: &str,
        password: &str,
    ) -> std::result::Result<(), Refusal> {
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let mechanisms = features
            .lines()
            .find(|l| l.to_ascii_uppercase().starts_with("AUTH"))
            .unwrap_or("")
            .to_ascii_uppercase();
        if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
            let token = b64(format!("\0{user}\0{password}").as_bytes());
            self.write(format!("AUTH PLAIN {token}\r\n").as_bytes())?;
        } else {
            self.write(b"AUTH LOGIN\r\n")?;
            for (step, value) in [("user", user), ("password", password)] {
                let reply = self.reply("AUTH LOGIN")?;
                if reply.code != 334 {
                    return Err(Refusal::Reject {
                        reason: format!("AUTH LOGIN ({step}): {} {}", reply.code, reply.text),
                        hard_bounce: false,
                    });
                }
                self.write(format!("{}\r\n", b64(value.as_bytes())).as_bytes())?;
            }
        }
        let reply = self.reply("AUTH")?;
        if reply.code != 235 {
            // Wrong credentials fail every letter alike: not a bounce.
            return Err(Refusal::Retry(format!(
                "AUTH: {} {}",
                reply.code, reply.text
            )));
        }
        Ok(())
    }

    /// One letter: the envelope in one write (pipelined when the server
    /// allows), then the dot-stuffed data and its end in one write.
    fn send(&mut self, from: &str, to: &str, data: &[u8]) -> std::result::Result<(), Refusal> {
        let commands = [
            format!("MAIL FROM:<{from}>\r\n"),
            format!("RCPT TO:<{to}>\r\n"),
            "DATA\r\n".to_string(),
        ];
        let expected = [
            (250, "MAIL FROM", false),
            (250, "RCPT TO", true),
            (354, "DATA", false),
        ];
        if self.pipelining {
            self.write(commands.concat().as_bytes())?;
            let mut refused = None;
            for (code, doing, on_recipient) in expected {
                let reply = self.reply(doing)?;
                if reply.code != code && refused.is_none() {
                    refused = Some(reply.refusal(doing, on_recipient));
                }
            }
            if let Some(refusal) = refused {
                self.reset()?;
                return Err(refusal);
            }
        } else {
            for (command, (code, doing, on_recipient)) in commands.iter().zip(expected) {
                self.write(command.as_bytes())?;
                let reply = self.reply(doing)?;
                if reply.code != code {
                    self.reset()?;
                    return Err(reply.refusal(doing, on_recipient));
                }
            }
        }
        let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 8);
        let mut line_start = true;
        for &b in data {
            if line_start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
            line_start = b == b'\n';
        }
        if !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.write(&out)?;
        let reply = self.reply("end of data")?;
        if reply.code != 250 {
            return Err(reply.refusal("end of data", false));
        }
        Ok(())
    }

    /// After a refused letter, the session is made ready for the next.
    fn reset(&mut self) -> std::result::Result<(), Refusal> {
        self.write(b"RSET\r\n")?;
        self.reply("RSET").map(drop)
    }

    fn write(&mut self, bytes: &[u8]) -> std::result::Result<(), Refusal> {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| network("writing to the SMTP server", e))
    }

    /// Reads one (possibly multi-line) reply.
    fn reply(&mut self, doing: &str) -> std::result::Result<Reply, Refusal> {
        let mut text = String::new();
        loop {
            let line = self.line(doing)?;
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| Refusal::Retry(format!("{doing}: the server answered `{line}`")))?;
            let last = line.as_bytes().get(3) != Some(&b'-');
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(line.get(4..).unwrap_or("").trim_end());
            if last {
                return Ok(Reply { code, text });
            }
            if text.len() > 64 * 1024 {
                return Err(Refusal::Retry(format!(
                    "{doing}: the server's reply is too long"
                )));
            }
        }
    }

    fn line(&mut self, doing: &str) -> std::result::Result<String, Refusal> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return Ok(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            if self.buffer.len() > 64 * 1024 {
                return Err(Refusal::Retry(format!(
                    "{doing}: the server's line is too long"
                )));
            }
            let mut chunk = [0u8; 4096];
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| network(doing, e))?;
            if n == 0 {
                return Err(Refusal::Retry(format!(
                    "{doing}: the server closed the connection"
                )));
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

fn unpercent(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with its password hidden, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = &url[s + 3..at];
            let name = user.split(':').next().unwrap_or("");
            format!("{}://{name}:***{}", &url[..s], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_server_security_and_credentials() {
        let t = Duration::from_secs(1);
        let s =
            Smtp::from_url("smtp://ann%40shop:p%3Ass@mail.example:587?tls=required", t).unwrap();
        assert_eq!(
            (s.server.host.as_str(), s.server.port, s.server.security),
            ("mail.example", 587, Security::Required)
        );
        assert_eq!(
            s.server.credentials,
            Some(("ann@shop".into(), "p:ss".into()))
        );
        let s = Smtp::from_url("smtps://mail.example", t).unwrap();
        assert_eq!((s.server.port, s.server.security), (465, Security::Wrapper));
        let s = Smtp::from_url("smtp://relay?tls=opportunistic", t).unwrap();
        assert_eq!(
            (s.server.port, s.server.security),
            (25, Security::Opportunistic)
        );
        for bad in [
            "http://x",
            "smtp://",
            "smtp://x:port",
            "smtp://x?tls=maybe",
            "mail.example",
            // A password never goes in the clear; `ca` is for TLS only.
            "smtp://ann:secret@mail.example:25",
            "smtp://mail.example?ca=/etc/ssl/ca.pem",
            // A CA file that is missing, or holds no certificate.
            "smtp://mail.example?tls=required&ca=/nonexistent/ca.pem",
            "smtps://mail.example?ca=/dev/null",
        ] {
            assert!(Smtp::from_url(bad, t).is_err(), "{bad}");
        }
        let err = Smtp::from_url("smtp://ann:secret@x?bad=1", t)
            .err()
            .unwrap()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
    }
}
