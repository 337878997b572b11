//! `--report FORMAT=PATH`: extra report files written from the same run as stdout.

use std::path::PathBuf;

use clap::ValueEnum;

use super::Format;

/// One `--report FORMAT=PATH` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    pub format: Format,
    pub path: PathBuf,
}

/// Why a `--report` value is not `FORMAT=PATH` (clap shows it as a usage error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportFileError {
    #[error("expected FORMAT=PATH (e.g. junit=report.xml), got {0:?}")]
    NoEquals(String),
    #[error("unknown format {format:?}; one of {known}")]
    UnknownFormat { format: String, known: String },
    #[error("no PATH after {0}=")]
    NoPath(&'static str),
}

/// Parses `FORMAT=PATH` (clap value parser).
pub fn parse_report_file(text: &str) -> Result<ReportFile, ReportFileError> {
    let (format, path) = text
        .split_once('=')
        .ok_or_else(|| ReportFileError::NoEquals(text.to_string()))?;
    let format = Format::from_str(format, true).map_err(|_| {
        let names: Vec<&str> = Format::value_variants()
            .iter()
            .map(|f| f.as_str())
            .collect();
        ReportFileError::UnknownFormat {
            format: format.to_string(),
            known: names.join(", "),
        }
    })?;
    if path.is_empty() {
        return Err(ReportFileError::NoPath(format.as_str()));
    }
    Ok(ReportFile {
        format,
        path: PathBuf::from(path),
    })
}

/// The command line as a shell would take it back: arguments quoted only where they need it.
pub fn shell_words(args: impl IntoIterator<Item = String>) -> String {
    args.into_iter()
        .map(|arg| shell_quote(&arg))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '-' | '.' | '/' | ':' | '=' | '@' | '%' | '+' | ',')
        });
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_files_parse_and_bad_ones_say_why() {
        let file = parse_report_file("junit=out/r.xml").unwrap();
        assert_eq!(
            (file.format, file.path),
            (Format::Junit, PathBuf::from("out/r.xml"))
        );
        assert!(
            parse_report_file("yaml=x")
                .unwrap_err()
                .to_string()
                .contains("prometheus")
        );
        assert!(parse_report_file("junit").is_err());
        assert!(parse_report_file("json=").is_err());
    }

    #[test]
    fn only_arguments_that_need_it_are_quoted() {
        let words = shell_words(
            ["mxdoctor", "explain", "554 it's", "--dns=127.0.0.1:53"].map(String::from),
        );
        assert_eq!(words, r"mxdoctor explain '554 it'\''s' --dns=127.0.0.1:53");
    }
}
