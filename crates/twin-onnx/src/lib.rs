//! One ONNX model run by ONNX Runtime: loaded and optimised once, then run on plain `f32` buffers of a fixed
//! input shape, so the crates using it never see the runtime's types.
//!
//! The runtime is the `libonnxruntime.so` that sherpa-onnx already ships and loads for speech (one runtime in
//! the process, fetched by `cargo xtask setup`), opened at first use. It is the runtime the models were
//! exported for: Smart Turn's int8 graph is sensitive to how each kernel rounds, and another runtime's
//! probabilities drifted far from the ones its authors measured (tract gave 0.40 where ONNX Runtime gives
//! 0.85 on the same input).

mod runtime;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The file is missing, or the runtime cannot load it.
    #[error("model {path}: {message}")]
    Load { path: String, message: String },
    /// No ONNX Runtime library where it should be (run `cargo xtask setup`).
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    #[error("running {model}: {message}")]
    Run {
        model: &'static str,
        message: String,
    },
}

pub struct OnnxModel {
    name: &'static str,
    /// ONNX Runtime's `run` takes the session mutably; one caller at a time is what every user here needs.
    session: Mutex<Session>,
    input_shape: Vec<usize>,
}

impl OnnxModel {
    /// Loads `path`, to be run on inputs of `input_shape`; `name` says which model in errors.
    pub fn load(
        name: &'static str,
        path: &Path,
        input_shape: &[usize],
    ) -> Result<OnnxModel, OnnxError> {
        let failed = |message: String| OnnxError::Load {
            path: path.display().to_string(),
            message,
        };
        if !path.is_file() {
            return Err(failed("not found".into()));
        }
        let environment = runtime::environment()?;
        let session = open_session(environment, path).map_err(failed)?;
        if session.inputs().len() != 1 {
            return Err(failed(format!(
                "has {} inputs; one was expected",
                session.inputs().len()
            )));
        }
        Ok(OnnxModel {
            name,
            session: Mutex::new(session),
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
        let expected: usize = self.input_shape.iter().product();
        if input.len() != expected {
            return Err(fail(format!(
                "{} input values for the shape {:?} ({expected})",
                input.len(),
                self.input_shape
            )));
        }
        let shape: Vec<i64> = self.input_shape.iter().map(|&d| d as i64).collect();
        let tensor = TensorRef::from_array_view((shape, input.as_slice()))
            .map_err(|e| fail(e.to_string()))?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| fail("an earlier run panicked".into()))?;
        let outputs = session
            .run(ort::inputs![tensor])
            .map_err(|e| fail(e.to_string()))?;
        outputs
            .iter()
            .map(|(_, value)| {
                value
                    .try_extract_tensor::<f32>()
                    .map(|(_, data)| data.to_vec())
                    .map_err(|e| fail(e.to_string()))
            })
            .collect()
    }
}

/// One intra-op thread: the callers run beside speech and rendering on a small machine, and pace themselves.
fn open_session(
    environment: &ort::environment::Environment,
    path: &Path,
) -> Result<Session, String> {
    let builder = Session::builder(environment)
        .map_err(|e| e.to_string())?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| e.to_string())?
        .with_intra_threads(1)
        .map_err(|e| e.to_string())?;
    builder
        .with_inter_threads(1)
        .map_err(|e| e.to_string())?
        .commit_from_file(path)
        .map_err(|e| e.to_string())
}
