//! The returned original message: where an inline copy begins in a bounce's text, and the
//! From/To/Subject/Message-ID it is shown by. Its text is context, never a symptom.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// Who sent the returned message, to whom, and what it was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OriginalContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

impl OriginalContext {
    pub fn is_empty(&self) -> bool {
        self.from.is_none()
            && self.to.is_none()
            && self.subject.is_none()
            && self.message_id.is_none()
    }

    /// One line for a report: `From a, To b, Subject "c", Message-ID <d>`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(from) = &self.from {
            parts.push(format!("From {from}"));
        }
        if let Some(to) = &self.to {
            parts.push(format!("To {to}"));
        }
        if let Some(subject) = &self.subject {
            parts.push(format!("Subject {subject:?}"));
        }
        if let Some(id) = &self.message_id {
            parts.push(format!("Message-ID {id}"));
        }
        parts.join(", ")
    }

    /// Fills the fields still empty from a header block (`Name: value` lines, folded lines joined).
    pub fn fill_from_headers(&mut self, headers: &str) {
        for field in super::dsn::unfold_fields(headers).into_iter().flatten() {
            let (name, value) = field;
            let slot = match name.to_ascii_lowercase().as_str() {
                "from" => &mut self.from,
                "to" => &mut self.to,
                "subject" => &mut self.subject,
                "message-id" => &mut self.message_id,
                _ => continue,
            };
            if slot.is_none() && !value.is_empty() {
                *slot = Some(shorten(&value));
            }
        }
    }
}

fn shorten(value: &str) -> String {
    match value.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

/// A line that announces the copy of the original message, on a line of its own (dashes and
/// punctuation around it allowed). Sentences like Postfix's "It's attached below." do not count:
/// the reasons come after them.
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^[\s\-=*_\#>]*(
            (the\ )?original\ message(\ (follows|headers?|is\ attached|below|was))?
          | (a\ |this\ is\ a\ )?copy\ of\ (the|your)\ (original\ )?message(,?\ including\ all\ the\ headers)?(\ (follows|is\ attached|below))?
          | below\ this\ line\ is\ a\ copy\ of\ the\ message
          | unsent\ message(\ (below|follows))?
          | (the\ )?(header|headers)\ of\ the\ original\ message(\ (is|are)\ following)?
          | original\ message\ headers
          | returned\ (mail|message)(\ follows)?
          | (start\ of\ )?(the\ )?(returned|undelivered|undeliverable)\ message(\ follows)?
          | message\ headers?\ follows?
          | your\ message\ (reads|follows)(\ \(in\ part\))?
          | the\ text\ you\ sent\ follows
        )[\s\-=*_\#:.]*$",
    )
    .expect("static regex")
});

/// Header fields that open a copied message (not DSN fields, not a forwarding note).
static ORIGINAL_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(Return-Path|Received|DKIM-Signature|ARC-Seal|Message-ID|MIME-Version|Delivered-To|X-Original-To|Authentication-Results):")
        .expect("static regex")
});

/// Splits readable bounce text into (what the bounce says, the inline copy of the original).
pub fn split_inline_original(text: &str) -> (&str, Option<&str>) {
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let bare = line.trim_end();
        if MARKER.is_match(bare) {
            return (&text[..offset], Some(&text[offset + line.len()..]));
        }
        // A header block of the copied message without a marker (qmail-like dialects): a line
        // such as "Received: ..." or "Return-Path: ..." at the start of a line, followed by
        // another header line.
        if ORIGINAL_HEADER.is_match(bare)
            && lines
                .peek()
                .is_some_and(|next| looks_like_header_line(next.trim_end()))
        {
            return (&text[..offset], Some(&text[offset..]));
        }
        offset += line.len();
    }
    (text, None)
}

fn looks_like_header_line(line: &str) -> bool {
    if line.starts_with([' ', '\t']) {
        return true;
    }
    line.split_once(':').is_some_and(|(name, _)| {
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// The header block at the start of an inline copy (after blank lines), up to its first blank line.
pub fn leading_headers(copy: &str) -> &str {
    let start = copy.len() - copy.trim_start_matches(['\n', ' ', '\t']).len();
    let copy = &copy[start..];
    let end = copy.find("\n\n").map_or(copy.len(), |at| at + 1);
    &copy[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_of_common_mtas_cut_the_text() {
        for marker in [
            "------ This is a copy of the message, including all the headers. ------",
            "--- Below this line is a copy of the message.",
            "----- Original message -----",
            "   ----- Unsent message follows -----",
            "-----Original Message-----",
            "Original message headers:",
        ] {
            let text = format!("reason line\n{marker}\nSubject: spam filter x\n");
            let (said, copy) = split_inline_original(&text);
            assert_eq!(said, "reason line\n", "{marker}");
            assert_eq!(copy, Some("Subject: spam filter x\n"), "{marker}");
        }
    }

    #[test]
    fn a_sentence_about_the_attachment_is_not_a_marker() {
        let text = "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. It's attached below.\n\n<u@x.test>: user unknown\n";
        assert_eq!(split_inline_original(text), (text, None));
    }

    #[test]
    fn an_unmarked_header_block_is_the_copy() {
        let text = "<u@x.test>:\nSorry, no mailbox here by that name.\n\nReturn-Path: <a@b.test>\nReceived: from x\nSubject: hi\n";
        let (said, copy) = split_inline_original(text);
        assert!(said.ends_with("by that name.\n\n"));
        let mut context = OriginalContext::default();
        context.fill_from_headers(leading_headers(copy.unwrap()));
        assert_eq!(context.subject.as_deref(), Some("hi"));
    }
}
