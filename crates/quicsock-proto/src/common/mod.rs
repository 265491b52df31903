//! Building blocks shared by every wire format: variable-length integers (RFC 9000 §16),
//! connection IDs (RFC 9000 §5.1), stream IDs (RFC 9000 §2.1), a bounds-checked reader and the
//! writer datagrams are built with.

mod cid;
mod range_set;
mod reader;
mod stream_id;
mod varint;
mod writer;

pub use cid::{ConnectionId, ConnectionIdTooLong};
pub use range_set::RangeSet;
pub use reader::{Reader, UnexpectedEnd};
pub use stream_id::{Dir, Side, StreamId};
pub use varint::{VarInt, VarIntBoundsExceeded};
pub use writer::Writer;
