//! Delay-reason normalisation: folds the parts that differ per message (IPs, addresses, ids, numbers)
//! out of a deferral text, so a million deferrals to one dead host count as one reason.
//!
//! One pass over the bytes, no regexes: the queue command normalises a reason per recipient, so this
//! runs up to millions of times. Kept as-is: host names (they name the destination), SMTP reply codes
//! (`450`, `5.1.1`) and all other words.

/// Normalised reasons longer than this are cut (on a character boundary) and end in `…`.
pub const MAX_REASON_CHARS: usize = 240;

/// The stable form of a delay reason.
///
/// `connect to 192.0.2.1[192.0.2.1]:25: Connection refused` → `connect to <ip>[<ip>]:<n>: Connection refused`.
pub fn normalise_reason(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_REASON_CHARS + 4));
    normalise_reason_into(raw, &mut out);
    out
}

/// [`normalise_reason`] into `out` (cleared first), so a caller normalising one reason per message
/// can reuse one buffer instead of allocating a `String` each time.
pub fn normalise_reason_into(raw: &str, out: &mut String) {
    out.clear();
    let text = raw.trim();
    let bytes = text.as_bytes();
    let mut index = 0;
    let mut pending_space = false;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte.is_ascii_whitespace() {
            pending_space = true;
            index += 1;
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if byte == b'['
            && let Some(end) = bracketed_ipv6_end(bytes, index)
        {
            out.push_str("[<ip>]");
            index = end;
            continue;
        }
        if byte == b'<'
            && let Some(end) = angle_address_end(bytes, index)
        {
            out.push_str("<addr>");
            index = end;
            continue;
        }
        if is_atom_byte(byte) {
            let start = index;
            while index < bytes.len() && is_atom_byte(bytes[index]) {
                index += 1;
            }
            let after_space = start == 0 || bytes[start - 1].is_ascii_whitespace();
            let before_gap = index == bytes.len() || bytes[index].is_ascii_whitespace();
            push_atom(out, &text[start..index], after_space, before_gap);
            continue;
        }
        if byte.is_ascii() {
            out.push(char::from(byte));
            index += 1;
            continue;
        }
        let character = text[index..]
            .chars()
            .next()
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        out.push(character);
        index += character.len_utf8().max(1);
    }
    cut(out);
}

/// Letters, digits and the punctuation that glues host names, addresses and ids together.
fn is_atom_byte(byte: u8) -> bool {
    ATOM_BYTES[usize::from(byte)]
}

/// [`is_atom_byte`] as a table: the normaliser asks it for every byte of every reason.
const ATOM_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut index = 0;
    while index < table.len() {
        let byte = index as u8;
        table[index] = byte.is_ascii_alphanumeric()
            || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'@' | b'-' | b'=');
        index += 1;
    }
    table
};

/// Appends `atom` (a run of [`is_atom_byte`]) in normalised form.
fn push_atom(out: &mut String, atom: &str, after_space: bool, before_gap: bool) {
    // A sentence-ending dot is not part of the address or number before it.
    let core = atom.trim_end_matches('.');
    let trailing_dots = &atom[core.len()..];
    // `550-5.1.1`: a multi-line reply code glued to the enhanced code.
    if after_space && core.len() > 4 && core.as_bytes()[3] == b'-' && is_reply_code(&core[..3]) {
        out.push_str(&core[..3]);
        out.push('-');
        push_atom(
            out,
            &core[4..],
            false,
            before_gap && trailing_dots.is_empty(),
        );
        out.push_str(trailing_dots);
        return;
    }
    out.push_str(classify(
        core,
        after_space,
        before_gap || !trailing_dots.is_empty(),
    ));
    out.push_str(trailing_dots);
}

/// What an atom becomes: a placeholder, or itself.
fn classify(atom: &str, after_space: bool, before_gap: bool) -> &str {
    if atom.is_empty() {
        return atom;
    }
    // Plain words (no digit, no `@`) are none of the placeholders below: one scan instead of several.
    if !atom.bytes().any(|b| b.is_ascii_digit() || b == b'@') {
        return atom;
    }
    if is_address(atom) {
        return "<addr>";
    }
    if is_ipv4(atom) {
        return "<ip>";
    }
    if is_enhanced_status(atom) {
        return atom;
    }
    if atom.bytes().all(|b| b.is_ascii_digit()) {
        let standalone_code = after_space && before_gap && is_reply_code(atom);
        return if standalone_code { atom } else { "<n>" };
    }
    if atom.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return "<n>";
    }
    if looks_like_id(atom) {
        return "<id>";
    }
    atom
}

fn is_address(atom: &str) -> bool {
    let bytes = atom.as_bytes();
    bytes
        .iter()
        .position(|&b| b == b'@')
        .is_some_and(|at| at > 0 && at + 1 < bytes.len())
}

fn is_reply_code(atom: &str) -> bool {
    let bytes = atom.as_bytes();
    bytes.len() == 3
        && matches!(bytes[0], b'2' | b'4' | b'5')
        && bytes.iter().all(u8::is_ascii_digit)
}

/// `4.7.1`, `5.1.1`: RFC 3463 status codes keep their meaning, so they are kept.
fn is_enhanced_status(atom: &str) -> bool {
    let bytes = atom.as_bytes();
    bytes.len() >= 5
        && matches!(bytes[0], b'2' | b'4' | b'5')
        && bytes[1] == b'.'
        && short_number_parts(atom) == Some(3)
}

fn is_ipv4(atom: &str) -> bool {
    short_number_parts(atom) == Some(4)
}

