//! RFC 3464 delivery status: the per-message fields and one block per recipient, folded lines joined.

use serde::Serialize;

/// What the reporting MTA did for one recipient (RFC 3464 section 2.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Failed,
    /// Still queued: a warning, not a failure.
    Delayed,
    Delivered,
    Relayed,
    Expanded,
    Other(String),
}

impl Action {
    fn parse(value: &str) -> Self {
        // Some MTAs append a comment: "failed (bad mailbox)".
        let word = value
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match word.as_str() {
            "failed" | "failure" => Self::Failed,
            "delayed" => Self::Delayed,
            "delivered" => Self::Delivered,
            "relayed" => Self::Relayed,
            "expanded" => Self::Expanded,
            _ => Self::Other(value.trim().to_string()),
        }
    }

    /// Delivered, relayed or expanded: success as far as the reporting MTA can tell.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Delivered | Self::Relayed | Self::Expanded)
    }
}

/// One recipient's block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecipientStatus {
    pub final_recipient: Option<String>,
    pub original_recipient: Option<String>,
    pub action: Option<Action>,
    /// The RFC 3463 status code (`5.1.1`).
    pub status: Option<String>,
    /// The Diagnostic-Code text without its type (`smtp;`), unfolded.
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
    pub last_attempt: Option<String>,
    /// Vendor fields (`X-Postfix-*`, `X-Display-Name`, ...) as written.
    pub extra: Vec<(String, String)>,
}

impl RecipientStatus {
    /// The address to name: Final-Recipient, else Original-Recipient.
    pub fn address(&self) -> Option<&str> {
        self.final_recipient
            .as_deref()
            .or(self.original_recipient.as_deref())
    }
}

/// A whole delivery-status body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryStatus {
    pub reporting_mta: Option<String>,
    /// Per-message fields other than Reporting-MTA, as written.
    pub message_fields: Vec<(String, String)>,
    pub recipients: Vec<RecipientStatus>,
}

/// The fields of a header-like text, continuation lines joined to their field.
pub fn unfold_fields(text: &str) -> Vec<Option<(String, String)>> {
    // `None` marks a blank line (a block boundary).
    let mut fields: Vec<Option<(String, String)>> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !matches!(fields.last(), Some(None)) {
                fields.push(None);
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(Some((_, value))) = fields.last_mut() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(line.trim());
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if is_field_name(name) => {
                fields.push(Some((name.trim().to_string(), value.trim().to_string())));
            }
            _ => {
                if !matches!(fields.last(), Some(None)) {
                    fields.push(None);
                }
            }
        }
    }
    fields
}

fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Strips an address-type or diagnostic-type prefix (`rfc822;`, `smtp;`, `X-Postfix;`).
fn without_type(value: &str) -> String {
    match value.split_once(';') {
        Some((kind, rest))
            if !kind.is_empty()
                && kind.len() <= 24
                && kind
                    .trim()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            rest.trim().to_string()
        }
        _ => value.trim().to_string(),
    }
}

fn clean_address(value: &str) -> String {
    without_type(value)
        .trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
        .to_string()
}

