//! One message's bytes → its structure: headers that tell what it is, the readable text the
//! bounce says (returned original cut off), the RFC 3464 delivery status, the original's context.

use std::sync::LazyLock;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use regex::Regex;

use super::dsn::{self, DeliveryStatus};
use super::input::{normalise_line_ends, normalise_text};
use super::original::{OriginalContext, leading_headers, split_inline_original};

/// Readable text kept per message: bounce reasons are short; more is an attached document.
const MAX_TEXT_BYTES: usize = 256 * 1024;

/// A message as far as diagnosing it needs.
#[derive(Debug, Clone, Default)]
pub struct ParsedMessage {
    pub subject: Option<String>,
    /// The From address (or display name when there is no address).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Header fields that tell dialects and message kinds apart, names lowercased.
    pub headers: Vec<(String, String)>,
    /// `report-type` of a top-level or nested multipart/report.
    pub report_type: Option<String>,
    pub delivery_status: Option<DeliveryStatus>,
    /// The `Feedback-Type` of an RFC 5965 report.
    pub feedback_type: Option<String>,
    /// What the bounce itself says, returned original removed, line ends normalised.
    pub text: String,
    pub original: OriginalContext,
    /// A copy of the original was attached or quoted (its text was left out).
    pub has_original: bool,
    /// The message had no header block: plain pasted text.
    pub headerless: bool,
    /// The first attached message, raw: a bounce forwarded as an attachment is read from here
    /// when the outer message is not a delivery report itself.
    pub attached: Option<Vec<u8>>,
}

