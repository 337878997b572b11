//! The `mxdoctor` binary: parse arguments, run, map the outcome to an exit code — nothing else.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use mxdoctor::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            let code = match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => 3,
            };
            return ExitCode::from(code);
        }
    };
    match mxdoctor::run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("mxdoctor: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
