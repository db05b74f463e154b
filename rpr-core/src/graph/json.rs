//! JSON reading of a [`Model`], one node at a time so that every error can
//! name the node it comes from.

use serde_json::{Map, Value};

use super::{GraphError, Model, Node, Op};

const MODEL_FIELDS: [&str; 4] = ["name", "input_shape", "nodes", "output"];

/// Parses and validates a model, as documented at [`Model::from_json`].
pub(super) fn parse(text: &str) -> Result<Model, GraphError> {
    let value: Value = serde_json::from_str(text).map_err(|e| GraphError::Json {
        message: e.to_string(),
    })?;
    let Value::Object(mut object) = value else {
        return Err(GraphError::Json {
            message: "the top level must be an object".into(),
        });
    };
    if let Some(unknown) = object.keys().find(|k| !MODEL_FIELDS.contains(&k.as_str())) {
        return Err(GraphError::ModelField {
            field: unknown.clone(),
            message: format!("unknown field; expected one of {}", MODEL_FIELDS.join(", ")),
        });
    }

    let name: String = field(&mut object, "name")?;
    let input_shape: [usize; 3] = field(&mut object, "input_shape")?;
    let output: String = field(&mut object, "output")?;
    let Value::Array(raw_nodes) = take(&mut object, "nodes")? else {
        return Err(GraphError::ModelField {
            field: "nodes".into(),
            message: "must be an array".into(),
        });
    };
    let nodes = raw_nodes
        .into_iter()
        .enumerate()
        .map(|(index, raw)| parse_node(index, raw))
        .collect::<Result<Vec<_>, _>>()?;

    let model = Model {
        name,
        input_shape,
        nodes,
        output,
    };
    model.validate()?;
    Ok(model)
}

fn take(object: &mut Map<String, Value>, name: &str) -> Result<Value, GraphError> {
    object.remove(name).ok_or_else(|| GraphError::ModelField {
        field: name.into(),
        message: "missing".into(),
    })
}

fn field<T: serde::de::DeserializeOwned>(
    object: &mut Map<String, Value>,
    name: &str,
) -> Result<T, GraphError> {
    serde_json::from_value(take(object, name)?).map_err(|e| GraphError::ModelField {
        field: name.into(),
        message: e.to_string(),
    })
}

fn parse_node(index: usize, raw: Value) -> Result<Node, GraphError> {
    let node_name = raw
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let invalid = |message: String| GraphError::InvalidNode {
        index,
        node: node_name.clone(),
        message,
    };
    if !raw.is_object() {
        return Err(invalid(
            "a node must be an object with `name`, `inputs` and `op`".into(),
        ));
    }
    let op = raw
        .get("op")
        .ok_or_else(|| invalid("missing field `op`".into()))?;
    let tag = op.get("op").and_then(Value::as_str).ok_or_else(|| {
        invalid(
            "`op` must be an object with a string field `op`, for example {\"op\": \"relu\"}"
                .into(),
        )
    })?;
    if !Op::TAGS.contains(&tag) {
        return Err(GraphError::UnknownOp {
            node: node_name.clone(),
            op: tag.to_string(),
            known: Op::TAGS.join(", "),
        });
    }
    serde_json::from_value(raw).map_err(|e| invalid(e.to_string()))
}