impl ParsedMessage {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Headers worth keeping (lowercase): the rest of a bounce's header is routing noise.
const KEPT_HEADERS: &[&str] = &[
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "in-reply-to",
    "x-ms-exchange-inbox-rules-loop",
    "x-auto-response-suppress",
    "precedence",
    "x-failed-recipients",
    "x-mailer",
    "message-id",
    "x-ms-exchange-message-is-ndr",
    "x-ms-exchange-organization-scl",
    "x-ses-outgoing",
    "feedback-id",
    "x-postfix-queue-id",
    "list-id",
    "x-mailman-version",
    "x-loop",
    "x-sympa-to",
    "x-listserver",
    "x-google-group-id",
    "x-mdaemon-deliver-to",
    "x-imail-thread",
    "content-type",
    "received",
];

/// Parses `bytes` (any line ends). Never fails: a message without headers is read as plain text.
pub fn parse_message(bytes: &[u8]) -> ParsedMessage {
    let bytes = normalise_line_ends(bytes);
    let mut parsed = ParsedMessage::default();
    let message = if super::looks_like_message(&bytes) && has_header_block(&bytes) {
        MessageParser::default().parse(&bytes[..])
    } else {
        None
    };
    let Some(message) = message else {
        parsed.headerless = true;
        parsed.text = capped(&String::from_utf8_lossy(&bytes)).to_string();
        finish_text(&mut parsed);
        return parsed;
    };
    read_headers(&message, &mut parsed);
    let mut texts = Vec::new();
    let mut html = Vec::new();
    walk(&message, 0, &mut parsed, &mut texts, &mut html, 0);
    let body = if texts.is_empty() {
        html.iter().map(|h| html_to_text(h)).collect::<Vec<_>>()
    } else {
        texts
    };
    parsed.text = capped(&normalise_text(&body.join("\n"))).to_string();
    finish_text(&mut parsed);
    parsed
}

/// Cuts the inline original off the readable text, and finds delivery-status fields written as
/// text (a DSN pasted or forwarded inline) when there was no delivery-status part.
fn finish_text(parsed: &mut ParsedMessage) {
    let (said, copy) = split_inline_original(&parsed.text);
    if let Some(copy) = copy {
        parsed.has_original = true;
        parsed.original.fill_from_headers(leading_headers(copy));
        parsed.text = said.to_string();
    }
    if parsed.delivery_status.is_none() && dsn::looks_like_status_fields(&parsed.text) {
        parsed.delivery_status = dsn::parse(&parsed.text);
    }
}

fn capped(text: &str) -> &str {
    if text.len() <= MAX_TEXT_BYTES {
        return text;
    }
    let mut cut = MAX_TEXT_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// Whether the bytes open with an RFC 5322 header block (at least one `Name: value` line first).
fn has_header_block(bytes: &[u8]) -> bool {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let Some(colon) = first.iter().position(|b| *b == b':') else {
        return false;
    };
    colon > 0
        && first[..colon]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

fn read_headers(message: &Message<'_>, parsed: &mut ParsedMessage) {
    parsed.subject = message.subject().map(str::to_string);
    parsed.from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address().or(a.name()))
        .map(str::to_string);
    parsed.to = message
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_string);
    for (name, value) in message.headers_raw() {
        let lower = name.to_ascii_lowercase();
        if KEPT_HEADERS.contains(&lower.as_str()) {
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            parsed.headers.push((lower, value));
        }
    }
}

/// Visits the parts of `message` from `part_id`: collects readable text, the delivery status,
/// feedback reports and the returned original's context. Nested messages are never read as text.
fn walk(
    message: &Message<'_>,
    part_id: usize,
    parsed: &mut ParsedMessage,
    texts: &mut Vec<String>,
    html: &mut Vec<String>,
    depth: usize,
) {
    let Some(part) = message.parts.get(part_id) else {
        return;
    };
    let (ctype, subtype) = part.content_type().map_or_else(
        || ("text".to_string(), "plain".to_string()),
        |ct| {
            (
                ct.ctype().to_ascii_lowercase(),
                ct.subtype().unwrap_or_default().to_ascii_lowercase(),
            )
        },
    );
    if ctype == "multipart" && subtype == "report" && parsed.report_type.is_none() {
        parsed.report_type = part
            .content_type()
            .and_then(|ct| ct.attribute("report-type"))
            .map(str::to_ascii_lowercase);
    }
    match &part.body {
        PartType::Multipart(children) => {
            if depth < 16 {
                for child in children {
                    walk(message, *child as usize, parsed, texts, html, depth + 1);
                }
            }
        }
        PartType::Message(nested) => {
            parsed.has_original = true;
            fill_context(&mut parsed.original, nested);
            if parsed.attached.is_none() {
                parsed.attached = Some(nested.raw_message().to_vec());
            }
        }
        body => {
            let contents: std::borrow::Cow<'_, str> = match body {
                PartType::Text(text) | PartType::Html(text) => std::borrow::Cow::Borrowed(text),
                PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                    String::from_utf8_lossy(bytes)
                }
                _ => std::borrow::Cow::Borrowed(""),
            };
            match (ctype.as_str(), subtype.as_str()) {
                ("message", "delivery-status" | "global-delivery-status")
                    if parsed.delivery_status.is_none() =>
                {
                    parsed.delivery_status = dsn::parse(&normalise_text(&contents));
                }
                ("message", "feedback-report") => {
                    let fields = dsn::unfold_fields(&normalise_text(&contents));
                    parsed.feedback_type = fields
                        .into_iter()
                        .flatten()
                        .find(|(name, _)| name.eq_ignore_ascii_case("feedback-type"))
                        .map(|(_, value)| value)
                        .or_else(|| Some(String::new()));
                }
                ("text" | "message", "rfc822-headers") => {
                    parsed.has_original = true;
                    parsed
                        .original
                        .fill_from_headers(&normalise_text(&contents));
                }
                ("message", "rfc822" | "global") => {
                    // A nested message the parser kept as bytes: read only its header block.
                    parsed.has_original = true;
                    parsed
                        .original
                        .fill_from_headers(leading_headers(&normalise_text(&contents)));
                }
                ("text", "html") if is_inline(part) => html.push(contents.into_owned()),
                ("text", "plain" | "") if is_inline(part) && contents.len() <= MAX_TEXT_BYTES => {
                    texts.push(contents.into_owned());
                }
                _ => {}
            }
        }
    }
}

