//! `mxdoctor audit FILE`: read the configuration, audit it, and report through the same ranking,
//! formats and exit codes as every other command.

use std::time::Instant;

use super::{emit, library};
use crate::audit::audit_text;
use crate::audit::error::ConfigFileError;
use crate::audit::report::{diagnose, read_config};
use crate::cli::{AuditArgs, Common};
use crate::error::AppError;

pub fn run(common: &Common, args: &AuditArgs) -> Result<u8, AppError> {
    let started = Instant::now();
    let library = library(common)?;
    let text = read_config(&args.file)?;
    let audited = audit_text(&text, common.platform, common.fortimail_version.as_deref()).map_err(
        |source| ConfigFileError::Audit {
            path: args.file.display().to_string(),
            source,
        },
    )?;
    let report = diagnose(
        &library.playbooks,
        &audited,
        &args.file.display().to_string(),
    );
    emit(report, common, started)
}
