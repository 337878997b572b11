//! Turns a parsed playbook into ready-to-use values: regexes built once, checks and fields verified.

use serde_json::Value;
use serde_saphyr::Spanned;

use super::error::PlaybookError;
use super::regex::PlaybookRegex;
use super::schema::{
    ConditionSource, ExamplesSource, FieldTestSource, PatternSource, PlaybookSource,
    RemediationSource, ReplyMatcherSource, RuleSource, SharedEvidence,
};
use crate::vocabulary::{Area, Confidence, Severity};

/// A playbook ready for matching and evaluation.
#[derive(Debug)]
pub struct Playbook {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub severity: Severity,
    pub area: Area,
    pub explanation: String,
    pub remediation: RemediationSource,
    pub references: Vec<String>,
    pub replies: Vec<ReplyMatcher>,
    pub logs: Vec<LinePattern>,
    pub bounces: Vec<LinePattern>,
    pub rules: Vec<Rule>,
    pub examples: ExamplesSource,
    /// Where it came from: `embedded:NAME` or a file path.
    pub origin: String,
    /// Playbooks this one causes (`explains` in YAML), checked by `playbooks lint`.
    pub explains: Vec<CausalLink>,
    pub differential: Option<Differential>,
}

/// This playbook explains `symptom` when both share `evidence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CausalLink {
    pub symptom: String,
    pub evidence: SharedEvidence,
    /// Only symptom findings of this confidence or lower are folded.
    pub up_to: Confidence,
}

/// Ambiguous findings of a playbook (confidence up to `up_to`) list these candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Differential {
    pub up_to: Confidence,
    pub decided_by: String,
    /// (playbook id, the observation that decides for it)
    pub candidates: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct ReplyMatcher {
    pub code: Option<PlaybookRegex>,
    pub enhanced: Option<PlaybookRegex>,
    pub text: Option<PlaybookRegex>,
    pub text_not: Option<PlaybookRegex>,
    pub confidence: Confidence,
}

#[derive(Debug)]
pub struct LinePattern {
    pub regex: PlaybookRegex,
    pub confidence: Confidence,
}

#[derive(Debug)]
pub struct Rule {
    pub confidence: Confidence,
    pub severity: Option<Severity>,
    pub condition: Condition,
}

#[derive(Debug)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// Some observation of `check` passes every test.
    Observed {
        check: String,
        tests: Vec<FieldTest>,
    },
}

#[derive(Debug)]
pub struct FieldTest {
    pub field: String,
    pub op: Op,
}

#[derive(Debug)]
pub enum Op {
    Is(Value),
    In(Vec<Value>),
    Matches(PlaybookRegex),
    Gte(f64),
    Gt(f64),
    Lte(f64),
    Lt(f64),
    Exists(bool),
}

impl Playbook {
    /// The regexes matched against text (reply texts, log and bounce patterns), as written.
    pub fn text_patterns(&self) -> impl Iterator<Item = &str> {
        self.replies
            .iter()
            .filter_map(|matcher| matcher.text.as_ref())
            .chain(self.logs.iter().chain(&self.bounces).map(|p| &p.regex))
            .map(PlaybookRegex::as_str)
    }

    /// Every regex of this playbook: reply matchers, log and bounce patterns, `matches` in rules.
    pub fn regexes(&self) -> Vec<&PlaybookRegex> {
        let mut all: Vec<&PlaybookRegex> = Vec::new();
        for matcher in &self.replies {
            all.extend(
                [
                    &matcher.code,
                    &matcher.enhanced,
                    &matcher.text,
                    &matcher.text_not,
                ]
                .into_iter()
                .flatten(),
            );
        }
        all.extend(self.logs.iter().chain(&self.bounces).map(|p| &p.regex));
        for rule in &self.rules {
            rule.condition.collect_regexes(&mut all);
        }
        all
    }
}

impl Condition {
    fn collect_regexes<'a>(&'a self, into: &mut Vec<&'a PlaybookRegex>) {
        match self {
            Self::All(children) | Self::Any(children) => {
                for child in children {
                    child.collect_regexes(into);
                }
            }
            Self::Not(child) => child.collect_regexes(into),
            Self::Observed { tests, .. } => into.extend(tests.iter().filter_map(|t| match &t.op {
                Op::Matches(regex) => Some(regex),
                _ => None,
            })),
        }
    }
}

