//! `explain`: classifies SMTP replies, bounce text and log lines given on the command line or stdin.

use mxdoctor_model::Reply;

use super::matcher::TextMatcher;
use super::tally::Tally;
use super::timestamp::leading_timestamp;
use crate::finding::Finding;
use crate::vocabulary::Platform;

/// Splits free text into items: a multi-line reply (`250-...` up to `250 ...`) is one item, any other line is one.
pub fn split_items(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut pending: Vec<&str> = Vec::new();
    for line in text
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
    {
        let continuation = is_continuation(line);
        if !pending.is_empty() {
            pending.push(line);
            if !continuation {
                items.push(pending.join("\n"));
                pending.clear();
            }
            continue;
        }
        if continuation {
            pending.push(line);
        } else {
            items.push(line.to_string());
        }
    }
    items.extend(pending.into_iter().map(str::to_string));
    items
}

fn is_continuation(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.len() >= 4 && bytes[..3].iter().all(u8::is_ascii_digit) && bytes[3] == b'-'
}

/// Diagnoses each item; an item that is a whole SMTP reply is matched as one, others line by line.
pub fn explain(matcher: &TextMatcher<'_>, items: &[String], platform: Platform) -> Vec<Finding> {
    let mut tally = Tally::default();
    for (number, item) in items.iter().enumerate() {
        let subject = || format!("input {}", number + 1);
        if let Ok(reply) = Reply::parse(item) {
            let shown = reply.to_string();
            let hits = matcher.match_line(&shown, Some(&reply));
            tally.record(&hits, subject, &shown, None);
            continue;
        }
        for line in item.lines().filter(|line| !line.trim().is_empty()) {
            let hits = matcher.match_line(line, None);
            tally.record(&hits, subject, line, leading_timestamp(line));
        }
    }
    tally.into_findings(matcher.playbooks(), platform)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_reply_is_one_item() {
        let items = split_items("250-mx.test\n250-PIPELINING\n250 SIZE\nplain line\n");
        assert_eq!(
            items,
            vec!["250-mx.test\n250-PIPELINING\n250 SIZE", "plain line"]
        );
    }
}
