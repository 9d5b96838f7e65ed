//! A local SMTP sink: a small SMTP server on 127.0.0.1 that accepts every
//! letter and keeps its Message-ID, subject and recipient. For demos,
//! staging and benchmarks, where letters must really cross SMTP but reach
//! no one. It speaks the part of RFC 5321 a sender needs (EHLO or HELO,
//! MAIL, RCPT, DATA with dot-stuffing, RSET, NOOP, QUIT), one thread per
//! connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One letter the sink accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The `Message-ID` header.
    pub message_id: String,
    /// The `Subject` header, as written (encoded words are left encoded).
    pub subject: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The letter's size in bytes.
    pub bytes: usize,
}

/// A running sink; it stops when dropped.
pub struct SmtpSink {
    port: u16,
    letters: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl SmtpSink {
    /// Starts a sink on a free port of 127.0.0.1.
    pub fn start() -> std::io::Result<SmtpSink> {
        SmtpSink::start_on(0)
    }

    /// Starts a sink on `port` of 127.0.0.1 (0: a free one).
    pub fn start_on(port: u16) -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        let letters = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (letters, stop) = (Arc::clone(&letters), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let letters = Arc::clone(&letters);
                    std::thread::spawn(move || {
                        let _ = serve(stream, &letters);
                    });
                }
            })
        };
        Ok(SmtpSink {
            port,
            letters,
            stop,
            accept: Some(accept),
        })
    }

    /// `127.0.0.1:PORT`, as the `patron` command's `--smtp` takes it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The letters accepted so far.
    pub fn letters(&self) -> Vec<Received> {
        self.letters_since(0)
    }

    /// The letters accepted after the first `skip`.
    pub fn letters_since(&self, skip: usize) -> Vec<Received> {
        let letters = self.letters.lock().unwrap_or_else(|e| e.into_inner());
        letters.get(skip..).unwrap_or_default().to_vec()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accepting thread so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn serve(stream: TcpStream, letters: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 patron sink ready\r\n")?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-patron sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
        } else if command.starts_with("HELO") || command.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if command.starts_with("MAIL FROM") {
            to.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..].trim().trim_start_matches(':').trim();
            to.push(address.trim_matches(|c| c == '<' || c == '>').to_string());
            b"250 OK\r\n"
        } else if command == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            let received = read_data(&mut input, std::mem::take(&mut to))?;
            letters
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(received);
            b"250 OK queued\r\n"
        } else if command == "RSET" {
            to.clear();
            b"250 OK\r\n"
        } else if command == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            b"502 not implemented\r\n"
        };
        out.write_all(reply)?;
    }
}

fn read_data(input: &mut impl BufRead, to: Vec<String>) -> std::io::Result<Received> {
    let (mut message_id, mut subject, mut bytes) = (String::new(), String::new(), 0);
    let mut headers = true;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == ".\r\n" || line == ".\n" {
            return Ok(Received {
                message_id,
                subject,
                to,
                bytes,
            });
        }
        bytes += line.len();
        let text = line.trim_end();
        if headers {
            if text.is_empty() {
                headers = false;
            } else if let Some((name, value)) = text.split_once(':') {
                if name.eq_ignore_ascii_case("message-id") {
                    message_id = value.trim().to_string();
                } else if name.eq_ignore_ascii_case("subject") {
                    subject = value.trim().to_string();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sink_takes_a_letter_over_real_smtp() {
        use crate::channel::{Channel, Letter};
        let sink = SmtpSink::start().unwrap();
        let mut smtp =
            crate::Smtp::plain("127.0.0.1", sink.port(), std::time::Duration::from_secs(5));
        smtp.set_domain("shop.example");
        let letter = Letter {
            message_id: "abc".into(),
            contact_id: "anna".into(),
            channel: "email".into(),
            rule: "r".into(),
            step: None,
            to: Some("anna@example.com".into()),
            from: "Shop <news@shop.example>".into(),
            subject: Some("Hello".into()),
            html: None,
            text: Some(".starts with a dot\r\nand goes on".into()),
            headers: vec![],
            action: serde_json::Value::Null,
            attempt: 1,
        };
        smtp.send(&letter).unwrap();
        smtp.send(&Letter {
            message_id: "def".into(),
            ..letter
        })
        .unwrap();
        let got = sink.letters();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].message_id, "<abc@shop.example>");
        assert_eq!(got[0].subject, "Hello");
        assert_eq!(got[0].to, ["anna@example.com"]);
    }
}
