//! Stream IDs (RFC 9000 §2.1): the two low bits give the initiator and the directionality.

use std::fmt;

use super::varint::VarInt;

/// Which endpoint of a connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The endpoint that opened the connection.
    Client,
    /// The endpoint that accepted it.
    Server,
}

impl Side {
    /// The other endpoint.
    pub const fn peer(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }

    /// Whether this is the client.
    pub const fn is_client(self) -> bool {
        matches!(self, Self::Client)
    }
}

/// Whether a stream carries data both ways or one way.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Bidirectional.
    Bi,
    /// Unidirectional: only the initiator sends.
    Uni,
}

/// A stream ID: a varint whose bit 0 is the initiator (0 client, 1 server) and bit 1 the
/// directionality (0 bidirectional, 1 unidirectional).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(VarInt);

impl StreamId {
    /// The `index`th stream of the given initiator and directionality, if its ID fits in a
    /// varint (index below 2^60).
    pub fn new(initiator: Side, dir: Dir, index: u64) -> Option<Self> {
        let low = match initiator {
            Side::Client => 0,
            Side::Server => 1,
        } | match dir {
            Dir::Bi => 0,
            Dir::Uni => 2,
        };
        let id = index.checked_mul(4)?.checked_add(low)?;
        VarInt::from_u64(id).ok().map(Self)
    }

    /// The endpoint that opened the stream.
    pub const fn initiator(self) -> Side {
        if self.0.into_inner() & 1 == 0 {
            Side::Client
        } else {
            Side::Server
        }
    }

    /// The stream's directionality.
    pub const fn dir(self) -> Dir {
        if self.0.into_inner() & 2 == 0 {
            Dir::Bi
        } else {
            Dir::Uni
        }
    }

    /// The stream's position among streams of its initiator and directionality.
    pub const fn index(self) -> u64 {
        self.0.into_inner() >> 2
    }

    /// The ID as a varint.
    pub const fn as_varint(self) -> VarInt {
        self.0
    }

    /// The ID as an integer.
    pub const fn into_inner(self) -> u64 {
        self.0.into_inner()
    }
}

impl From<VarInt> for StreamId {
    fn from(v: VarInt) -> Self {
        Self(v)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9000_2_1_stream_id_types() {
        let cases = [
            (0, Side::Client, Dir::Bi),
            (1, Side::Server, Dir::Bi),
            (2, Side::Client, Dir::Uni),
            (3, Side::Server, Dir::Uni),
        ];
        for (low, side, dir) in cases {
            let id = StreamId::new(side, dir, 5).unwrap();
            assert_eq!(id.into_inner(), 20 + low);
            assert_eq!((id.initiator(), id.dir(), id.index()), (side, dir, 5));
        }
        assert!(StreamId::new(Side::Server, Dir::Uni, (1 << 60) - 1).is_some());
        assert!(StreamId::new(Side::Client, Dir::Bi, 1 << 60).is_none());
    }
}