/// Text parts marked as attachments (a forwarded document) are not the bounce's words.
fn is_inline(part: &mail_parser::MessagePart<'_>) -> bool {
    part.content_disposition().is_none_or(|d| {
        !d.ctype().eq_ignore_ascii_case("attachment") || part.attachment_name().is_none()
    })
}

fn fill_context(context: &mut OriginalContext, nested: &Message<'_>) {
    let address = |a: Option<&mail_parser::Address<'_>>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address().or(a.name()))
            .map(str::to_string)
    };
    if context.from.is_none() {
        context.from = address(nested.from());
    }
    if context.to.is_none() {
        context.to = address(nested.to());
    }
    if context.subject.is_none() {
        context.subject = nested.subject().map(str::to_string);
    }
    if context.message_id.is_none() {
        context.message_id = nested.message_id().map(|id| format!("<{id}>"));
    }
}

static SCRIPT_OR_STYLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<(script|style|head)\b.*?</(script|style|head)\s*>").expect("static regex")
});
static BLOCK_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<\s*(br|/p|p|/div|div|/tr|tr|/li|li|/h[1-6]|/table|hr|/td)\b[^>]*>")
        .expect("static regex")
});
static ANY_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<[^>]*>").expect("static regex"));

/// Plain text of an HTML part: blocks become lines, tags go, common entities are decoded.
pub fn html_to_text(html: &str) -> String {
    let html = SCRIPT_OR_STYLE.replace_all(html, " ");
    let html = html.replace(['\n', '\r'], " ");
    let html = BLOCK_TAG.replace_all(&html, "\n");
    let text = ANY_TAG.replace_all(&html, " ");
    let text = text
        .replace("&nbsp;", " ")
        .replace("&#160;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)\r\n\
To: sender@example.org\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.example.test.\r\n\r\n<u@example.test>: user unknown\r\n\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\n\r\n\
Final-Recipient: rfc822; u@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n <u@example.test>: User unknown\r\n\r\n\
--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: sender@example.org\r\nTo: u@example.test\r\nSubject: spam filter test\r\nMessage-ID: <1@example.org>\r\n\r\nVirus found, mailbox full.\r\n\r\n--B--\r\n";

    #[test]
    fn multipart_report_gives_text_status_and_context() {
        let parsed = parse_message(REPORT.as_bytes());
        assert_eq!(parsed.report_type.as_deref(), Some("delivery-status"));
        assert!(parsed.text.contains("<u@example.test>: user unknown"));
        assert!(!parsed.text.contains("Virus"), "the original is not text");
        let status = parsed.delivery_status.as_ref().unwrap();
        assert_eq!(
            status.recipients[0].diagnostic.as_deref(),
            Some("550 5.1.1 <u@example.test>: User unknown")
        );
        assert_eq!(parsed.original.subject.as_deref(), Some("spam filter test"));
        assert_eq!(
            parsed.original.message_id.as_deref(),
            Some("<1@example.org>")
        );
        assert_eq!(parsed.header("auto-submitted"), Some("auto-replied"));
    }

    #[test]
    fn line_ends_do_not_change_the_structure() {
        let crlf = parse_message(REPORT.as_bytes());
        let lf = parse_message(REPORT.replace("\r\n", "\n").as_bytes());
        let cr = parse_message(REPORT.replace("\r\n", "\r").as_bytes());
        for other in [&lf, &cr] {
            assert_eq!(other.text, crlf.text);
            assert_eq!(other.delivery_status, crlf.delivery_status);
            assert_eq!(other.original, crlf.original);
        }
    }

    #[test]
    fn pasted_text_without_headers_is_text() {
        let parsed = parse_message(b"550 5.1.1 user unknown\n");
        assert!(parsed.headerless);
        assert_eq!(parsed.text, "550 5.1.1 user unknown\n");
    }

    #[test]
    fn html_becomes_lines() {
        assert_eq!(
            html_to_text(
                "<p>Delivery has failed</p><p>Remote Server returned '550 5.1.1'&nbsp;x</p>"
            ),
            "\nDelivery has failed\n\nRemote Server returned '550 5.1.1' x\n"
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
