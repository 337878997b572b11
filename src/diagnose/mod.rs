//! The one diagnosis pipeline every command calls: plan which probes a run needs (`plan`), evaluate
//! playbook conditions on observations (`evaluate`, `view`) or match text against symptoms (`text`),
//! rank the findings (`rank`) and decide the run's status, inconclusive included (`status`,
//! `vantage`).
//!
//! [`Diagnoser::diagnose`] is the entry point: commands read their input (sockets, files, stdin),
//! hand it over as an [`Input`], and render the ranked [`Report`] that comes back. Nothing here does
//! I/O or reads the clock or the host name: the same input always gives the same report.

pub mod evaluate;
pub mod plan;
pub mod queue_listing;
pub mod rank;
pub mod status;
pub mod text;
pub mod vantage;
pub mod view;

use std::sync::OnceLock;

use mxdoctor_model::Observation;

pub use evaluate::evaluate;
pub use plan::needed_checks;

use crate::playbook::Playbook;
use crate::queue::QueueScan;
use crate::report::Report;
use crate::vocabulary::Platform;
use text::stream::StreamStats;
use text::{Tally, TextMatcher};

/// What a command hands the pipeline.
#[derive(Debug)]
pub enum Input<'i> {
    /// Observations of a live run or of a replayed bundle. `vantage` names where they were made
    /// from (host and resolvers): the caller knows it, the pipeline never looks it up.
    Probes {
        command: &'i str,
        target: &'i str,
        vantage: String,
        observations: Vec<Observation>,
    },
    /// Replies, bounces or log lines given whole (`explain`, the playbook lint).
    Texts(&'i [String]),
    /// Log lines already streamed through [`Diagnoser::text_matcher`] into `tally` (`triage`).
    Log {
        target: String,
        tally: Tally,
        stats: StreamStats,
    },
    /// A finished queue scan (`queue`); the `top` destinations and reasons are kept as evidence.
    Queue {
        target: &'i str,
        scan: &'i QueueScan,
        top: usize,
    },
}

/// The playbooks of a run and the platform whose remediation comes first.
pub struct Diagnoser<'p> {
    playbooks: &'p [Playbook],
    platform: Platform,
    /// Built on first need: live and queue runs never match text.
    matcher: OnceLock<TextMatcher<'p>>,
}

impl<'p> Diagnoser<'p> {
    pub fn new(playbooks: &'p [Playbook], platform: Platform) -> Self {
        Self {
            playbooks,
            platform,
            matcher: OnceLock::new(),
        }
    }

    /// The text matcher over these playbooks, for callers that stream lines into a [`Tally`].
    pub fn text_matcher(&self) -> &TextMatcher<'p> {
        self.matcher
            .get_or_init(|| TextMatcher::new(self.playbooks))
    }

    /// Diagnoses `input`: findings ranked (1 = most important), status set, notes explaining it.
    pub fn diagnose(&self, input: Input<'_>) -> Report {
        let mut report = match input {
            Input::Probes {
                command,
                target,
                vantage,
                observations,
            } => status::probes_report(
                self.playbooks,
                command,
                target,
                vantage,
                observations,
                self.platform,
            ),
            Input::Texts(items) => text::texts_report(self.text_matcher(), items, self.platform),
            Input::Log {
                target,
                tally,
                stats,
            } => text::log_report(self.playbooks, target, tally, stats, self.platform),
            Input::Queue { target, scan, top } => {
                queue_listing::queue_report(self.playbooks, scan, target, top, self.platform)
            }
        };
        rank::rank(&mut report.findings);
        report
    }
}
