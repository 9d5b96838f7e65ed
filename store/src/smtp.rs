//! Email over SMTP, through lettre: TLS (rustls) and auth when the server
//! asks for them, and a pool of connections reused from letter to letter.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use crate::channel::{Channel, Letter, Refusal};
use crate::error::{Error, Result};

/// The SMTP channel (`email`).
pub struct Smtp {
    transport: SmtpTransport,
    domain: String,
}

impl Smtp {
    /// A server named by a URL, as lettre reads them:
    /// `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host` (TLS from the start).
    pub fn from_url(url: &str, timeout: Duration) -> Result<Smtp> {
        let bad = |e: lettre::transport::smtp::Error| Error::Channel {
            channel: "email".into(),
            message: format!("bad SMTP address `{url}`: {e}"),
        };
        let builder = SmtpTransport::from_url(url).map_err(bad)?;
        Ok(Smtp::with(builder, timeout))
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
        Smtp::with(
            SmtpTransport::builder_dangerous(host)
                .port(port)
                .tls(Tls::None),
            timeout,
        )
    }

    /// A server with STARTTLS required (port 587, usually).
    pub fn starttls(host: &str, port: u16, timeout: Duration) -> Result<Smtp> {
        let tls = TlsParameters::new(host.into()).map_err(|e| Error::Channel {
            channel: "email".into(),
            message: format!("TLS for `{host}`: {e}"),
        })?;
        Ok(Smtp::with(
            SmtpTransport::builder_dangerous(host)
                .port(port)
                .tls(Tls::Required(tls)),
            timeout,
        ))
    }

    /// `timeout` bounds every read and write on the connection: a server
    /// that stops answering fails the attempt (retried later) instead of
    /// holding the sender.
    fn with(builder: lettre::transport::smtp::SmtpTransportBuilder, timeout: Duration) -> Smtp {
        let transport = builder
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(4))
            .build();
        Smtp {
            transport,
            domain: "localhost".into(),
        }
    }

    /// The domain of Message-IDs (the store sets it from its config).
    pub fn set_domain(&mut self, domain: &str) {
        self.domain = domain.to_string();
    }

    fn message(&self, letter: &Letter) -> Result<lettre::Message, Refusal> {
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
        built.map_err(|e| reject(format!("the letter cannot be built: {e}")))
    }
}

impl Channel for Smtp {
    fn name(&self) -> &str {
        "email"
    }

    fn send(&mut self, letter: &Letter) -> Result<(), Refusal> {
        let message = self.message(letter)?;
        match self.transport.send(&message) {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => {
                let code = e.status().map(|c| c.to_string()).unwrap_or_default();
                Err(Refusal::Reject {
                    hard_bounce: matches!(code.as_str(), "550" | "551" | "553"),
                    reason: e.to_string(),
                })
            }
            Err(e) => Err(Refusal::Retry(e.to_string())),
        }
    }
}
