//! Where letters go: a channel takes one rendered letter and says whether
//! it was accepted, should be tried again, or was refused for good.
//!
//! The store ships [`crate::Smtp`] for email and [`Callback`] for hosts
//! that send through their own provider (an SMS gateway, a push service,
//! an email API), and routes each outbox row to the channel of its name.

use serde::Serialize;

/// One letter, rendered and addressed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Letter {
    /// The id of the letter, stable across retries; for email, the
    /// Message-ID is `<message_id@domain>`.
    pub message_id: String,
    /// The contact.
    pub contact_id: String,
    /// The channel (`email`, `sms`, `push`, `task`, `webhook`, ...).
    pub channel: String,
    /// The rule and step that made it.
    pub rule: String,
    /// The step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The address: email or phone, when the channel has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The sender's address.
    pub from: String,
    /// The subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The HTML body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The text body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Headers to add (`List-Unsubscribe`, `List-Unsubscribe-Post`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The action's JSON form (template, coupon pool, products, a task's
    /// text, a webhook's address).
    pub action: serde_json::Value,
    /// This attempt, from 1.
    pub attempt: i64,
}

/// Why a channel did not take a letter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Try again later (a timeout, a dropped connection, a 4xx reply).
    Retry(String),
    /// Never try again (a 5xx reply). `hard_bounce` says the address does
    /// not exist: the store withdraws the channel's consent.
    Reject {
        /// What the server said.
        reason: String,
        /// The address is gone.
        hard_bounce: bool,
    },
}

/// A way out for letters of one channel.
pub trait Channel {
    /// The channel's name, as rules and outbox rows name it.
    fn name(&self) -> &str;
    /// Hands one letter over.
    fn send(&mut self, letter: &Letter) -> Result<(), Refusal>;
}

/// A channel that calls the host's function for every letter.
pub struct Callback<F> {
    name: String,
    send: F,
}

impl<F: FnMut(&Letter) -> Result<(), Refusal>> Callback<F> {
    /// A channel named `name` that hands every letter to `send`.
    pub fn new(name: impl Into<String>, send: F) -> Self {
        Callback {
            name: name.into(),
            send,
        }
    }
}

impl<F: FnMut(&Letter) -> Result<(), Refusal>> Channel for Callback<F> {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&mut self, letter: &Letter) -> Result<(), Refusal> {
        (self.send)(letter)
    }
}
