//! The face models run by ONNX Runtime, through `twin-onnx` (shared with Smart Turn).

pub use twin_onnx::OnnxModel;

impl From<twin_onnx::OnnxError> for crate::FaceError {
    fn from(e: twin_onnx::OnnxError) -> Self {
        match e {
            twin_onnx::OnnxError::Load { path, message } => {
                crate::FaceError::Model { path, message }
            }
            twin_onnx::OnnxError::Runtime(message) => crate::FaceError::Model {
                path: "ONNX Runtime".into(),
                message,
            },
            twin_onnx::OnnxError::Run { model, message } => {
                crate::FaceError::Run { model, message }
            }
        }
    }
}
