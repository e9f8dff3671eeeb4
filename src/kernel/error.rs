//! One error type: every failure the user can cause is a one-line message, never a panic.

/// What went wrong, as one line for the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: arguments, files, values out of range.
    #[error("{0}")]
    Input(String),
    /// A request beyond what the tool computes in reasonable time.
    #[error("{0}")]
    TooLarge(String),
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl Error {
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }
    pub fn too_large(msg: impl Into<String>) -> Self {
        Error::TooLarge(msg.into())
    }
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
