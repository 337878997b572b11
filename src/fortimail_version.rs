//! FortiMail firmware releases: parsing `--fortimail-version`, version tags, and choosing the
//! remediation steps and commands verified for one release.

use crate::finding::{CommandBlock, PlatformRemediation};

/// A `--fortimail-version` or version tag that is not `MAJOR.MINOR[.PATCH]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a FortiMail release: write MAJOR.MINOR (for example 7.4) or MAJOR.MINOR.PATCH"
)]
pub struct ReleaseError(pub String);

/// `7.4`, `7.4.6`, `v7.4.6` or `7.04` → `7.4` (patch releases share their branch's CLI syntax).
pub fn parse_release(text: &str) -> Result<String, ReleaseError> {
    let trimmed = text.trim();
    let digits = trimmed
        .strip_prefix('v')
        .or_else(|| trimmed.strip_prefix('V'))
        .unwrap_or(trimmed);
    let mut parts = digits.split('.');
    let number = |part: Option<&str>| -> Option<u32> {
        let part = part?;
        if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let major = number(parts.next());
    let minor = number(parts.next());
    let patch_ok = parts.next().is_none_or(|p| number(Some(p)).is_some());
    match (major, minor, patch_ok, parts.next()) {
        (Some(major), Some(minor), true, None) => Ok(format!("{major}.{minor}")),
        _ => Err(ReleaseError(text.to_string())),
    }
}

/// Keeps only the steps and command blocks verified for `release` (untagged ones always stay).
///
/// When a remediation has tagged items but none for `release`, everything stays and a first step
/// says so: a fix verified for a neighbouring release is more use than none, as long as it is marked.
pub fn select_release(remediation: &mut PlatformRemediation, release: &str) {
    if remediation.fortimail_version.as_deref() == Some(release) {
        return;
    }
    let fits = |versions: &[String]| versions.is_empty() || versions.iter().any(|v| v == release);
    let tagged_steps = remediation.step_versions.iter().any(|v| !v.is_empty());
    let tagged_blocks = remediation
        .command_blocks
        .iter()
        .any(|b| !b.versions.is_empty());
    if !tagged_steps && !tagged_blocks {
        return;
    }
    let step_matches = remediation
        .step_versions
        .iter()
        .any(|v| !v.is_empty() && fits(v));
    let block_matches = remediation
        .command_blocks
        .iter()
        .any(|b| !b.versions.is_empty() && fits(&b.versions));
    remediation.fortimail_version = Some(release.to_string());
    if (tagged_steps && !step_matches) || (tagged_blocks && !block_matches) {
        let verified: std::collections::BTreeSet<&str> = remediation
            .step_versions
            .iter()
            .flatten()
            .chain(remediation.command_blocks.iter().flat_map(|b| &b.versions))
            .map(String::as_str)
            .collect();
        let note = format!(
            "Not verified for FortiMail {release}: what follows is verified for {}; compare with the CLI Reference of {release} before typing.",
            verified.into_iter().collect::<Vec<_>>().join(", ")
        );
        remediation.steps.insert(0, note);
        if !remediation.step_versions.is_empty() {
            remediation.step_versions.insert(0, Vec::new());
        }
        return;
    }
    if tagged_steps {
        let kept: Vec<(String, Vec<String>)> = remediation
            .steps
            .drain(..)
            .zip(remediation.step_versions.drain(..))
            .filter(|(_, versions)| fits(versions))
            .collect();
        for (step, versions) in kept {
            remediation.steps.push(step);
            remediation.step_versions.push(versions);
        }
    }
    if tagged_blocks {
        remediation
            .command_blocks
            .retain(|block| fits(&block.versions));
        remediation.commands = remediation
            .command_blocks
            .iter()
            .flat_map(|block: &CommandBlock| block.lines.iter().cloned())
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::schema::CommandMode;
    use crate::vocabulary::Platform;

    fn block(line: &str, versions: &[&str]) -> CommandBlock {
        CommandBlock {
            lines: vec![line.to_string()],
            mode: Some(CommandMode::Change),
            versions: versions.iter().map(|v| (*v).to_string()).collect(),
            note: None,
        }
    }

    fn remediation() -> PlatformRemediation {
        let blocks = vec![
            block("show system fortiguard antispam", &[]),
            block("set uri-redirect-lookup disable", &["6.4", "7.2"]),
            block("set url-redirect-lookup disable", &["7.4", "7.6", "8.0"]),
        ];
        PlatformRemediation {
            platform: Platform::Fortimail,
            steps: vec!["any release".into(), "old path".into(), "new path".into()],
            commands: blocks.iter().flat_map(|b| b.lines.clone()).collect(),
            step_versions: vec![
                vec![],
                vec!["6.4".into(), "7.2".into()],
                vec!["7.4".into(), "7.6".into()],
            ],
            command_blocks: blocks,
            fortimail_version: None,
        }
    }

    #[test]
    fn releases_parse_to_their_branch() {
        assert_eq!(parse_release("7.4").as_deref(), Ok("7.4"));
        assert_eq!(parse_release("v7.4.6").as_deref(), Ok("7.4"));
        assert_eq!(parse_release("7.04").as_deref(), Ok("7.4"));
        for bad in ["7", "seven", "7.4.x", "7.4.6.1", "", "7..4"] {
            assert!(parse_release(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_release_keeps_its_own_syntax_only() {
        let mut old = remediation();
        select_release(&mut old, "7.2");
        assert_eq!(
            old.commands,
            [
                "show system fortiguard antispam",
                "set uri-redirect-lookup disable"
            ]
        );
        assert_eq!(old.steps, ["any release", "old path"]);
        let mut new = remediation();
        select_release(&mut new, "7.6");
        assert!(
            new.commands
                .contains(&"set url-redirect-lookup disable".to_string())
        );
        assert!(!new.commands.iter().any(|c| c.contains("uri-redirect")));
    }

    #[test]
    fn an_unverified_release_keeps_everything_and_says_so() {
        let mut unknown = remediation();
        select_release(&mut unknown, "5.4");
        assert_eq!(unknown.command_blocks.len(), 3);
        assert!(unknown.steps[0].starts_with("Not verified for FortiMail 5.4"));
    }
}
