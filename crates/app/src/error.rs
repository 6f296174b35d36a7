//! What a use case can fail with. Callers map each variant to their own
//! surface (an API error code, a page message, a command's exit status).

use gongjian_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The plan compiled into the binary does not parse (a build defect).
    #[error("内置方案无效：{0}")]
    EmbeddedPlan(String),
    /// A file the user gave cannot be read as what it claims to be.
    #[error("{0}")]
    InvalidFile(String),
}
