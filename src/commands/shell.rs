//! `mxdoctor completions SHELL` and `mxdoctor man`: shell integration generated from the clap definitions.

use clap::CommandFactory;

use super::print_stdout;
use crate::cli::Cli;
use crate::error::AppError;

pub fn completions(shell: clap_complete::Shell) -> Result<u8, AppError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mxdoctor", &mut script);
    print_stdout(&String::from_utf8_lossy(&script))?;
    Ok(0)
}

pub fn man() -> Result<u8, AppError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|source| AppError::Io {
            path: "manual page".into(),
            source,
        })?;
    print_stdout(&String::from_utf8_lossy(&page))?;
    Ok(0)
}
