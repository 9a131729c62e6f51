//! The `"elasticsearch"` section of a seed file (shape in the module doc).

use super::data::Data;
use super::mapping::Mapped;
use serde_json::Value;
use std::time::Duration;

/// Seed from the `"elasticsearch"` section of a seed file (shape in the module doc).
pub(crate) fn seed_json(data: &mut Data, seed: &Value) -> Result<(), String> {
    let seed = seed.as_object().ok_or("elasticsearch: the seed must be an object")?;
    // Mappings first: documents indexed before them would be mapped dynamically.
    if let Some(mappings) = seed.get("mappings") {
        let mappings = mappings.as_object().ok_or("elasticsearch.mappings must map index names to fields")?;
        for (index, fields) in mappings {
            let fields = fields.as_object().ok_or("elasticsearch.mappings.* must map fields to types")?;
            data.indices.entry(index.clone()).or_default();
            let mapping = data.mappings.entry(index.clone()).or_default();
            for (field, kind) in fields {
                let kind = kind.as_str().ok_or("elasticsearch.mappings.*.*: a type such as \"keyword\"")?;
                mapping.insert(field.clone(), Mapped { kind: kind.to_string(), source: field.clone() });
            }
        }
    }
    for (key, value) in seed {
        match key.as_str() {
            "mappings" => {}
            "indices" => {
                let indices = value.as_object().ok_or("elasticsearch.indices must map index names to documents")?;
                for (index, docs) in indices {
                    let docs = docs.as_array().ok_or("elasticsearch.indices.* must be arrays of documents")?;
                    for doc in docs {
                        data.index(index, doc.clone());
                    }
                }
            }
            "batch_size" => {
                data.batch_size =
                    value.as_u64().filter(|n| *n > 0).ok_or("elasticsearch.batch_size: a number")? as usize
            }
            "batch_millis" => {
                data.batch_time = Duration::from_millis(value.as_u64().ok_or("elasticsearch.batch_millis: a number")?)
            }
            other => return Err(format!("elasticsearch: unknown seed key `{other}`")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seeds_documents_and_batches() {
        let mut data = Data::default();
        let seed = json!({ "indices": { "logs-1": [{ "user.email": "a@x.io" }, { "user": { "email": "b@x.io" } }] },
            "mappings": { "logs-1": { "user.email": "keyword" } }, "batch_size": 2, "batch_millis": 5 });
        seed_json(&mut data, &seed).unwrap();
        assert_eq!(data.indices["logs-1"].len(), 2);
        assert_eq!(data.mappings["logs-1"]["user.email"].kind, "keyword", "mapped before the documents came");
        assert_eq!((data.batch_size, data.batch_time), (2, Duration::from_millis(5)));
        assert!(seed_json(&mut data, &json!({ "docs": [] })).is_err());
    }
}
