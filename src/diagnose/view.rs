//! An observation seen as fields (`verdict`, `reply.code`, `outcome`): what playbook conditions test.

use mxdoctor_model::Observation;
use serde_json::{Map, Value};

/// One observation flattened once into a JSON object: its data fields plus the common ones.
pub struct ObservationView<'a> {
    pub observation: &'a Observation,
    fields: Map<String, Value>,
}

impl<'a> ObservationView<'a> {
    pub fn new(observation: &'a Observation) -> Self {
        let mut fields = match serde_json::to_value(&observation.data) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        fields.remove("kind");
        fields.insert("outcome".into(), Value::from(observation.outcome.as_str()));
        fields.insert(
            "latency_ms".into(),
            Value::from(u64::try_from(observation.latency.as_millis()).unwrap_or(u64::MAX)),
        );
        fields.insert("subject".into(), Value::from(observation.subject.clone()));
        fields.insert("detail".into(), Value::from(observation.detail.clone()));
        Self {
            observation,
            fields,
        }
    }

    /// The value at a dotted path; `None` when absent.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut current = self.fields.get(parts.next()?)?;
        for part in parts {
            current = current.get(part)?;
        }
        Some(current)
    }
}
