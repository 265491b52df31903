//! The one place the runtime reads the clock: the protocol core takes time as a
//! [`Timestamp`], nanoseconds since the first time any engine asked.

use std::sync::OnceLock;
use std::time::Instant;

use quicsock_proto::Timestamp;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Now, on the protocol core's clock.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> Timestamp {
    let epoch = *EPOCH.get_or_init(Instant::now);
    Timestamp::from_duration(Instant::now().saturating_duration_since(epoch))
}
