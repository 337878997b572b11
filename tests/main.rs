//! The one integration-test binary (ripgrep style): a module per area, sharing helpers in `common`.

mod architecture;
mod audit;
mod check;
mod common;
mod explain;
mod fleet;
mod formats;
mod hostile;
mod playbooks;
mod queue;
mod replay;
mod report_json;
mod safety;
mod serve;
mod triage;
mod triage_inputs;
