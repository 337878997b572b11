//! `playbooks lint` rules for remediation: every command marked read-only or change, a change
//! preceded by a command that shows the current value, and FortiMail commands and GUI paths tagged
//! with the firmware releases they were checked against.

use super::schema::{CommandMode, PlatformSteps, RemediationSource};
use crate::vocabulary::FORTIMAIL_RELEASES as RELEASES;

/// Whether a step names a GUI path such as `Monitor > Mail Queue > Dead Mail`.
fn names_gui_path(step: &str) -> bool {
    step.contains(" > ")
}

/// Every remediation problem of one playbook, as lint messages.
pub fn remediation_problems(remediation: &RemediationSource) -> Vec<String> {
    let mut problems = Vec::new();
    let platforms = [
        ("fortimail", remediation.fortimail.as_ref()),
        ("postfix", remediation.postfix.as_ref()),
        ("exchange", remediation.exchange.as_ref()),
        ("generic", remediation.generic.as_ref()),
    ];
    for (platform, steps) in platforms {
        if let Some(steps) = steps {
            platform_problems(platform, steps, &mut problems);
        }
    }
    problems
}

fn platform_problems(platform: &str, source: &PlatformSteps, problems: &mut Vec<String>) {
    let fortimail = platform == "fortimail";
    let mut shown_first = false;
    for command in &source.commands {
        let first_line = command.run().lines().next().unwrap_or_default();
        match command.mode() {
            None => problems.push(format!(
                "{platform} command {first_line:?} is not marked: write it as {{ run: ..., mode: read_only|change }}"
            )),
            Some(CommandMode::ReadOnly) => shown_first = true,
            Some(CommandMode::Change) if !shown_first => problems.push(format!(
                "{platform} change {first_line:?} is not preceded by a read_only command that shows the current value"
            )),
            Some(CommandMode::Change) => {}
        }
        if fortimail && command.versions().is_empty() {
            problems.push(format!(
                "fortimail command {first_line:?} names no firmware versions (versions: [\"7.2\", ...], checked against the CLI Reference)"
            ));
        }
        check_versions(platform, first_line, command.versions(), problems);
    }
    for step in &source.steps {
        if fortimail && step.versions().is_empty() && names_gui_path(step.text()) {
            problems.push(format!(
                "fortimail step with a GUI path names no firmware versions: {:?}",
                step.text()
            ));
        }
        check_versions(platform, step.text(), step.versions(), problems);
    }
}

fn check_versions(platform: &str, what: &str, versions: &[String], problems: &mut Vec<String>) {
    for version in versions {
        if !RELEASES.contains(&version.as_str()) {
            problems.push(format!(
                "{platform} {what:?}: version {version:?} is not one of the checked releases {}",
                RELEASES.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(yaml: &str) -> Vec<String> {
        let remediation: RemediationSource = serde_saphyr::from_str(yaml).expect("yaml");
        remediation_problems(&remediation)
    }

    #[test]
    fn unmarked_untagged_and_unshown_commands_are_rejected() {
        let problems = problems_of(
            "fortimail:\n  steps: [\"Go to Monitor > Mail Queue > Dead Mail.\"]\n  commands:\n    - \"config system dns\"\n    - { run: \"set primary 192.0.2.53\", mode: change, versions: [\"7.4\"] }\npostfix:\n  commands:\n    - { run: \"postconf -e 'x = y'\", mode: change }\n",
        );
        let joined = problems.join("\n");
        assert!(
            joined.contains("\"config system dns\" is not marked"),
            "{joined}"
        );
        assert!(
            joined.contains("config system dns\" names no firmware versions"),
            "{joined}"
        );
        assert!(joined.contains("step with a GUI path"), "{joined}");
        assert!(
            joined.contains("postfix change \"postconf -e 'x = y'\" is not preceded"),
            "{joined}"
        );
    }

    #[test]
    fn a_marked_tagged_remediation_passes() {
        let problems = problems_of(
            "fortimail:\n  steps:\n    - { text: \"Go to Monitor > Mail Queue > Dead Mail.\", versions: [\"7.4\", \"7.6\"] }\n  commands:\n    - { run: \"show system dns\", mode: read_only, versions: [\"7.4\"] }\n    - { run: \"config system dns\\nset primary 192.0.2.53\\nend\", mode: change, versions: [\"7.4\"] }\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn unknown_releases_are_rejected() {
        let problems = problems_of(
            "fortimail:\n  commands:\n    - { run: \"show system dns\", mode: read_only, versions: [\"5.4\"] }\n",
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
    }
}
