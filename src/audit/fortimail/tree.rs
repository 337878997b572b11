//! Parses FortiMail configuration text (`show full-configuration`, a backup file) into a tree of
//! `config` tables, `edit` entries and `set` settings, keeping line numbers for evidence.
//!
//! The grammar is the FortiOS-family CLI: `config PATH` opens a table, `edit NAME` an entry in it,
//! `next` closes the entry, `end` the table; `set KEY VALUE...` and `unset KEY` inside either.
//! Values may be double-quoted (with backslash escapes). Anything unbalanced is an error with its
//! line, never a guess: a truncated backup must not be audited as if it were whole.

use super::super::error::AuditError;

/// One `set KEY VALUE...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub values: Vec<String>,
    pub line: usize,
}

/// The settings and nested tables of a table body or of one `edit` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    pub settings: Vec<Setting>,
    pub tables: Vec<Table>,
}

/// `config PATH ... end`: direct settings, and `edit` entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The words after `config`, joined by one space: `policy ip`, `system fortiguard antispam`.
    pub path: String,
    pub line: usize,
    pub body: Block,
    pub entries: Vec<Entry>,
}

/// `edit NAME ... next`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub line: usize,
    pub body: Block,
}

/// A whole configuration: its top-level tables and the comment header lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigTree {
    pub tables: Vec<Table>,
    /// `#...` lines before the first table (the backup header).
    pub header: Vec<String>,
}

impl Block {
    /// The first value of setting `key`, if set.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().rev().find(|s| s.key == key)
    }

    /// The first value of `key` as text (`""` when set without a value).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key)
            .map(|s| s.values.first().map_or("", String::as_str))
    }

    /// The nested table at `path`.
    pub fn table(&self, path: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.path == path)
    }
}

impl ConfigTree {
    /// Every top-level table with this path (a backup may repeat one).
    pub fn tables<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Table> + 'a {
        self.tables.iter().filter(move |t| t.path == path)
    }

    pub fn table(&self, path: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.path == path)
    }
}

/// A quoted value is still open at the end of the text given to [`words`].
struct UnclosedQuote;

/// Splits one statement into words; double quotes group (across lines: certificates and scripts
/// are multi-line quoted values), `\"` and `\\` escape inside them.
fn words(line: &str) -> Result<Vec<String>, UnclosedQuote> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            word.push(escaped);
                        }
                    }
                    c if c == first => {
                        closed = true;
                        break;
                    }
                    c => word.push(c),
                }
            }
            if !closed {
                return Err(UnclosedQuote);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
}

/// What is open while parsing: a table, or an entry inside the table below it.
enum Frame {
    Table(Table),
    Entry(Entry),
}

/// Parses the whole text; errors name the line.
pub fn parse(text: &str) -> Result<ConfigTree, AuditError> {
    let mut tree = ConfigTree::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut seen_table = false;
    // A statement whose quoted value continues on the next lines: (its first line, the text so far).
    let mut open_quote: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let (number, statement) = match open_quote.take() {
            Some((first, mut so_far)) => {
                so_far.push('\n');
                so_far.push_str(raw);
                (first, so_far)
            }
            None => (index + 1, raw.trim().to_string()),
        };
        let line = statement.as_str();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            if !seen_table {
                tree.header.push(line.to_string());
            }
            continue;
        }
        let Ok(words) = words(line) else {
            open_quote = Some((number, statement));
            continue;
        };
        let Some((keyword, rest)) = words.split_first() else {
            continue;
        };
        match keyword.as_str() {
            "config" => {
                if rest.is_empty() {
                    return Err(syntax(number, "`config` without a path"));
                }
                seen_table = true;
                stack.push(Frame::Table(Table {
                    path: rest.join(" "),
                    line: number,
                    body: Block::default(),
                    entries: Vec::new(),
                }));
            }
            "edit" => {
                if !matches!(stack.last(), Some(Frame::Table(_))) {
                    return Err(syntax(number, "`edit` outside a `config` table"));
                }
                let name = rest
                    .first()
                    .ok_or_else(|| syntax(number, "`edit` without a name"))?;
                stack.push(Frame::Entry(Entry {
                    name: name.clone(),
                    line: number,
                    body: Block::default(),
                }));
            }
            "next" => match stack.pop() {
                Some(Frame::Entry(entry)) => match stack.last_mut() {
                    Some(Frame::Table(table)) => table.entries.push(entry),
                    _ => return Err(syntax(number, "`next` without an open table")),
                },
                _ => return Err(syntax(number, "`next` without an open `edit`")),
            },
            "end" => {
                // `end` also closes an entry whose `next` the CLI lets you omit.
                if matches!(stack.last(), Some(Frame::Entry(_))) {
                    if let (Some(Frame::Entry(entry)), Some(Frame::Table(table))) =
                        (stack.pop(), stack.last_mut())
                    {
                        table.entries.push(entry);
                    }
                }
                let Some(Frame::Table(table)) = stack.pop() else {
                    return Err(syntax(number, "`end` without an open `config`"));
                };
                match stack.last_mut() {
                    None => tree.tables.push(table),
                    Some(Frame::Table(parent)) => parent.body.tables.push(table),
                    Some(Frame::Entry(parent)) => parent.body.tables.push(table),
                }
            }
            "set" | "unset" => {
                let key = rest
                    .first()
                    .ok_or_else(|| syntax(number, "`set` without a key"))?
                    .clone();
                let body = match stack.last_mut() {
                    Some(Frame::Table(table)) => &mut table.body,
                    Some(Frame::Entry(entry)) => &mut entry.body,
                    None => return Err(syntax(number, "`set` outside a `config` table")),
                };
                if keyword == "unset" {
                    body.settings.retain(|s| s.key != key);
                } else {
                    body.settings.push(Setting {
                        key,
                        values: rest[1..].to_vec(),
                        line: number,
                    });
                }
            }
            other => {
                return Err(syntax(
                    number,
                    &format!(
                        "{other:?} is not FortiMail configuration syntax (config, edit, set, unset, next, end)"
                    ),
                ));
            }
        }
    }
    if let Some((line, _)) = open_quote {
        return Err(AuditError::Syntax {
            line,
            message: "a quoted value opened here is never closed (the file is cut short)".into(),
        });
    }
    if let Some(open) = stack.iter().find_map(|frame| match frame {
        Frame::Table(table) => Some((table.path.clone(), table.line)),
        Frame::Entry(_) => None,
    }) {
        return Err(AuditError::Truncated {
            what: format!("config {}", open.0),
            line: open.1,
        });
    }
    if tree.tables.is_empty() {
        return Err(AuditError::Unrecognised(
            "no `config ... end` table found".into(),
        ));
    }
    Ok(tree)
}