/// Parses a delivery-status body; `None` when it has no recipient block at all.
pub fn parse(text: &str) -> Option<DeliveryStatus> {
    let mut status = DeliveryStatus::default();
    let mut current: Option<RecipientStatus> = None;
    for field in unfold_fields(text) {
        let Some((name, value)) = field else {
            if let Some(done) = current.take() {
                status.recipients.push(done);
            }
            continue;
        };
        let lower = name.to_ascii_lowercase();
        let starts_recipient = matches!(lower.as_str(), "final-recipient" | "original-recipient");
        // A new block also starts where an MTA forgot the blank line between recipients: a
        // field the current block already has begins the next one (field order varies: Exim
        // writes Action before Final-Recipient).
        let repeated = current.as_ref().is_some_and(|r| match lower.as_str() {
            "final-recipient" => r.final_recipient.is_some(),
            "original-recipient" => r.original_recipient.is_some(),
            "action" => r.action.is_some(),
            "status" => r.status.is_some(),
            _ => false,
        });
        if repeated {
            status.recipients.extend(current.take());
        }
        let recipient_field = starts_recipient
            || matches!(
                lower.as_str(),
                "action"
                    | "status"
                    | "diagnostic-code"
                    | "remote-mta"
                    | "last-attempt-date"
                    | "will-retry-until"
                    | "final-log-id"
            )
            || (current.is_some() && lower.starts_with("x-"));
        if !recipient_field {
            if lower == "reporting-mta" {
                status.reporting_mta = Some(without_type(&value));
            } else {
                status.message_fields.push((name, value));
            }
            continue;
        }
        let recipient = current.get_or_insert_with(RecipientStatus::default);
        match lower.as_str() {
            "final-recipient" => recipient.final_recipient = Some(clean_address(&value)),
            "original-recipient" => recipient.original_recipient = Some(clean_address(&value)),
            "action" => recipient.action = Some(Action::parse(&value)),
            "status" => {
                recipient.status = value
                    .split_whitespace()
                    .next()
                    .map(|code| code.trim_end_matches([',', ';', ')']).to_string());
            }
            "diagnostic-code" => recipient.diagnostic = Some(without_type(&value)),
            "remote-mta" => recipient.remote_mta = Some(without_type(&value)),
            "last-attempt-date" => recipient.last_attempt = Some(value),
            _ => recipient.extra.push((name, value)),
        }
    }
    if let Some(done) = current.take() {
        status.recipients.push(done);
    }
    status.recipients.retain(|r| {
        r.address().is_some() || r.action.is_some() || r.status.is_some() || r.diagnostic.is_some()
    });
    (!status.recipients.is_empty()).then_some(status)
}

/// Whether free text holds delivery-status fields (a DSN pasted or forwarded as text).
pub fn looks_like_status_fields(text: &str) -> bool {
    let mut recipient = false;
    let mut action_or_status = false;
    for line in text.lines() {
        let lower = line.trim_start().to_ascii_lowercase();
        recipient |=
            lower.starts_with("final-recipient:") || lower.starts_with("original-recipient:");
        action_or_status |= lower.starts_with("action:") || lower.starts_with("status:");
        if recipient && action_or_status {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3464 appendix, shape of the examples: folded Diagnostic-Code, two recipients.
    #[test]
    fn folded_diagnostic_and_two_recipients() {
        let text = "Reporting-MTA: dns; cs.utk.example\nArrival-Date: Sat, 1 Jan 2000 00:00:00 -0500\n\n\
Original-Recipient: rfc822;louisl@larry.slip.example\nFinal-Recipient: rfc822;louisl@larry.slip.example\n\
Action: failed\nStatus: 4.0.0\nDiagnostic-Code: smtp; 426 connection timed out\n  while talking to larry\n\n\
Final-Recipient: rfc822;<moore@cs.utk.example>\nAction: delayed\nStatus: 4.2.2\n";
        let status = parse(text).unwrap();
        assert_eq!(status.reporting_mta.as_deref(), Some("cs.utk.example"));
        assert_eq!(status.recipients.len(), 2);
        let first = &status.recipients[0];
        assert_eq!(first.address(), Some("louisl@larry.slip.example"));
        assert_eq!(first.action, Some(Action::Failed));
        assert_eq!(
            first.diagnostic.as_deref(),
            Some("426 connection timed out while talking to larry")
        );
        assert_eq!(status.recipients[1].address(), Some("moore@cs.utk.example"));
        assert_eq!(status.recipients[1].action, Some(Action::Delayed));
    }

    #[test]
    fn recipients_without_blank_lines_are_still_separate() {
        let text = "Final-Recipient: rfc822; a@x.test\nAction: failed\nStatus: 5.1.1\nFinal-Recipient: rfc822; b@x.test\nAction: failed\nStatus: 5.2.2\n";
        let status = parse(text).unwrap();
        assert_eq!(status.recipients.len(), 2);
        assert_eq!(status.recipients[1].status.as_deref(), Some("5.2.2"));
    }

    #[test]
    fn original_recipient_after_final_recipient_is_the_same_block() {
        let text = "Final-Recipient: rfc822; a@x.test\nOriginal-Recipient: rfc822;a@x.test\nAction: failed\nStatus: 5.2.2\n";
        let status = parse(text).unwrap();
        assert_eq!(status.recipients.len(), 1);
        assert_eq!(
            status.recipients[0].original_recipient.as_deref(),
            Some("a@x.test")
        );
        assert_eq!(status.recipients[0].action, Some(Action::Failed));
    }

    #[test]
    fn no_recipient_is_no_status() {
        assert!(parse("Reporting-MTA: dns; a.test\n").is_none());
        assert!(parse("just some text\n").is_none());
    }
}
