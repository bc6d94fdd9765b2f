//! One ONNX model run by tract: loaded and optimised once for a fixed input shape, then run on plain `f32`
//! buffers, so the crates using it never see tract's types.

use std::path::Path;
use std::sync::Arc;
use tract_onnx::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The file is missing or tract cannot load it for the shape.
    #[error("model {path}: {message}")]
    Load { path: String, message: String },
    #[error("running {model}: {message}")]
    Run {
        model: &'static str,
        message: String,
    },
}

pub struct OnnxModel {
    name: &'static str,
    plan: Arc<TypedRunnableModel>,
    input_shape: Vec<usize>,
}

impl OnnxModel {
    /// Loads `path` with its one input fixed to `input_shape`; `name` says which model in errors.
    pub fn load(
        name: &'static str,
        path: &Path,
        input_shape: &[usize],
    ) -> Result<OnnxModel, OnnxError> {
        OnnxModel::load_with(name, path, input_shape, true)
    }

    /// [`OnnxModel::load`], with the shapes the file declares for its inner values and outputs left out
    /// (`declared_shapes` false) where they name the batch symbolically and tract cannot tie the symbol to the
    /// fixed input (Smart Turn's export).
    pub fn load_with(
        name: &'static str,
        path: &Path,
        input_shape: &[usize],
        declared_shapes: bool,
    ) -> Result<OnnxModel, OnnxError> {
        let failed = |message: String| OnnxError::Load {
            path: path.display().to_string(),
            message,
        };
        if !path.is_file() {
            return Err(failed("not found".into()));
        }
        let plan = tract_onnx::onnx()
            .with_ignore_value_info(!declared_shapes)
            .with_ignore_output_shapes(!declared_shapes)
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, f32::fact(input_shape).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| failed(format!("{e:#}")))?;
        Ok(OnnxModel {
            name,
            plan,
            input_shape: input_shape.to_vec(),
        })
    }

    /// Runs the model on `input` (row-major, of the input shape); every output flattened, in the model's
    /// output order.
    pub fn run(&self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, OnnxError> {
        let fail = |message: String| OnnxError::Run {
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
