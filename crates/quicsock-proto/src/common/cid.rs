//! Connection IDs (RFC 9000 §5.1).
//!
//! QUIC version 1 and 2 connection IDs are 0 to 20 bytes long. They are stored inline, so a
//! `ConnectionId` is `Copy` and never allocates.

use std::fmt;

/// A connection ID of 0 to 20 bytes (RFC 9000 §17.2).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId {
    len: u8,
    bytes: [u8; Self::MAX_LEN],
}

/// A connection ID longer than 20 bytes was given.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("connection ID of {0} bytes exceeds the 20-byte maximum")]
pub struct ConnectionIdTooLong(pub usize);

impl ConnectionId {
    /// The longest connection ID QUIC versions 1 and 2 allow.
    pub const MAX_LEN: usize = 20;
    /// The zero-length connection ID.
    pub const EMPTY: Self = Self {
        len: 0,
        bytes: [0; Self::MAX_LEN],
    };

    /// A connection ID holding `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ConnectionIdTooLong> {
        if bytes.len() > Self::MAX_LEN {
            return Err(ConnectionIdTooLong(bytes.len()));
        }
        let mut cid = Self::EMPTY;
        cid.len = bytes.len() as u8;
        cid.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(cid)
    }

    /// The length in bytes.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether this is the zero-length connection ID.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes of the connection ID.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len()]
    }
}

impl std::ops::Deref for ConnectionId {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for ConnectionId {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(empty)");
        }
        for b in self.as_slice() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert!(ConnectionId::EMPTY.is_empty());
        let cid = ConnectionId::from_slice(&[0x83, 0x94]).unwrap();
        assert_eq!(cid.len(), 2);
        assert_eq!(cid.to_string(), "8394");
        assert_eq!(ConnectionId::from_slice(&[0; 20]).unwrap().len(), 20);
        assert_eq!(
            ConnectionId::from_slice(&[0; 21]),
            Err(ConnectionIdTooLong(21))
        );
        // Equality looks at the used bytes only.
        assert_ne!(ConnectionId::from_slice(&[0]).unwrap(), ConnectionId::EMPTY);
    }
}
