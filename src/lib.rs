//! mxdoctor: diagnoses mail gateways and MTAs from playbooks, live probes, logs and queue listings.
//!
//! The binary is a thin shell over [`run`]; everything here but `commands` is pure logic.

pub mod audit;
pub mod bounce;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod diagnose;
pub mod error;
pub mod finding;
pub mod fortimail_version;
pub mod input;
pub mod lines;
pub mod nesting;
pub mod playbook;
pub mod profile;
pub mod progress_ui;
pub mod queue;
pub mod report;
pub mod vocabulary;

use cli::{Cli, Command};
use error::AppError;

/// Runs one command line; the result is the process exit code.
pub fn run(cli: &Cli) -> Result<u8, AppError> {
    match &cli.command {
        Command::Explain { text, message } => commands::explain::run(&cli.common, text, message),
        Command::Triage(args) => commands::triage::run(&cli.common, args),
        Command::Playbooks { action } => commands::playbooks::run(&cli.common, action),
        Command::Check(args) => match &args.targets {
            Some(file) => commands::fleet::run(&cli.common, args, file),
            None => commands::check::run(&cli.common, args),
        },
        Command::Demo => commands::demo::run(&cli.common),
        Command::Queue(args) => commands::queue::run(&cli.common, args),
        Command::Audit(args) => commands::audit::run(&cli.common, args),
        Command::Replay { file } => commands::replay::run(&cli.common, file),
        Command::Serve(args) => commands::serve::run(&cli.common, args),
        Command::Completions { shell } => commands::shell::completions(*shell),
        Command::Man => commands::shell::man(),
    }
}
