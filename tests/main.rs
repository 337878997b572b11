//! The one integration-test binary (ripgrep style): a module per area, sharing helpers in `common`.

mod check;
mod common;
mod explain;
mod playbooks;
mod report_json;
mod triage;
