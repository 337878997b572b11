//! A playbook problem located in its source text: file:line:col, the message, and the lines around it.

use std::fmt::{self, Write as _};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub snippet: String,
}

impl PlaybookError {
    /// An error at `line`:`column` (1-based) of `source`, with a caret under the column.
    pub fn at(
        file: &str,
        source: &str,
        line: u64,
        column: u64,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
            snippet: snippet(source, line, column),
        }
    }

    /// An error about the file as a whole (it could not be read, ...).
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            line: 1,
            column: 1,
            message: message.into(),
            snippet: String::new(),
        }
    }
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if !self.snippet.is_empty() {
            write!(f, "\n{}", self.snippet)?;
        }
        Ok(())
    }
}

impl std::error::Error for PlaybookError {}

fn snippet(source: &str, line: u64, column: u64) -> String {
    let Ok(index) = usize::try_from(line.saturating_sub(1)) else {
        return String::new();
    };
    let lines: Vec<&str> = source.lines().collect();
    if index >= lines.len() {
        return String::new();
    }
    let first = index.saturating_sub(1);
    let width = (index + 1).to_string().len();
    let mut out = String::new();
    for (number, text) in lines.iter().enumerate().take(index + 1).skip(first) {
        let _ = writeln!(out, "{:>width$} | {text}", number + 1);
    }
    let pad = usize::try_from(column.saturating_sub(1)).unwrap_or(0);
    let _ = write!(out, "{:>width$} | {}^", "", " ".repeat(pad));
    out
}

/// One example that did not behave (`playbooks lint`, in `commands::lint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintFailure {
    pub playbook: String,
    pub origin: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_points_at_the_column() {
        let error = PlaybookError::at("p.yaml", "id: a\ntitle: [\n", 2, 8, "bad");
        assert_eq!(
            error.to_string(),
            "p.yaml:2:8: bad\n1 | id: a\n2 | title: [\n  |        ^"
        );
    }
}