/// When a playbook's regexes are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexBuild {
    /// Now, so an error is reported at its line in the file (playbooks from `--playbooks` dirs).
    Now,
    /// On first use (the embedded playbooks, whose regexes `playbooks lint` proves in the tests).
    OnFirstUse,
}

/// Compiles one parsed playbook; `file` and `source` locate errors.
pub fn compile(
    parsed: PlaybookSource,
    file: &str,
    source: &str,
    regex_build: RegexBuild,
) -> Result<Playbook, Vec<PlaybookError>> {
    let mut errors = Vec::new();
    let mut ctx = Ctx {
        file,
        source,
        errors: &mut errors,
        regex_build,
    };
    if !valid_id(&parsed.id.value) {
        ctx.error(
            &parsed.id,
            "id must be lowercase letters, digits and '-' (it is a stable name users rely on)",
        );
    }
    let replies = parsed
        .symptoms
        .replies
        .iter()
        .filter_map(|matcher| ctx.reply_matcher(matcher))
        .collect();
    let logs = parsed
        .symptoms
        .logs
        .iter()
        .filter_map(|p| ctx.line_pattern(p))
        .collect();
    let bounces = parsed
        .symptoms
        .bounces
        .iter()
        .filter_map(|p| ctx.line_pattern(p))
        .collect();
    let rules = parsed
        .when
        .iter()
        .filter_map(|rule| ctx.rule(rule))
        .collect();
    let explains = parsed
        .explains
        .iter()
        .map(|link| CausalLink {
            symptom: link.playbook.value.clone(),
            evidence: link.evidence,
            up_to: link.up_to.unwrap_or(Confidence::Confirmed),
        })
        .collect();
    let differential = parsed.differential.as_ref().map(|d| Differential {
        up_to: d.up_to,
        decided_by: d.decided_by.clone(),
        candidates: d
            .candidates
            .iter()
            .map(|c| (c.playbook.value.clone(), c.decided_by.clone()))
            .collect(),
    });
    for link in &parsed.explains {
        if link.playbook.value == parsed.id.value {
            ctx.error(&link.playbook, "a playbook cannot explain itself");
        }
    }
    if errors.is_empty() {
        Ok(Playbook {
            id: parsed.id.value,
            title: parsed.title,
            summary: parsed.summary,
            severity: parsed.severity,
            area: parsed.area,
            explanation: parsed.explanation,
            remediation: parsed.remediation,
            references: parsed.references,
            replies,
            logs,
            bounces,
            rules,
            examples: parsed.examples,
            origin: file.to_string(),
            explains,
            differential,
        })
    } else {
        Err(errors)
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

struct Ctx<'a> {
    file: &'a str,
    source: &'a str,
    errors: &'a mut Vec<PlaybookError>,
    regex_build: RegexBuild,
}

impl Ctx<'_> {
    fn error<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.errors.push(PlaybookError::at(
            self.file,
            self.source,
            at.referenced.line(),
            at.referenced.column(),
            message,
        ));
    }

    fn regex(&mut self, pattern: &Spanned<String>, anchored: bool) -> Option<PlaybookRegex> {
        let text = if anchored {
            format!("^(?:{})$", pattern.value)
        } else {
            pattern.value.clone()
        };
        if self.regex_build == RegexBuild::OnFirstUse {
            return Some(PlaybookRegex::deferred(text));
        }
        match PlaybookRegex::compile(text) {
            Ok(regex) => Some(regex),
            Err(error) => {
                let last_line = error
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .to_string();
                let first_line = last_line
                    .strip_prefix("error: ")
                    .unwrap_or(&last_line)
                    .to_string();
                self.error(
                    pattern,
                    format!("invalid regex {:?}: {first_line}", pattern.value),
                );
                None
            }
        }
    }

    /// `Ok(None)` when no pattern was given, `Err(())` when it did not compile (already reported).
    fn optional_regex(
        &mut self,
        pattern: Option<&Spanned<String>>,
        anchored: bool,
    ) -> Result<Option<PlaybookRegex>, ()> {
        match pattern {
            None => Ok(None),
            Some(pattern) => self.regex(pattern, anchored).map(Some).ok_or(()),
        }
    }

    fn reply_matcher(&mut self, source: &ReplyMatcherSource) -> Option<ReplyMatcher> {
        let code = self.optional_regex(source.code.as_ref(), true);
        let enhanced = self.optional_regex(source.enhanced.as_ref(), true);
        let text = self.optional_regex(source.text.as_ref(), false);
        let text_not = self.optional_regex(source.text_not.as_ref(), false);
        if source.code.is_none() && source.enhanced.is_none() && source.text.is_none() {
            self.errors.push(PlaybookError::whole_file(
                self.file,
                "a reply matcher needs at least one of code, enhanced, text",
            ));
            return None;
        }
        Some(ReplyMatcher {
            code: code.ok()?,
            enhanced: enhanced.ok()?,
            text: text.ok()?,
            text_not: text_not.ok()?,
            confidence: source.confidence,
        })
    }

    fn line_pattern(&mut self, source: &PatternSource) -> Option<LinePattern> {
        let (pattern, confidence) = match source {
            PatternSource::Bare(pattern) => (pattern, Confidence::default()),
            PatternSource::Full(full) => (&full.pattern, full.confidence),
        };
        Some(LinePattern {
            regex: self.regex(pattern, false)?,
            confidence,
        })
    }

    fn rule(&mut self, source: &RuleSource) -> Option<Rule> {
        Some(Rule {
            confidence: source.confidence,
            severity: source.severity,
            condition: self.condition(&source.condition)?,
        })
    }

    fn condition(&mut self, source: &ConditionSource) -> Option<Condition> {
        let forms = [
            source.all.is_some(),
            source.any.is_some(),
            source.not.is_some(),
            source.check.is_some(),
        ];
        if forms.iter().filter(|given| **given).count() != 1 {
            let at = source.check.as_ref().map_or(1, |c| c.referenced.line());
            self.errors.push(PlaybookError::at(
                self.file,
                self.source,
                at,
                1,
                "a condition is exactly one of: all, any, not, or check (with where)",
            ));
            return None;
        }
        if let Some(children) = &source.all {
            return self.children(children).map(Condition::All);
        }
        if let Some(children) = &source.any {
            return self.children(children).map(Condition::Any);
        }
        if let Some(child) = &source.not {
            return self.condition(child).map(|c| Condition::Not(Box::new(c)));
        }
        let check = source.check.as_ref()?;
        let Some(spec) = mxdoctor_model::catalog::find(&check.value) else {
            let known: Vec<&str> = mxdoctor_model::catalog::CHECKS
                .iter()
                .map(|c| c.name)
                .collect();
            self.error(
                check,
                format!(
                    "unknown check {:?}; known: {}",
                    check.value,
                    known.join(", ")
                ),
            );
            return None;
        };
        let mut tests = Vec::new();
        let mut ok = true;
        for test in &source.tests {
            if !spec.has_field(&test.field.value) {
                self.error(
                    &test.field,
                    format!("check {:?} has no field {:?}", spec.name, test.field.value),
                );
                ok = false;
                continue;
            }
            match self.op(test) {
                Some(op) => tests.push(FieldTest {
                    field: test.field.value.clone(),
                    op,
                }),
                None => ok = false,
            }
        }
        ok.then(|| Condition::Observed {
            check: check.value.clone(),
            tests,
        })
    }

    fn children(&mut self, sources: &[ConditionSource]) -> Option<Vec<Condition>> {
        let compiled: Vec<Option<Condition>> = sources.iter().map(|c| self.condition(c)).collect();
        compiled.into_iter().collect()
    }

    fn op(&mut self, test: &FieldTestSource) -> Option<Op> {
        let mut ops = Vec::new();
        if let Some(value) = &test.is {
            ops.push(Some(Op::Is(value.clone())));
        }
        if let Some(values) = &test.one_of {
            ops.push(Some(Op::In(values.clone())));
        }
        if let Some(pattern) = &test.matches {
            ops.push(self.regex(pattern, false).map(Op::Matches));
        }
        ops.extend(test.gte.map(|n| Some(Op::Gte(n))));
        ops.extend(test.gt.map(|n| Some(Op::Gt(n))));
        ops.extend(test.lte.map(|n| Some(Op::Lte(n))));
        ops.extend(test.lt.map(|n| Some(Op::Lt(n))));
        ops.extend(test.exists.map(|b| Some(Op::Exists(b))));
        if ops.len() != 1 {
            self.error(
                &test.field,
                "a field test takes exactly one operator: is, in, matches, gte, gt, lte, lt, exists",
            );
            return None;
        }
        ops.pop().flatten()
    }
}
