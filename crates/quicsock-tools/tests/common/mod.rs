//! What the tools' integration tests share.

pub(crate) mod aioquic;
#[allow(dead_code)] // not every test binary uses all of it
pub(crate) mod hq;
