//! Guesses the MTA family from what it says about itself, so remediation can be shown for that platform.

use mxdoctor_model::reply::Reply;

/// EHLO keywords only Microsoft Exchange announces.
const EXCHANGE_KEYWORDS: &[&str] = &["X-EXPS", "XEXCH50", "X-ANONYMOUSTLS", "X-LINK2STATE"];

/// `postfix`, `exim`, `sendmail`, `exchange`, `fortimail`, `qmail` or `unknown`.
pub fn guess(banner: Option<&Reply>, ehlo: Option<&Reply>) -> &'static str {
    let ehlo_keywords = ehlo.map(extensions).unwrap_or_default();
    if ehlo_keywords
        .iter()
        .any(|keyword| EXCHANGE_KEYWORDS.contains(&keyword.as_str()))
    {
        return "exchange";
    }
    let said = [banner, ehlo]
        .into_iter()
        .flatten()
        .map(|reply| reply.text.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    let families = [
        ("microsoft", "exchange"),
        ("fortimail", "fortimail"),
        ("fortinet", "fortimail"),
        ("postfix", "postfix"),
        ("exim", "exim"),
        ("sendmail", "sendmail"),
        ("qmail", "qmail"),
    ];
    families
        .iter()
        .find(|(marker, _)| said.contains(marker))
        .map_or("unknown", |(_, family)| family)
}

/// The EHLO keywords (upper-cased, without parameters); the first line is the server's greeting.
pub fn extensions(ehlo: &Reply) -> Vec<String> {
    ehlo.lines
        .iter()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_ascii_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str) -> Reply {
        Reply::parse(text).unwrap()
    }

    #[test]
    fn families_from_banner_and_ehlo() {
        let postfix = reply("220 mx.example.test ESMTP Postfix (Debian/GNU)");
        assert_eq!(guess(Some(&postfix), None), "postfix");
        let exchange_banner =
            reply("220 mail.example.test Microsoft ESMTP MAIL Service ready at Mon");
        assert_eq!(guess(Some(&exchange_banner), None), "exchange");
        let anonymous = reply("220 mail.example.test ESMTP");
        let exchange_ehlo =
            reply("250-mail.example.test Hello\r\n250-X-ANONYMOUSTLS\r\n250 XEXCH50");
        assert_eq!(guess(Some(&anonymous), Some(&exchange_ehlo)), "exchange");
        assert_eq!(guess(Some(&anonymous), None), "unknown");
        let exim = reply("220 mx.example.test ESMTP Exim 4.96 Mon, 01 Jan 2024");
        assert_eq!(guess(Some(&exim), None), "exim");
        assert_eq!(guess(None, None), "unknown");
    }

    #[test]
    fn extensions_skip_the_greeting_and_parameters() {
        let ehlo =
            reply("250-mx.example.test\r\n250-SIZE 10240000\r\n250-starttls\r\n250 8BITMIME");
        assert_eq!(extensions(&ehlo), vec!["SIZE", "STARTTLS", "8BITMIME"]);
    }
}
