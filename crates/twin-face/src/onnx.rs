//! One ONNX model run by tract: loaded and optimised once for a fixed input shape, then run on plain `f32`
//! buffers, so the rest of the crate never sees tract's types.

use crate::FaceError;
use std::path::Path;
use std::sync::Arc;
use tract_onnx::prelude::*;

pub struct OnnxModel {
    name: &'static str,
    plan: Arc<TypedRunnableModel>,
    input_shape: Vec<usize>,
}

impl OnnxModel {
    /// Loads `path` with its one input fixed to `input_shape`.
    pub fn load(
        name: &'static str,
        path: &Path,
        input_shape: &[usize],
    ) -> Result<OnnxModel, FaceError> {
        let bad = |e: TractError| FaceError::Model {
            path: path.display().to_string(),
            message: format!("{e:#}"),
        };
        if !path.is_file() {
            return Err(FaceError::Model {
                path: path.display().to_string(),
                message: "not found".into(),
            });
        }
        let plan = tract_onnx::onnx()
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, f32::fact(input_shape).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(bad)?;
        Ok(OnnxModel {
            name,
            plan,
            input_shape: input_shape.to_vec(),
        })
    }

    /// Runs the model on `input` (row-major, of the input shape); every output flattened, in the model's
    /// output order.
    pub fn run(&self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, FaceError> {
        let fail = |message: String| FaceError::Run {
            model: self.name,
            message,
        };
        let tensor =
            Tensor::from_shape(&self.input_shape, &input).map_err(|e| fail(e.to_string()))?;
        let outputs = self
            .plan
            .run(tvec!(tensor.into()))
            .map_err(|e| fail(format!("{e:#}")))?;
        outputs
            .iter()
            .map(|o| {
                o.to_plain_array_view::<f32>()
                    .map(|view| view.iter().copied().collect())
                    .map_err(|e| fail(e.to_string()))
            })
            .collect()
    }
}
