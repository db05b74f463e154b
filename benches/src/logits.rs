//! Checks on the logits that worker processes and the ONNX Runtime script
//! return as JSON lists of rows.

use ndarray::Array2;
use serde::{Deserialize, Deserializer};

/// Builds the `[batch, classes]` logits array from `rows`. Rejects a row
/// count other than `batch`, empty or ragged rows and non-finite values,
/// naming the offending shape or element.
pub fn logits_from_rows(rows: &[Vec<f32>], batch: usize) -> Result<Array2<f32>, String> {
    if rows.len() != batch {
        return Err(format!("returned {} rows of logits for a batch of {batch} images", rows.len()));
    }
    let classes = rows.first().map_or(0, Vec::len);
    if classes == 0 {
        return Err("returned logits with no classes".into());
    }
    if let Some((index, row)) = rows.iter().enumerate().find(|(_, row)| row.len() != classes) {
        return Err(format!("returned ragged logits: row 0 has {classes} classes but row {index} has {}", row.len()));
    }
    for (row_index, row) in rows.iter().enumerate() {
        if let Some((column, value)) = row.iter().enumerate().find(|(_, value)| !value.is_finite()) {
            return Err(format!("returned a non-finite logit {value} at [{row_index}, {column}]"));
        }
    }
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Array2::from_shape_vec((batch, classes), flat).map_err(|error| error.to_string())
}

/// Deserializes optional logit rows, reading JSON `null` as NaN. serde_json
/// writes non-finite floats as `null`, so a NaN logit reaches the checks of
/// [`logits_from_rows`] in place of failing the whole response as invalid JSON.
pub fn deserialize_rows<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<Vec<f32>>>, D::Error> {
    let rows: Option<Vec<Vec<Option<f32>>>> = Option::deserialize(deserializer)?;
    Ok(rows.map(|rows| rows.into_iter().map(|row| row.into_iter().map(|value| value.unwrap_or(f32::NAN)).collect()).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_array() {
        let logits = logits_from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]], 2).unwrap();
        assert_eq!(logits.dim(), (2, 2));
        assert_eq!(logits[[1, 0]], 3.0);
    }

    #[test]
    fn ragged_rows_rejected() {
        let error = logits_from_rows(&[vec![1.0, 2.0], vec![3.0]], 2).unwrap_err();
        assert!(error.contains("row 0 has 2 classes but row 1 has 1"), "{error}");
    }

    #[test]
    fn wrong_row_count_rejected() {
        let error = logits_from_rows(&[vec![1.0], vec![3.0]], 1).unwrap_err();
        assert!(error.contains("2 rows of logits for a batch of 1"), "{error}");
    }

    #[test]
    fn empty_rows_rejected() {
        let error = logits_from_rows(&[vec![]], 1).unwrap_err();
        assert!(error.contains("no classes"), "{error}");
    }

    #[test]
    fn non_finite_rejected() {
        let error = logits_from_rows(&[vec![1.0, f32::INFINITY]], 1).unwrap_err();
        assert!(error.contains("non-finite logit inf at [0, 1]"), "{error}");
    }

    #[test]
    fn null_reads_as_nan() {
        #[derive(Deserialize)]
        struct Holder {
            #[serde(deserialize_with = "deserialize_rows")]
            logits: Option<Vec<Vec<f32>>>,
        }
        let holder: Holder = serde_json::from_str(r#"{"logits": [[1.0, null]]}"#).unwrap();
        let rows = holder.logits.unwrap();
        assert_eq!(rows[0][0], 1.0);
        assert!(rows[0][1].is_nan());
        let holder: Holder = serde_json::from_str(r#"{"logits": null}"#).unwrap();
        assert!(holder.logits.is_none());
    }
}
