//! What the tools' integration tests share.

pub(crate) mod aioquic;
