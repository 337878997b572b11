//! JUnit XML for CI systems: one testsuite per area, one testcase per evaluated playbook; a finding above
//! info is a failure carrying its evidence and remediation.

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::Report;
use super::facts::{
    PlaybookCase, cases_by_area, confidence_word, evidence_line, is_problem, severity_word,
};
use crate::finding::Finding;
use crate::vocabulary::Status;

/// The suite that reports a run that could not diagnose anything.
const RUN_SUITE: &str = "run";

pub fn render(report: &Report) -> String {
    let mut junit =
        quick_junit::Report::new(format!("mxdoctor {} {}", report.command, report.target));
    for (area, cases) in cases_by_area(report) {
        let mut suite = TestSuite::new(area);
        suite.add_test_cases(cases.iter().map(|case| test_case(area, case)));
        junit.add_test_suite(suite);
    }
    if report.status == Status::Unknown {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message("nothing could be diagnosed")
            .set_description(report.notes.join("\n"));
        let mut case = TestCase::new("diagnosis", status);
        case.set_classname(format!("mxdoctor.{RUN_SUITE}"));
        let mut suite = TestSuite::new(RUN_SUITE);
        suite.add_test_case(case);
        junit.add_test_suite(suite);
    }
    let mut xml = without_root_skipped(
        junit
            .to_string()
            .expect("a JUnit report of strings always serialises"),
    );
    if !xml.ends_with('\n') {
        xml.push('\n');
    }
    xml
}

/// Drops the `skipped` attribute of the root `<testsuites>` element. Jenkins' JUnit schema
/// (junit-10.xsd, which CI readers validate against) allows it on `<testsuite>` but not on the root,
/// where quick-junit always writes it; mxdoctor never skips a testcase, so the count there is always 0.
fn without_root_skipped(xml: String) -> String {
    let Some(start) = xml.find("<testsuites") else {
        return xml;
    };
    // Attribute values are escaped, so the first `>` after the tag name closes the start tag.
    let Some(length) = xml[start..].find('>') else {
        return xml;
    };
    let tag = &xml[start..start + length];
    match tag.find(" skipped=\"0\"") {
        Some(at) => {
            let at = start + at;
            format!("{}{}", &xml[..at], &xml[at + " skipped=\"0\"".len()..])
        }
        None => xml,
    }
}

fn test_case(area: &str, case: &PlaybookCase<'_>) -> TestCase {
    let problems: Vec<&Finding> = case
        .findings
        .iter()
        .copied()
        .filter(|f| is_problem(f))
        .collect();
    let status = match problems.first() {
        None => TestCaseStatus::success(),
        Some(worst) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(format!(
                    "{} ({}): {}",
                    severity_word(worst.severity),
                    confidence_word(worst.confidence),
                    worst.title
                ))
                .set_type(severity_word(worst.severity))
                .set_description(
                    problems
                        .iter()
                        .map(|f| failure_text(f))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            status
        }
    };
    let mut test_case = TestCase::new(case.id, status);
    test_case.set_classname(format!("mxdoctor.{area}"));
    let information: Vec<String> = case
        .findings
        .iter()
        .filter(|f| !is_problem(f))
        .map(|f| failure_text(f))
        .collect();
    if !information.is_empty() {
        test_case.set_system_out(information.join("\n"));
    }
    test_case
}

/// The body of a failure: summary, evidence, and the first platform's remediation.
fn failure_text(finding: &Finding) -> String {
    let mut text = format!("{}\n{}\n", finding.title, finding.summary);
    if !finding.evidence.is_empty() {
        text.push_str("\nEvidence:\n");
        for evidence in &finding.evidence {
            let _ = writeln!(text, "  - {}", evidence_line(evidence));
        }
    }
    if let Some(fix) = finding.remediation.first() {
        let _ = writeln!(text, "\nFix ({}):", fix.platform.as_str());
        for (number, step) in fix.steps.iter().enumerate() {
            let _ = writeln!(text, "  {}. {step}", number + 1);
        }
        for command in &fix.commands {
            let _ = writeln!(text, "  $ {command}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_root_loses_its_skipped_count() {
        let xml = "<?xml version=\"1.0\"?>\n<testsuites name=\"a\" tests=\"1\" skipped=\"0\" failures=\"0\">\n<testsuite name=\"b\" tests=\"1\" skipped=\"0\"/>\n</testsuites>";
        assert_eq!(
            without_root_skipped(xml.to_string()),
            "<?xml version=\"1.0\"?>\n<testsuites name=\"a\" tests=\"1\" failures=\"0\">\n<testsuite name=\"b\" tests=\"1\" skipped=\"0\"/>\n</testsuites>"
        );
        let no_root = "<testsuite name=\"b\" skipped=\"0\"/>";
        assert_eq!(without_root_skipped(no_root.to_string()), no_root);
    }
}
