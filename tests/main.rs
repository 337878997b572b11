//! The one integration-test binary (ripgrep style): a module per area, sharing helpers in `common`.

mod architecture;
mod audit;
mod bounce_corpus;
mod bounces;
mod check;
mod common;
mod diagnosis;
mod explain;
mod fleet;
mod formats;
mod health;
mod health_everywhere;
mod hostile;
mod ipv6;
mod mta_sts;
mod playbooks;
mod queue;
mod replay;
mod report_json;
mod resolver_trust;
mod safety;
mod serve;
mod triage;
mod triage_inputs;