/// How many dot-separated parts `atom` has when each is 1 to 3 digits; `None` otherwise.
fn short_number_parts(atom: &str) -> Option<usize> {
    let mut parts = 1;
    let mut digits = 0;
    for &byte in atom.as_bytes() {
        match byte {
            b'.' if digits > 0 => {
                parts += 1;
                digits = 0;
            }
            b'0'..=b'9' if digits < 3 => digits += 1,
            _ => return None,
        }
    }
    (digits > 0).then_some(parts)
}

/// Queue ids and hex tokens: `3F2A81C0E5` (Postfix short ids), `4WjZ3X1BQ2z9vD` (long ids), `a1b2c3d4e5`.
fn looks_like_id(atom: &str) -> bool {
    if atom.len() < 6 || !atom.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let has_digit = atom.bytes().any(|b| b.is_ascii_digit());
    let has_upper = atom.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = atom.bytes().any(|b| b.is_ascii_lowercase());
    let all_hex = atom.bytes().all(|b| b.is_ascii_hexdigit());
    has_digit
        && ((all_hex && !(has_upper && has_lower)) || (atom.len() >= 10 && has_upper && has_lower))
}

/// `<bob@example.net>`: the index just past `>`, when the brackets hold an address.
fn angle_address_end(bytes: &[u8], open: usize) -> Option<usize> {
    const MAX_INSIDE: usize = 320;
    let close = bytes[open + 1..]
        .iter()
        .take(MAX_INSIDE)
        .position(|&b| b == b'>' || b.is_ascii_whitespace())?
        + open
        + 1;
    let inside = &bytes[open + 1..close];
    let valid = bytes[close] == b'>' && inside.contains(&b'@');
    valid.then_some(close + 1)
}

/// `[2001:db8::1]` or `[IPv6:2001:db8::1]`: the index just past `]`, when the brackets hold an IPv6 address.
fn bracketed_ipv6_end(bytes: &[u8], open: usize) -> Option<usize> {
    const MAX_INSIDE: usize = 64;
    let close = bytes[open + 1..]
        .iter()
        .take(MAX_INSIDE)
        .position(|&b| b == b']')?
        + open
        + 1;
    let mut inside = &bytes[open + 1..close];
    if inside.len() > 5 && inside[..5].eq_ignore_ascii_case(b"ipv6:") {
        inside = &inside[5..];
    }
    let mut colons = inside.iter().filter(|&&b| b == b':');
    let valid = colons.nth(1).is_some()
        && inside
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    valid.then_some(close + 1)
}

/// Cuts `text` after [`MAX_REASON_CHARS`] characters and appends `…`, when it is longer.
fn cut(text: &mut String) {
    // A text of at most that many bytes has at most that many characters: nothing to count.
    if text.len() <= MAX_REASON_CHARS {
        return;
    }
    if let Some((at, _)) = text.char_indices().nth(MAX_REASON_CHARS) {
        text.truncate(at);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_reason;

    #[test]
    fn folds_ips_and_ports_out_of_a_connect_failure() {
        assert_eq!(
            normalise_reason("connect to 192.0.2.1[192.0.2.1]:25: Connection refused"),
            "connect to <ip>[<ip>]:<n>: Connection refused"
        );
        assert_eq!(
            normalise_reason(
                "delivery temporarily suspended: connect to mx.dead.test[192.0.2.7]:25: Connection timed out"
            ),
            "delivery temporarily suspended: connect to mx.dead.test[<ip>]:<n>: Connection timed out"
        );
    }

    #[test]
    fn keeps_reply_codes_and_folds_addresses() {
        assert_eq!(
            normalise_reason(
                "host mx1.example.net[198.51.100.4] said: 450 4.2.0 <bob@example.net>: Recipient address rejected: Greylisted (in reply to RCPT TO command)"
            ),
            "host mx1.example.net[<ip>] said: 450 4.2.0 <addr>: Recipient address rejected: Greylisted (in reply to RCPT TO command)"
        );
        assert_eq!(
            normalise_reason(
                "said: 452-4.2.2 The email account that you tried to reach is over quota"
            ),
            "said: 452-4.2.2 The email account that you tried to reach is over quota"
        );
    }

    #[test]
    fn folds_ipv6_queue_ids_and_numbers() {
        assert_eq!(
            normalise_reason("connect to mx.example[2001:db8::25]:25: Network is unreachable"),
            "connect to mx.example[<ip>]:<n>: Network is unreachable"
        );
        assert_eq!(
            normalise_reason(
                "conversation with x[10.0.0.1] timed out while sending message body, queued as 3F2A81C0E5"
            ),
            "conversation with x[<ip>] timed out while sending message body, queued as <id>"
        );
        assert_eq!(
            normalise_reason("id 4WjZ3X1BQ2z9vD deferred"),
            "id <id> deferred"
        );
        assert_eq!(
            normalise_reason("too many connections (421 after 30 s)"),
            "too many connections (<n> after <n> s)"
        );
        assert_eq!(
            normalise_reason("retry in 1.5 minutes."),
            "retry in <n> minutes."
        );
        assert_eq!(
            normalise_reason("from 10.0.0.25, v1.2.3.4.5 1234.1.1.1"),
            "from <ip>, v1.2.3.4.5 <n>"
        );
    }

    #[test]
    fn keeps_words_and_collapses_whitespace() {
        assert_eq!(
            normalise_reason("  Host   or domain name not found.  "),
            "Host or domain name not found."
        );
        assert_eq!(normalise_reason("mx1 smtp2go ABCDEF"), "mx1 smtp2go ABCDEF");
        assert_eq!(
            normalise_reason("lost connection — réessayer"),
            "lost connection — réessayer"
        );
    }

    #[test]
    fn cuts_very_long_reasons() {
        let long = "word ".repeat(200);
        let normalised = normalise_reason(&long);
        assert!(normalised.ends_with('…'));
        assert_eq!(normalised.chars().count(), super::MAX_REASON_CHARS + 1);
    }
}