fn syntax(line: usize, message: &str) -> AuditError {
    AuditError::Syntax {
        line,
        message: message.to_string(),
    }
}

/// The firmware release named in a backup header, e.g. `#config-version=FEVM64-7.4.6-FW-build0876-...`
/// → `7.4`.
pub fn header_release(header: &[String]) -> Option<String> {
    header.iter().find_map(|line| {
        let rest = line.split_once("config-version=")?.1;
        rest.split(['-', ':'])
            .find(|part| {
                part.contains('.') && part.bytes().next().is_some_and(|b| b.is_ascii_digit())
            })
            .and_then(|part| crate::fortimail_version::parse_release(part).ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "#config-version=FEVM64-7.2.3-FW-build0425-221116:opmode=1:vdom=0\n\
config system dns\n    set primary 192.0.2.53\n    set secondary 192.0.2.54\nend\n\
config policy ip\n    edit 1\n        set client 0.0.0.0 0.0.0.0\n        set comment \"say \\\"hi\\\" there\"\n    next\n    edit 2\n        set action reject\n    next\nend\n\
config domain\n    edit \"example.test\"\n        config domain-setting\n            set recipient-verification smtp\n        end\n    next\nend\n";

    #[test]
    fn nested_tables_entries_and_quotes_parse() {
        let tree = parse(SAMPLE).expect("parses");
        assert_eq!(header_release(&tree.header).as_deref(), Some("7.2"));
        assert_eq!(
            tree.table("system dns")
                .and_then(|t| t.body.value("primary")),
            Some("192.0.2.53")
        );
        let policies = tree.table("policy ip").expect("policy ip");
        assert_eq!(policies.entries.len(), 2);
        assert_eq!(
            policies.entries[0]
                .body
                .get("client")
                .map(|s| s.values.clone()),
            Some(vec!["0.0.0.0".to_string(), "0.0.0.0".to_string()])
        );
        assert_eq!(
            policies.entries[0].body.value("comment"),
            Some("say \"hi\" there")
        );
        let domain = &tree.table("domain").expect("domain").entries[0];
        assert_eq!(domain.name, "example.test");
        assert_eq!(
            domain
                .body
                .table("domain-setting")
                .and_then(|t| t.body.value("recipient-verification")),
            Some("smtp")
        );
    }

    #[test]
    fn multi_line_quoted_values_are_one_setting() {
        let text = "config system certificate local\n    edit \"mx\"\n        set certificate \"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\"\n        set comments \"ok\"\n    next\nend\nconfig system dns\n    set primary 192.0.2.53\nend\n";
        let tree = parse(text).expect("parses");
        let entry = &tree
            .table("system certificate local")
            .expect("table")
            .entries[0];
        let certificate = entry.body.value("certificate").expect("certificate");
        assert!(certificate.starts_with("-----BEGIN") && certificate.ends_with("CERTIFICATE-----"));
        assert_eq!(certificate.lines().count(), 3);
        assert_eq!(entry.body.value("comments"), Some("ok"));
        assert_eq!(entry.body.get("comments").map(|s| s.line), Some(6));
        assert_eq!(
            tree.table("system dns")
                .and_then(|t| t.body.value("primary")),
            Some("192.0.2.53")
        );
    }

    #[test]
    fn truncation_and_garbage_are_errors_with_lines() {
        let cut = &SAMPLE[..SAMPLE.find("    edit 2").expect("edit 2")];
        match parse(cut) {
            Err(AuditError::Truncated { what, line }) => {
                assert_eq!(what, "config policy ip");
                assert_eq!(line, 6);
            }
            other => panic!("expected truncation, got {other:?}"),
        }
        assert!(matches!(
            parse("config system dns\n  bogus line\nend\n"),
            Err(AuditError::Syntax { line: 2, .. })
        ));
        assert!(matches!(
            parse("next\n"),
            Err(AuditError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            parse("config a\n set x \"open\nend\n"),
            Err(AuditError::Syntax { line: 2, .. })
        ));
        assert!(matches!(
            parse("# only\n"),
            Err(AuditError::Unrecognised(_))
        ));
    }
}
